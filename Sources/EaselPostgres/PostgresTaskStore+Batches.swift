import EaselCore
import Foundation
import PostgresNIO

/// BatchRecords: batches of tasks created together.
extension PostgresTaskStore: BatchRecords {
  public func createBatch(_ batch: NewBatch, now: Date) async throws -> (batch: TaskBatch, created: Bool) {
    try await write { tx in
      // The account's row lock orders this against every other change to the account, on any node.
      var account = try await PostgresCredits.lock(tx, batch.account)
      if let idempotency = batch.idempotency,
        let batchID = try await PostgresIdempotency.previousResult(tx, account: batch.account, scope: .createBatch, key: idempotency)
      {
        guard let earlier = try await PostgresBatchRows.fetch(tx.connection, id: batchID, account: batch.account) else {
          throw EaselError.internalError("the batch of idempotency key \(idempotency.key) is missing")
        }
        return (earlier, false)
      }
      try account.balance.checkCanHold(batch.creditCost)
      for new in batch.tasks {
        try new.checkActiveLimit(active: account.activeTasks)
        var task = GenerationTask(new: new, now: now)
        task.queueRank = try await PostgresTaskRows.enqueue(
          tx, account: new.account, priority: new.priority, weight: new.fairnessWeight)
        try await PostgresTaskRows.insert(tx, task)
        try await PostgresCredits.hold(tx, task: task, on: account.balance, now: now)
        account.balance.held += task.creditCost
        account.activeTasks += 1
      }
      try await tx.query(
        """
        INSERT INTO batches (id, platform, user_id, task_ids, created_at)
        VALUES (\(batch.id), \(batch.account.platform), \(batch.account.userID), \(try StoredJSON.string(batch.tasks.map(\.id))),
          \(now.timeIntervalSince1970))
        """)
      if let idempotency = batch.idempotency {
        try await PostgresIdempotency.record(
          tx, account: batch.account, scope: .createBatch, key: idempotency, taskID: batch.id, now: now)
      }
      guard let created = try await PostgresBatchRows.fetch(tx.connection, id: batch.id, account: batch.account) else {
        throw EaselError.internalError("batch \(batch.id) vanished while it was created")
      }
      return (created, true)
    }
  }

  public func batch(id: String, account: Account) async throws -> TaskBatch? {
    try await read { try await PostgresBatchRows.fetch($0, id: id, account: account) }
  }

  public func tasks(inBatch id: String, account: Account, status: TaskStatus?, page: PageRequest) async throws
    -> Page<GenerationTask>
  {
    try await read { try await PostgresTaskRows.page($0, account: account, status: status, page: page, batch: id) }
  }
}

/// Batch rows and their summaries. Called only inside a store transaction or read.
enum PostgresBatchRows {
  static func fetch(_ connection: PostgresConnection, id: String, account: Account) async throws -> TaskBatch? {
    let quiet = PostgresTaskStore.quiet
    let rows = try await connection.query(
      """
      SELECT task_ids, created_at FROM batches
      WHERE id = \(id) AND platform = \(account.platform) AND user_id = \(account.userID)
      """, logger: quiet
    ).collect()
    guard let row = rows.first else { return nil }
    let (taskIDs, createdAt) = try row.decode((String, Double).self)
    var summary = BatchSummary()
    let counts = try await connection.query(
      "SELECT status, COUNT(*) FROM tasks WHERE batch_id = \(id) GROUP BY status", logger: quiet)
    for try await (status, count) in counts.decode((String, Int64).self) {
      if let status = TaskStatus(rawValue: status) { summary.counts[status] = Int(count) }
    }
    let credits = try await connection.query(
      """
      SELECT
        (SELECT COALESCE(SUM(h.amount), 0)::BIGINT FROM credit_holds h JOIN tasks t ON t.id = h.task_id
          WHERE t.batch_id = \(id)),
        (SELECT COALESCE(SUM(l.amount), 0)::BIGINT FROM ledger_entries l JOIN tasks t ON t.id = l.task_id
          WHERE t.batch_id = \(id) AND l.kind = 'CAPTURE')
      """, logger: quiet)
    for try await (held, captured) in credits.decode((Int64, Int64).self) {
      (summary.creditsHeld, summary.creditsCaptured) = (held, captured)
    }
    return TaskBatch(
      id: id, account: account, taskIDs: try StoredJSON.decode([String].self, taskIDs),
      createdAt: Date(timeIntervalSince1970: createdAt), summary: summary)
  }
}
