import EaselCore
import Foundation
import GRDB

/// BatchRecords: batches of tasks created together.
extension SQLiteTaskStore: BatchRecords {
  public func createBatch(_ batch: NewBatch, now: Date) async throws -> (batch: TaskBatch, created: Bool) {
    try await writer.write { db in
      if let idempotency = batch.idempotency,
        let batchID = try Idempotency.previousResult(db, account: batch.account, scope: .createBatch, key: idempotency)
      {
        guard let earlier = try BatchRows.fetch(db, id: batchID, account: batch.account) else {
          throw EaselError.internalError("the batch of idempotency key \(idempotency.key) is missing")
        }
        return (earlier, false)
      }
      try Credits.account(db, batch.account).checkCanHold(batch.creditCost)
      let active = try Credits.activeTasks(db, batch.account)
      for (index, new) in batch.tasks.enumerated() {
        try new.checkActiveLimit(active: active + index)
        var task = GenerationTask(new: new, now: now)
        task.queueRank = try TaskRows.enqueue(db, account: new.account, priority: new.priority, weight: new.fairnessWeight)
        try TaskRows.insert(db, task, template: new.template, feed: feed)
        try Credits.hold(db, task: task, now: now)
      }
      let taskIDs = batch.tasks.map(\.id)
      try db.run(
        literal: """
          INSERT INTO batches (id, platform, user_id, task_ids, created_at)
          VALUES (\(batch.id), \(batch.account.platform), \(batch.account.userID), \(try StoredJSON.string(taskIDs)), \(now.timeIntervalSince1970))
          """)
      if let idempotency = batch.idempotency {
        try Idempotency.record(db, account: batch.account, scope: .createBatch, key: idempotency, taskID: batch.id, now: now)
      }
      return (try BatchRows.fetch(db, id: batch.id, account: batch.account)!, true)
    }
  }

  public func batch(id: String, account: Account) async throws -> TaskBatch? {
    try readInline { db in try BatchRows.fetch(db, id: id, account: account) }
  }

  public func tasks(inBatch id: String, account: Account, status: TaskStatus?, page: PageRequest) async throws
    -> Page<GenerationTask>
  {
    try readInline { db in try TaskRows.page(db, account: account, status: status, page: page, batch: id) }
  }
}

/// Batch rows and their summaries. Called only inside a store transaction or read.
enum BatchRows {
  static func fetch(_ db: Database, id: String, account: Account) throws -> TaskBatch? {
    guard
      let row = try Row.fetchOne(
        db,
        cached: "SELECT task_ids, created_at FROM batches WHERE id = \(id) AND platform = \(account.platform) AND user_id = \(account.userID)")
    else { return nil }
    var summary = BatchSummary()
    for counted in try Row.fetchAll(db, cached: "SELECT status, COUNT(*) AS n FROM tasks WHERE batch_id = \(id) GROUP BY status") {
      if let status = TaskStatus(rawValue: counted["status"]) { summary.counts[status] = counted["n"] }
    }
    summary.creditsHeld =
      try Int64.fetchOne(
        db,
        cached: """
          SELECT COALESCE(SUM(h.amount), 0) FROM credit_holds h JOIN tasks t ON t.id = h.task_id
          WHERE t.batch_id = \(id)
          """) ?? 0
    summary.creditsCaptured =
      try Int64.fetchOne(
        db,
        cached: """
          SELECT COALESCE(SUM(l.amount), 0) FROM ledger_entries l JOIN tasks t ON t.id = l.task_id
          WHERE t.batch_id = \(id) AND l.kind = 'CAPTURE'
          """) ?? 0
    return TaskBatch(
      id: id, account: account, taskIDs: try StoredJSON.decode([String].self, row["task_ids"]),
      createdAt: Date(timeIntervalSince1970: row["created_at"]), summary: summary)
  }
}
