import EaselCore
import Logging
import PostgresNIO
import Synchronization

/// Gives committed update-log rows their positions, so readers can follow the log in commit order
/// while no lock is held across any writer's commit.
///
/// Every node runs one on a connection of its own. The node holding the `sequencer` advisory lock
/// (a session lock: PostgreSQL releases it the moment that connection ends, and TCP keepalives
/// end a vanished peer's within seconds) does the work; the others try to take it every
/// `election` interval. The holder numbers all committed rows without a position in one statement
/// and transaction. Batches commit one after another, each above the last, so a reader never sees
/// a later position before an earlier one. Within a batch rows go in id order; two changes of one
/// task are always in id order too, as the second waited for the first's row lock and commit
/// before appending.
///
/// Writers don't NOTIFY in their transactions: a NOTIFY takes a database-wide lock until commit,
/// which would serialise them again. Their node wakes the sequencer after the commit instead:
/// directly if it is the sequencer, else with one NOTIFY on this connection for any number of
/// commits. The sequencer also sweeps every `election` interval, in case a wake-up was lost.
final class UpdateSequencer: Sendable {
  static let channel = "easel_update_log_appended"
  static let election: Duration = .milliseconds(250)
  static let batchSize = 2_000
  static let retryDelay: Duration = .milliseconds(500)

  private let configuration: PostgresConnection.Configuration
  private let logger: Logger
  /// This node committed log rows since the sequencer last looked.
  private let appended = Atomic(false)
  private let leading = Atomic(false)
  /// Wakes the loop of the connection now serving, if any.
  private let bell = Mutex<AsyncStream<Void>.Continuation?>(nil)

  init(configuration: PostgresConnection.Configuration, logger: Logger) {
    self.configuration = configuration
    self.logger = logger
  }

  /// Whether this node is the sequencer now.
  var isLeading: Bool { leading.load(ordering: .relaxed) }

  /// This node has committed log rows: they need positions.
  func appendedRows() {
    appended.store(true, ordering: .relaxed)
    bell.withLock { $0 }?.yield()
  }

  /// Serves (leading or standing by) until canceled, reconnecting after a failure.
  func run() async {
    var id = 0
    while !Task.isCancelled {
      id += 1
      do {
        let connection = try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
        try await Race.untilClosed(connection) { try await self.serve(on: connection) }
      } catch {
        if Task.isCancelled { break }
        if leading.exchange(false, ordering: .relaxed) {
          logger.warning("stopped sequencing the update log", metadata: ["error": "\(String(reflecting: error))"])
        }
        try? await Task.sleep(for: Self.retryDelay)
      }
    }
    leading.store(false, ordering: .relaxed)
  }

  private func serve(on connection: PostgresConnection) async throws {
    let (rings, ring) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    bell.withLock { $0 = ring }
    defer { bell.withLock { $0 = nil } }
    try await connection.query(
      """
      SELECT set_config('tcp_keepalives_idle', '5', false), set_config('tcp_keepalives_interval', '1', false),
        set_config('tcp_keepalives_count', '3', false)
      """, logger: PostgresTaskStore.quiet)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        while true {
          try await Task.sleep(for: Self.election)
          ring.yield()
        }
      }
      // Standing by: forward this node's commits to the sequencer, and try to take over.
      ring.yield()
      var nextElection = ContinuousClock.now
      for await _ in rings {
        if appended.exchange(false, ordering: .relaxed) {
          try await connection.query("NOTIFY \(unescaped: Self.channel)", logger: PostgresTaskStore.quiet)
        }
        guard ContinuousClock.now >= nextElection else { continue }
        nextElection = .now + Self.election
        if try await lead(connection) { break }
      }
      guard isLeading else { throw CancellationError() }  // canceled while standing by
      // Leading: only now LISTEN (every notification wakes every listening session).
      try await connection.listen(on: Self.channel) { notifications in
        group.addTask {
          defer { ring.finish() }  // the connection is gone: stop the loop too
          for try await _ in notifications { ring.yield() }
          throw NotificationsEnded()
        }
        ring.yield()  // rows appended before this node led
        for await _ in rings {
          appended.store(false, ordering: .relaxed)
          while try await sequenceBatch(connection) == Self.batchSize {}
        }
      }
      group.cancelAll()
      try await group.next()
    }
  }

  /// Takes the sequencer's lock if no other session holds it.
  private func lead(_ connection: PostgresConnection) async throws -> Bool {
    let rows = try await connection.query(
      "SELECT pg_try_advisory_lock(\(AdvisoryLock.sequencer))", logger: PostgresTaskStore.quiet
    ).decode(Bool.self)
    for try await acquired in rows where acquired {
      leading.store(true, ordering: .relaxed)
      logger.info("this node now sequences the update log")
      return true
    }
    return false
  }

  /// Positions up to `batchSize` committed rows, oldest id first, after the head; moves the head
  /// and wakes every node's listener in the same transaction. Returns how many it positioned.
  private func sequenceBatch(_ connection: PostgresConnection) async throws -> Int {
    for try await count in try await connection.execute(SequenceBatch(), logger: PostgresTaskStore.quiet) {
      return Int(count)
    }
    return 0
  }

  /// Prepared once per connection: it runs many times a second under load.
  struct SequenceBatch: PostgresPreparedStatement {
    static let sql = """
      WITH head AS (SELECT position FROM update_log_head),
      pending AS (
        SELECT id, row_number() OVER (ORDER BY id) AS n FROM task_updates
        WHERE position IS NULL ORDER BY id LIMIT \(UpdateSequencer.batchSize)),
      assigned AS (
        UPDATE task_updates u SET position = head.position + pending.n FROM pending, head
        WHERE u.id = pending.id RETURNING u.position),
      moved AS (
        UPDATE update_log_head SET position = (SELECT MAX(position) FROM assigned)
        WHERE EXISTS (SELECT 1 FROM assigned) RETURNING pg_notify('\(PostgresTaskStore.channel)', ''))
      SELECT (SELECT COUNT(*) FROM assigned)::BIGINT, (SELECT COUNT(*) FROM moved)::BIGINT
      """

    func makeBindings() throws -> PostgresBindings { PostgresBindings() }

    func decodeRow(_ row: PostgresRow) throws -> Int64 {
      try row.decode((Int64, Int64).self).0
    }
  }
}
