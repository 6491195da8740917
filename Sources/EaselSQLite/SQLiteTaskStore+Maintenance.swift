import EaselCore
import Foundation
import GRDB

/// StoreHealth, TaskRetention: health, statistics and purging finished tasks.
extension SQLiteTaskStore: StoreHealth, TaskRetention {
  public func tasksWithExpiredArtifacts(now: Date, limit: Int) async throws -> [GenerationTask] {
    try readInline { db in try TaskRows.withExpiredArtifacts(db, now: now, limit: limit) }
  }

  public func markArtifactsExpired(taskID: String, now: Date) async throws -> GenerationTask? {
    try await writer.write { db in
      guard var task = try TaskRows.fetch(db, id: taskID), task.pinnedAt == nil, task.artifactsExpiredAt == nil,
        let expiresAt = task.expiresAt, expiresAt <= now
      else { return nil }
      task.markArtifactsExpired(now: now)
      try TaskRows.saveChange(db, &task, now: now, feed: feed)
      return task
    }
  }

  public func purgeTasks(finishedBefore cutoff: Date) async throws -> (tasks: Int, artifactKeys: [String]) {
    try await writer.write { db in
      let filter: SQL = "status IN ('COMPLETED', 'FAILED', 'CANCELED', 'EXPIRED') AND finished_at < \(cutoff.timeIntervalSince1970)"
      let rows = try Row.fetchAll(db, cached: "SELECT * FROM tasks WHERE \(filter)")
      // A task whose retention ended has no artifacts left to delete.
      let keys = try rows.filter { ($0["artifacts_expired_at"] as Double?) == nil }.flatMap { row in
        let task = try TaskRows.decode(row, in: db)
        let single = [task.inputImageKey, task.output?.key, task.thumbnail?.key, task.preview?.key].compactMap { $0 }
        return single + task.outputs.dropFirst().flatMap { [$0.output.key, $0.thumbnail.key] }
      }
      let owned: SQL = "SELECT id FROM tasks WHERE \(filter)"
      try db.execute(literal: "DELETE FROM credit_holds WHERE task_id IN (\(owned))")
      try db.execute(literal: "DELETE FROM idempotency_keys WHERE task_id IN (\(owned))")
      try db.execute(literal: "DELETE FROM task_updates WHERE task_id IN (\(owned))")
      try db.execute(
        literal: "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE task_id IN (\(owned)))")
      try db.execute(literal: "DELETE FROM webhook_deliveries WHERE task_id IN (\(owned))")
      try db.execute(literal: "DELETE FROM tasks WHERE \(filter)")
      try db.execute(sql: "DELETE FROM batches WHERE id NOT IN (SELECT batch_id FROM tasks WHERE batch_id IS NOT NULL)")
      db.afterNextTransaction(onCommit: { [feed] _ in feed.committedMany() })
      return (rows.count, keys)
    }
  }

  public func purgeableTasks(finishedBefore cutoff: Date) async throws -> (tasks: Int, artifacts: Int) {
    try await writer.read { db in
      let row = try Row.fetchOne(
        db,
        cached: """
          SELECT COUNT(*) AS tasks, COUNT(input_key) + COUNT(output_key) + COUNT(thumbnail_key) + COUNT(preview_key)
            + COALESCE(SUM(CASE WHEN output_count > 1 THEN 2 * (output_count - 1) ELSE 0 END), 0) AS artifacts
          FROM tasks WHERE status IN ('COMPLETED', 'FAILED', 'CANCELED', 'EXPIRED') AND finished_at < \(cutoff.timeIntervalSince1970)
          """)
      return (row?["tasks"] ?? 0, row?["artifacts"] ?? 0)
    }
  }

  public func ping() async throws {
    _ = try await writer.read { db in try Int.fetchOne(db, cached: "SELECT 1") }
  }

  public func statistics() async throws -> StoreStatistics {
    try await writer.read { db in
      let counts = try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM tasks GROUP BY status")
      let held = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(held), 0) FROM credit_accounts") ?? 0
      var byStatus: [TaskStatus: Int] = [:]
      for row in counts {
        if let status = TaskStatus(rawValue: row["status"]) { byStatus[status] = row["n"] }
      }
      return StoreStatistics(tasksByStatus: byStatus, creditsHeld: held)
    }
  }
}
