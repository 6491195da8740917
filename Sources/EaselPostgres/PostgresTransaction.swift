import EaselCore
import Foundation
import Logging
import PostgresNIO

/// One store transaction on one pooled connection. Task changes are collected as they happen and
/// appended to the update log at the end (`flush`), without a position: no lock is held across the
/// commit, so transactions of different accounts commit side by side and PostgreSQL can group
/// their commits. The sequencer positions the rows once they are committed (`UpdateSequencer`).
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

  /// Appends the collected changes to the update log, with their webhook deliveries, and returns
  /// them. Their update ids stay 0: a change has a position only once the sequencer has given it
  /// one, after this transaction commits.
  func flush() async throws -> [GenerationTask] {
    defer { changes = [] }
    for task in changes {
      try await query(
        """
        INSERT INTO task_updates (task_id, platform, user_id, sequence, status, snapshot, created_at)
        VALUES (\(task.id), \(task.account.platform), \(task.account.userID), \(Int64(task.sequence)),
          \(task.status.rawValue), \(try StoredJSON.string(LoggedTaskState(of: task))), \(task.updatedAt.timeIntervalSince1970))
        """)
      try await PostgresWebhookRows.enqueue(self, for: task)
    }
    return changes
  }
}
