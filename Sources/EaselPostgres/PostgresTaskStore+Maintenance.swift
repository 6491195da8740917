import EaselCore
import Foundation
import PostgresNIO

/// StoreHealth, TaskRetention: health, statistics and purging finished tasks.
extension PostgresTaskStore: StoreHealth, TaskRetention {
  public func tasksWithExpiredArtifacts(now: Date, limit: Int) async throws -> [GenerationTask] {
    try await read { connection in
      try await connection.query(
        """
        SELECT \(unescaped: PostgresTaskRows.columns) FROM tasks
        WHERE expires_at <= \(now.timeIntervalSince1970) AND pinned_at IS NULL AND artifacts_expired_at IS NULL
        ORDER BY expires_at LIMIT \(Int64(limit))
        """, logger: Self.quiet
      ).collect().map { try PostgresTaskRows.decode($0.makeRandomAccess()) }
    }
  }

  public func markArtifactsExpired(taskID: String, now: Date) async throws -> GenerationTask? {
    try await write { tx in
      guard var task = try await PostgresTaskRows.fetch(tx.connection, id: taskID, forUpdate: true),
        task.pinnedAt == nil, task.artifactsExpiredAt == nil, let expiresAt = task.expiresAt, expiresAt <= now
      else { return nil }
      task.markArtifactsExpired(now: now)
      try await PostgresTaskRows.saveChange(tx, &task, now: now)
      return task
    }
  }

  public func purgeTasks(finishedBefore cutoff: Date) async throws -> (tasks: Int, artifactKeys: [String]) {
    try await write { tx in
      let deleted = try await tx.query(
        """
        WITH doomed AS (
          SELECT id FROM tasks WHERE status IN ('COMPLETED', 'FAILED', 'CANCELED', 'EXPIRED') AND finished_at < \(cutoff.timeIntervalSince1970)
          FOR UPDATE),
        holds AS (DELETE FROM credit_holds WHERE task_id IN (SELECT id FROM doomed)),
        keys AS (DELETE FROM idempotency_keys WHERE task_id IN (SELECT id FROM doomed))
        DELETE FROM tasks WHERE id IN (SELECT id FROM doomed)
        RETURNING input_key, output_key, thumbnail_key, preview_key, outputs, artifacts_expired_at
        """)
      // A task whose retention ended has no artifacts left to delete.
      let keys = try deleted.filter { try $0["artifacts_expired_at"].decode(Double?.self) == nil }.flatMap { row in
        try ["input_key", "output_key", "thumbnail_key", "preview_key"].compactMap { try row[$0].decode(String?.self) }
          + StoredJSON.outputs(row["outputs"].decode(String?.self), first: nil, thumbnail: nil).flatMap {
            [$0.output.key, $0.thumbnail.key]
          }
      }
      try await tx.query("DELETE FROM batches b WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE t.batch_id = b.id)")
      return (deleted.count, keys)
    }
  }

  public func purgeableTasks(finishedBefore cutoff: Date) async throws -> (tasks: Int, artifacts: Int) {
    try await read { connection in
      let rows = try await connection.query(
        """
        SELECT COUNT(*), COUNT(input_key) + COUNT(output_key) + COUNT(thumbnail_key) + COUNT(preview_key)
          + COALESCE(SUM(CASE WHEN output_count > 1 THEN 2 * (output_count - 1) ELSE 0 END), 0)::BIGINT FROM tasks
        WHERE status IN ('COMPLETED', 'FAILED', 'CANCELED', 'EXPIRED') AND finished_at < \(cutoff.timeIntervalSince1970)
        """, logger: Self.quiet
      ).decode((Int64, Int64).self)
      for try await (tasks, artifacts) in rows { return (Int(tasks), Int(artifacts)) }
      return (0, 0)
    }
  }

  public func ping() async throws {
    try await read { _ = try await $0.query("SELECT 1", logger: Self.quiet).collect() }
  }

  public func statistics() async throws -> StoreStatistics {
    try await read { connection in
      var byStatus: [TaskStatus: Int] = [:]
      let counts = try await connection.query("SELECT status, COUNT(*) FROM tasks GROUP BY status", logger: Self.quiet)
      for try await (status, count) in counts.decode((String, Int64).self) {
        if let status = TaskStatus(rawValue: status) { byStatus[status] = Int(count) }
      }
      var held: Int64 = 0
      let sum = try await connection.query("SELECT COALESCE(SUM(held), 0)::bigint FROM credit_accounts", logger: Self.quiet)
      for try await value in sum.decode(Int64.self) { held = value }
      return StoreStatistics(tasksByStatus: byStatus, creditsHeld: held)
    }
  }
}
