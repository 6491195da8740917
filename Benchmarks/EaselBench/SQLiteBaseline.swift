import EaselCore
import EaselSQLite
import Foundation
import GRDB

/// The reference for durable task creation: the rows CreateTask writes (task, its first logged
/// update, the credit account, the user's turn in the fair queue, the hold and its ledger entry), inserted straight into a database
/// with Easel's schema and pragmas (WAL, synchronous = FULL), one transaction per task, in a loop.
enum SQLiteBaseline {
  /// Synchronous on purpose: the loop pays no thread hop between transactions, only SQLite's work.
  static func tasksPerSecond(count: Int, folder: URL) throws -> Double {
    let path = folder.appendingPathComponent("baseline.sqlite").path
    _ = try SQLiteTaskStore(path: path)  // the same schema, migrated
    var configuration = Configuration()
    configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
    let pool = try DatabasePool(path: path, configuration: configuration)
    let account = try Account(platform: "default", userID: "bench")
    let now = Date()
    let sample = GenerationTask(
      id: UUID().uuidString.lowercased(), account: account, kind: .image, status: .pending, prompt: "a benchmark",
      parameters: ["prompt": .string("a benchmark"), "width": .integer(64), "height": .integer(64), "seed": .integer(7)],
      template: TemplateRef(code: "txt2img", name: "Text to image", version: "1", category: "图片生成"),
      backend: "default-image", creditCost: 10, createdAt: now, updatedAt: now)
    let snapshot = try StoredJSON.string(LoggedTaskState(of: sample))
    let parameters = String(decoding: try JSONEncoder().encode(sample.parameters), as: UTF8.self)
    try pool.write { db in
      try db.execute(sql: "INSERT INTO credit_accounts (platform, user_id, balance, held) VALUES ('default', 'bench', ?, 0)", arguments: [Int64(1) << 50])
    }
    let started = ContinuousClock.now
    for index in 0..<count {
      let id = UUID().uuidString.lowercased()
      let at = now.timeIntervalSince1970 + Double(index)
      try pool.write { db in
        try db.executeCached(
          sql: """
            INSERT INTO tasks (id, platform, user_id, kind, status, prompt, parameters, template_code, template_name,
              template_version, template_category, backend, backend_options, credit_cost, timeout_ms, sequence, created_at, updated_at)
            VALUES (?, 'default', 'bench', 'image', 'PENDING', 'a benchmark', ?, 'txt2img', 'Text to image', '1', '图片生成',
              'default-image', '{}', 10, 120000, 1, ?, ?)
            """, arguments: [id, parameters, at, at])
        try db.executeCached(
          sql: "INSERT INTO task_updates (task_id, platform, user_id, sequence, snapshot, created_at) VALUES (?, 'default', 'bench', 1, ?, ?)",
          arguments: [id, snapshot, at])
        try db.executeCached(sql: "UPDATE tasks SET update_id = ? WHERE id = ?", arguments: [db.lastInsertedRowID, id])
        try db.executeCached(
          sql: "UPDATE credit_accounts SET held = held + 10, active_tasks = active_tasks + 1 WHERE platform = 'default' AND user_id = 'bench'")
        try db.executeCached(
          sql: """
            INSERT INTO queue_keys (platform, user_id, priority, finish) VALUES ('default', 'bench', 5, 1)
            ON CONFLICT (platform, user_id, priority) DO UPDATE SET finish = finish + 1
            """)
        try db.executeCached(
          sql: "INSERT INTO credit_holds (task_id, platform, user_id, amount, created_at) VALUES (?, 'default', 'bench', 10, ?)",
          arguments: [id, at])
        try db.executeCached(
          sql: """
            INSERT INTO ledger_entries (platform, user_id, kind, amount, reason, task_id, balance_after, created_at)
            VALUES ('default', 'bench', 'HOLD', 10, 'generation', ?, ?, ?)
            """, arguments: [id, Int64(1) << 50, at])
      }
    }
    return Double(count) / (ContinuousClock.now - started).seconds
  }
}

extension Database {
  /// Prepared once and reused, as the store does.
  fileprivate func executeCached(sql: String, arguments: StatementArguments = []) throws {
    try cachedStatement(sql: sql).execute(arguments: arguments)
  }
}
