import EaselCore
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The store for several nodes: the SQLite store's tables in one PostgreSQL database, shared by
/// every `easeld`. Row locks make credits exactly-once across nodes, `FOR UPDATE SKIP LOCKED`
/// hands each task to one worker, and the update log — positioned by one node's sequencer, read
/// on NOTIFY — carries every committed change to every node.
public final class PostgresTaskStore: Service, Sendable {
  static let channel = "easel_task_updates"
  static let quiet = Logger(label: "easel.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

  let client: PostgresClient
  let logger: Logger
  let operationTimeout: Duration
  private let listener: ChangeListener
  let sequencer: UpdateSequencer
  private let watchdog = PostgresWatchdog()
  /// Tasks recently read by id (GetTask): this node's commits and the change feed drop entries.
  let cache = TaskReadCache()
  private let onCommit: (@Sendable (GenerationTask) -> Void)?
  private let migrated = ReadySignal()

  /// The store; nothing connects until `run()`, and calls wait for `ready()`.
  /// - `onChange` hears every committed task change of every node, in update-log order.
  /// - `onCommit` hears the changes this process committed, right after each commit.
  /// - `onMissedChanges` hears that changes were trimmed from the log before this node read them
  ///   (it was cut off from the database for longer than the log's retention).
  /// - `wantsTask` says which changes `onChange` will ask the task of (the feed reads only theirs).
  public init(
    url: DatabaseURL, poolSize: Int = 10, operationTimeout: Duration = .seconds(30), logger: Logger,
    onChange: (@Sendable (TaskChange) -> Void)? = nil, onCommit: (@Sendable (GenerationTask) -> Void)? = nil,
    onMissedChanges: (@Sendable () -> Void)? = nil, wantsTask: @escaping @Sendable (TaskChange) -> Bool = { _ in true }
  ) throws {
    // The pool logs every failed connection attempt at info; the listener reports an outage once.
    var poolLogger = logger
    poolLogger.logLevel = max(logger.logLevel, .warning)
    client = PostgresClient(
      configuration: url.clientConfiguration(poolSize: poolSize, connectTimeout: operationTimeout), backgroundLogger: poolLogger)
    self.logger = logger
    self.operationTimeout = operationTimeout
    self.onCommit = onCommit
    let connection = try url.connectionConfiguration(connectTimeout: operationTimeout)
    listener = ChangeListener(
      configuration: connection, channel: Self.channel, logger: logger, cache: cache, onChange: onChange,
      onMissedChanges: onMissedChanges, wantsTask: wantsTask)
    sequencer = UpdateSequencer(configuration: connection, logger: logger)
  }

  /// Runs the connection pool, applies pending migrations, then listens for every node's changes,
  /// until a graceful shutdown (the store is the first service of the group, so the last to stop)
  /// or cancellation.
  public func run() async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await self.client.run() }
      group.addTask { [listener, watchdog] in await watchdog.run { listener.isConnected } }
      let start: Int64
      do {
        // Start-up may wait for other nodes' migrations (an advisory lock): it gets at least the
        // default operation timeout, however short the one for calls is.
        let startUp = max(operationTimeout, .seconds(30))
        try await guarded(timeout: startUp) { try await PostgresSchema.migrate($0, logger: self.logger) }
        start = try await guarded(timeout: startUp) { try await Self.lastUpdateID($0) }
      } catch {
        migrated.finish(.failure(error))
        group.cancelAll()
        throw error
      }
      group.addTask { await self.listener.run(after: start) }
      group.addTask { await self.sequencer.run() }
      migrated.finish(.success(()))
      try? await gracefulShutdown()
      group.cancelAll()
    }
  }

  /// Waits until `run()` has migrated the database and started listening; throws its failure.
  public func ready() async throws {
    try await migrated.wait()
  }

  /// The last position the sequencer has given.
  static func lastUpdateID(_ connection: PostgresConnection) async throws -> Int64 {
    for try await id in try await connection.query("SELECT position FROM update_log_head", logger: quiet).decode(Int64.self)
    {
      return id
    }
    return 0
  }

  // MARK: Running queries

  /// One transaction, retried when PostgreSQL picked it to break a deadlock or serialisation
  /// conflict. The changes it logged go to `onCommit` after it commits, and wake the sequencer.
  func write<T: Sendable>(_ body: @escaping @Sendable (PostgresTransaction) async throws -> T) async throws -> T {
    var attempt = 1
    while true {
      do {
        let (result, logged) = try await guarded {
          try await $0.withTransaction(logger: Self.quiet) { connection in
            let tx = PostgresTransaction(connection: connection, logger: Self.quiet)
            let result = try await body(tx)
            return (result, try await tx.flush())
          }
        }
        committed(logged)
        return result
      } catch let error as PostgresRetry where attempt < 5 {
        logger.debug("retrying a transaction", metadata: ["reason": "\(error.sqlState)", "attempt": "\(attempt)"])
        attempt += 1
      }
    }
  }

  /// After a commit that logged these changes.
  func committed(_ logged: [GenerationTask]) {
    guard !logged.isEmpty else { return }
    for task in logged { cache.invalidate(task.id) }
    sequencer.appendedRows()
    if let onCommit { logged.forEach(onCommit) }
  }

  /// One read on a pooled connection.
  func read<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
    try await guarded(body)
  }

  /// Fails UNAVAILABLE while the listener's connection is down: the database is unreachable, and
  /// the read cache may be missing other nodes' changes.
  func checkConnected() throws {
    guard listener.isConnected else { throw PostgresFailure.unavailable }
  }

  /// Runs `operation` on a pooled connection. Fails with UNAVAILABLE while the listener's
  /// connection is down (the database is unreachable): at once, or as soon as that happens during
  /// the operation; and after `operationTimeout` when the database stops answering without closing
  /// connections (a network partition). Database errors become EaselErrors.
  private func guarded<T: Sendable>(
    timeout: Duration? = nil, _ operation: @escaping @Sendable (PostgresConnection) async throws -> T
  )
    async throws -> T
  {
    try checkConnected()
    let (client, timeout) = (client, timeout ?? operationTimeout)
    let race = Race<T>()
    let leased = LeasedConnection()
    let work = race.run {
      try await client.withConnection { connection in
        leased.set(connection)
        defer { leased.set(nil) }
        return try await operation(connection)
      }
    }
    // An outage that starts while the operation waits (for a pooled connection, say) ends it too,
    // as soon as the listener notices.
    let watched = watchdog.watch(timeout: timeout) { race.finish(.failure($0)) }
    defer {
      work.cancel()
      watchdog.release(watched)
    }
    do {
      return try await race.value()
    } catch {
      // An operation given up on must not commit later: closing its connection (unless it has
      // ended already) makes sure its transaction rolls back. Cancelling alone does not.
      leased.close()
      throw PostgresFailure.translate(error)
    }
  }
}

/// The pooled connection an operation is using, while it uses one.
private final class LeasedConnection: Sendable {
  private let connection = Mutex<PostgresConnection?>(nil)

  func set(_ value: PostgresConnection?) { connection.withLock { $0 = value } }

  func close() {
    connection.withLock { $0 }?.close().whenComplete { _ in }
  }
}
