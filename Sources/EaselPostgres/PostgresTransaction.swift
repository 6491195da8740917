import EaselCore
import Foundation
import Logging
import PostgresNIO

/// One store transaction on one pooled connection. Task changes are collected as they happen and
/// logged at the end (`flush`): every writer takes the update-log lock last, just before commit,
/// so log ids follow commit order and the lock is never held while waiting for a row lock.
final class PostgresTransaction {
  let connection: PostgresConnection
  let logger: Logger
  private var changes: [GenerationTask] = []

  init(connection: PostgresConnection, logger: Logger) {
    self.connection = connection
    self.logger = logger
  }

  @discardableResult
  func query(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
    try await connection.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
  }

  /// Stores the task's new state when the transaction ends (in `flush`).
  func log(_ task: GenerationTask) {
    changes.append(task)
  }

  /// Appends the collected changes to the update log (with their webhook deliveries) under the
  /// cluster-wide log lock, and tells listeners on every node once the transaction commits
  /// (PostgreSQL sends one notification per transaction, however many the statements ask for).
  /// Returns the changes with their update ids.
  func flush() async throws -> [GenerationTask] {
    guard !changes.isEmpty else { return [] }
    var logged: [GenerationTask] = []
    for var task in changes {
      let snapshot = try StoredJSON.string(task)
      // The lock is taken in the statement that appends (inserting from the lock's row, so the id
      // is drawn after it), which saves a round trip while it is held; taking it again is free.
      let rows = try await query(
        """
        WITH locked AS (SELECT pg_advisory_xact_lock(\(AdvisoryLock.updateLog))),
        appended AS (
          INSERT INTO task_updates (task_id, platform, user_id, sequence, snapshot, created_at)
          SELECT \(task.id), \(task.account.platform), \(task.account.userID), \(Int64(task.sequence)), \(snapshot),
            \(task.updatedAt.timeIntervalSince1970) FROM locked
          RETURNING id)
        UPDATE tasks SET update_id = (SELECT id FROM appended) WHERE id = \(task.id)
        RETURNING update_id, pg_notify(\(PostgresTaskStore.channel), '')
        """)
      task.updateID = try rows.first?["update_id"].decode(Int64.self) ?? 0
      try await PostgresWebhookRows.enqueue(self, for: task)
      logged.append(task)
    }
    changes = []
    return logged
  }
}
