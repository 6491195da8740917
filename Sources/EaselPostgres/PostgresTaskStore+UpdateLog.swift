import EaselCore
import Foundation
import PostgresNIO

/// UpdateLog: the update log streams replay from.
extension PostgresTaskStore: UpdateLog {
  public func updates(after updateID: Int64, scope: UpdateScope, limit: Int) async throws -> [GenerationTask] {
    try await read { connection in
      let updates = try await PostgresTaskRows.updates(connection, after: updateID, scope: scope, limit: limit)
      // Read after the entries: a trim in between shows here.
      guard try await PostgresTaskRows.trimmedThrough(connection) <= updateID else { throw EaselError.resumePointTrimmed(updateID) }
      return updates
    }
  }

  public func updates(ofTask id: String, account: Account, afterSequence: UInt64) async throws -> [GenerationTask]? {
    try await read { connection in
      guard try await PostgresTaskRows.fetch(connection, id: id, account: account) != nil else { return nil }
      return try await PostgresTaskRows.updates(connection, taskID: id, afterSequence: afterSequence)
    }
  }

  public func activeTasks(in scope: UpdateScope) async throws -> (tasks: [GenerationTask], watermark: Int64) {
    // One snapshot for both reads, so the watermark matches the tasks exactly.
    try await write { tx in
      try await tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
      let watermark = try await Self.lastUpdateID(tx.connection)
      return (try await PostgresTaskRows.active(tx.connection, scope: scope), watermark)
    }
  }

  public func trimUpdates(loggedBefore cutoff: Date, limit: Int) async throws -> Int {
    try await write { tx in
      // The row lock makes nodes trimming at once take turns.
      let trimmed = try await tx.query("SELECT position FROM update_log_trimmed FOR UPDATE").first?["position"].decode(Int64.self) ?? 0
      var due: [Int64] = []
      let oldest = try await tx.query(
        "SELECT position, created_at FROM task_updates WHERE position > \(trimmed) ORDER BY position LIMIT \(Int64(limit))")
      for row in oldest {
        guard try row["created_at"].decode(Double.self) < cutoff.timeIntervalSince1970 else { break }
        due.append(try row["position"].decode(Int64.self))
      }
      guard let through = due.last else { return 0 }
      try await tx.query("DELETE FROM task_updates WHERE position > \(trimmed) AND position <= \(through)")
      try await tx.query("UPDATE update_log_trimmed SET position = \(through)")
      return due.count
    }
  }
}
