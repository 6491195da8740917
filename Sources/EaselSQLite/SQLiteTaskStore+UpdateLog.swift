import EaselCore
import Foundation
import GRDB

/// UpdateLog: the update log streams replay from.
extension SQLiteTaskStore: UpdateLog {
  public func updates(after updateID: Int64, scope: UpdateScope, limit: Int) async throws -> [GenerationTask] {
    try await writer.read { db in try TaskRows.updates(db, after: updateID, scope: scope, limit: limit) }
  }

  public func updates(ofTask id: String, account: Account, afterSequence: UInt64) async throws -> [GenerationTask]? {
    try await writer.read { db in
      guard try TaskRows.fetch(db, id: id, account: account) != nil else { return nil }
      return try TaskRows.updates(db, taskID: id, afterSequence: afterSequence)
    }
  }

  public func activeTasks(in scope: UpdateScope) async throws -> (tasks: [GenerationTask], watermark: Int64) {
    try await writer.read { db in
      let watermark = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM task_updates") ?? 0
      return (try TaskRows.active(db, scope: scope), watermark)
    }
  }
}
