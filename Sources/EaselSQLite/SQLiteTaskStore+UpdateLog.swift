import EaselCore
import Foundation
import GRDB

/// UpdateLog: the update log streams replay from.
extension SQLiteTaskStore: UpdateLog {
  public func updates(after updateID: Int64, scope: UpdateScope, limit: Int) async throws -> [GenerationTask] {
    try await writer.read { db in
      guard try Self.trimmedThrough(db) <= updateID else { throw EaselError.resumePointTrimmed(updateID) }
      return try TaskRows.updates(db, after: updateID, scope: scope, limit: limit)
    }
  }

  public func updates(ofTask id: String, account: Account, afterSequence: UInt64) async throws -> [GenerationTask]? {
    try await writer.read { db in
      guard try TaskRows.fetch(db, id: id, account: account) != nil else { return nil }
      return try TaskRows.updates(db, taskID: id, afterSequence: afterSequence)
    }
  }

  public func activeTasks(in scope: UpdateScope) async throws -> (tasks: [GenerationTask], watermark: Int64) {
    try await writer.read { db in
      // The last id given out, even if trimming or a purge deleted its entry since.
      let watermark = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'task_updates'") ?? 0
      return (try TaskRows.active(db, scope: scope), watermark)
    }
  }

  public func trimUpdates(loggedBefore cutoff: Date, limit: Int) async throws -> Int {
    try await writer.write { db in
      let trimmed = try Self.trimmedThrough(db)
      let oldest = try Row.fetchAll(
        db, sql: "SELECT id, created_at FROM task_updates WHERE id > ? ORDER BY id LIMIT ?", arguments: [trimmed, limit])
      let due = oldest.prefix { ($0["created_at"] as Double) < cutoff.timeIntervalSince1970 }
      guard let through = due.last?["id"] as Int64? else { return 0 }
      try db.execute(sql: "DELETE FROM task_updates WHERE id > ? AND id <= ?", arguments: [trimmed, through])
      try db.execute(sql: "UPDATE update_log_trimmed SET position = ?", arguments: [through])
      return due.count
    }
  }

  private static func trimmedThrough(_ db: Database) throws -> Int64 {
    try Int64.fetchOne(db, sql: "SELECT position FROM update_log_trimmed") ?? 0
  }
}
