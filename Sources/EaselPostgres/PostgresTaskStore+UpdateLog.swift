import EaselCore
import Foundation
import PostgresNIO

/// UpdateLog: the update log streams replay from.
extension PostgresTaskStore: UpdateLog {
  public func updates(after updateID: Int64, scope: UpdateScope, limit: Int) async throws -> [GenerationTask] {
    try await read { try await PostgresTaskRows.updates($0, after: updateID, scope: scope, limit: limit) }
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
}
