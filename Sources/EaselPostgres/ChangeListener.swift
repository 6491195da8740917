import EaselCore
import Logging
import PostgresNIO
import Synchronization

/// Every node's view of every node's changes: a dedicated connection LISTENs on the update
/// channel, and each notification (or reconnection) reads the update log past the last id it has
/// passed on. The log is the truth and the notification only a wake-up, so a lost connection or a
/// dropped notification delays updates but never loses one.
final class ChangeListener: Sendable {
  static let batchSize = 500
  static let retryDelay: Duration = .milliseconds(500)

  private let configuration: PostgresConnection.Configuration
  private let channel: String
  private let logger: Logger
  private let onChange: (@Sendable (GenerationTask) -> Void)?
  private let connected = Atomic(true)

  init(
    configuration: PostgresConnection.Configuration, channel: String, logger: Logger,
    onChange: (@Sendable (GenerationTask) -> Void)?
  ) {
    self.configuration = configuration
    self.channel = channel
    self.logger = logger
    self.onChange = onChange
  }

  /// False from a failed connection until the next successful one: the database is unreachable.
  var isConnected: Bool { connected.load(ordering: .relaxed) }

  /// Listens until canceled, passing on every update after `start`.
  func run(after start: Int64) async {
    var last = start
    var id = 0
    while !Task.isCancelled {
      id += 1
      do {
        let connection = try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
        do {
          try await listen(on: connection, last: &last)
        } catch {
          try? await connection.close()
          throw error
        }
        try? await connection.close()
      } catch {
        if Task.isCancelled { break }
        if connected.exchange(false, ordering: .relaxed) {
          logger.error("lost the database connection; retrying", metadata: ["error": "\(String(reflecting: error))"])
        }
        try? await Task.sleep(for: Self.retryDelay)
      }
    }
  }

  private func listen(on connection: PostgresConnection, last: inout Int64) async throws {
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
        wake.yield()  // catch up on what happened while not listening
        for await _ in wakes {
          try await catchUp(connection, last: &last)
        }
        try await group.next()
      }
    }
  }

  private func catchUp(_ connection: PostgresConnection, last: inout Int64) async throws {
    while true {
      let updates = try await PostgresTaskRows.updates(connection, after: last, scope: nil, limit: Self.batchSize)
      for update in updates {
        onChange?(update)
        last = update.updateID
      }
      if updates.count < Self.batchSize { return }
    }
  }
}

/// The LISTEN connection closed without an error: reconnect like after one.
struct NotificationsEnded: Error {}
