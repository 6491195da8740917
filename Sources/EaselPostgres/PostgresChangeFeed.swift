import EaselCore
import Logging
import PostgresNIO
import Synchronization

/// Every node's view of every node's changes: a dedicated connection LISTENs on the update
/// channel, and each notification (or reconnection) reads the update log past the last position
/// it has passed on. The log is the truth and the notification only a wake-up, so a lost connection or a
/// dropped notification delays updates but never loses one.
final class ChangeListener: Sendable {
  /// A page of the log; several fit in a live subscriber's buffer (TaskUpdateHub).
  static let batchSize = 200
  static let retryDelay: Duration = .milliseconds(500)

  private let configuration: PostgresConnection.Configuration
  private let channel: String
  private let logger: Logger
  private let cache: TaskReadCache
  private let onChange: (@Sendable (TaskChange) -> Void)?
  private let onMissedChanges: (@Sendable () -> Void)?
  private let wantsTask: @Sendable (TaskChange) -> Bool
  private let connected = Atomic(true)
  /// The connection now listening (each new one is the next generation) and the last update passed on.
  private let delivery = Mutex((generation: 0, last: Int64(0)))

  init(
    configuration: PostgresConnection.Configuration, channel: String, logger: Logger, cache: TaskReadCache,
    onChange: (@Sendable (TaskChange) -> Void)?, onMissedChanges: (@Sendable () -> Void)?,
    wantsTask: @escaping @Sendable (TaskChange) -> Bool
  ) {
    self.wantsTask = wantsTask
    self.cache = cache
    self.onMissedChanges = onMissedChanges
    self.configuration = configuration
    self.channel = channel
    self.logger = logger
    self.onChange = onChange
  }

  /// False from a failed connection until the next successful one: the database is unreachable.
  var isConnected: Bool { connected.load(ordering: .relaxed) }

  /// Listens until canceled, passing on every update after `start`.
  func run(after start: Int64) async {
    delivery.withLock { $0.last = start }
    var id = 0
    while !Task.isCancelled {
      id += 1
      do {
        let connection = try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
        let generation = delivery.withLock { delivery in
          delivery.generation += 1
          return delivery.generation
        }
        // The connection's end ends the listening, even if a catch-up read is stuck on it.
        try await Race.untilClosed(connection) { try await self.listen(on: connection, generation: generation) }
      } catch {
        if Task.isCancelled { break }
        if connected.exchange(false, ordering: .relaxed) {
          logger.error("lost the database connection; retrying", metadata: ["error": "\(String(reflecting: error))"])
        }
        try? await Task.sleep(for: Self.retryDelay)
      }
    }
  }

  private func listen(on connection: PostgresConnection, generation: Int) async throws {
    let (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    try await connection.listen(on: channel) { notifications in
      if !connected.exchange(true, ordering: .relaxed) { logger.notice("database connection restored") }
      try await withThrowingTaskGroup(of: Void.self) { group in
        // Notifications only wake the reader; many arriving during one read cost one more read.
        group.addTask {
          defer { wake.finish() }  // the connection is gone: stop reading too
          for try await _ in notifications { wake.yield() }
          throw NotificationsEnded()
        }
        cache.invalidate(nil)  // changes made while not listening drop no entries
        try await skipTrimmed(connection, generation: generation)
        wake.yield()  // catch up on what happened while not listening
        for await _ in wakes {
          try await catchUp(connection, generation: generation)
        }
        try await group.next()
      }
    }
  }

  /// Changes this node had not passed on may have been trimmed from the log while it was cut off
  /// (longer than EASEL_UPDATE_LOG_RETENTION): its streams would miss them without a word. They
  /// hear of it instead (`onMissedChanges`), and the feed goes on from the oldest change kept.
  private func skipTrimmed(_ connection: PostgresConnection, generation: Int) async throws {
    let trimmed = try await PostgresTaskRows.trimmedThrough(connection)
    let missed = delivery.withLock { delivery in
      guard delivery.generation == generation, delivery.last < trimmed else { return false }
      delivery.last = trimmed
      return true
    }
    if missed {
      logger.warning("changes were trimmed from the update log before this node read them; ending its streams")
      onMissedChanges?()
    }
  }

  private func catchUp(_ connection: PostgresConnection, generation: Int) async throws {
    while true {
      let last = delivery.withLock { $0.last }
      let changes = try await PostgresTaskRows.changes(
        connection, after: last, limit: Self.batchSize, logger: logger, wants: wantsTask)
      // Only the current connection's reads are passed on: one left behind on a closed connection
      // must not deliver again what its successor has already delivered.
      let current = delivery.withLock { delivery in
        guard delivery.generation == generation else { return false }
        for (position, change) in changes {
          cache.invalidate(change.taskID)  // before streams hear of it: one opened after reads it afresh
          onChange?(change)
          delivery.last = position
        }
        return true
      }
      if !current || changes.count < Self.batchSize { return }
    }
  }
}

/// The LISTEN connection closed without an error: reconnect like after one.
struct NotificationsEnded: Error {}
