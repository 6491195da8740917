import EaselCore
import EaselPostgres
import EaselServer
import Foundation
import Logging
import PostgresNIO

/// The reference for CreateTask on PostgreSQL: the rows a create writes (the account's new hold
/// and active count, the user's turn in the fair queue, the task, its logged state, the hold and
/// its ledger entry) in Easel's migrated schema, one statement and transaction each, as Easel's
/// own create writes them, 256 in flight over postgres-nio, spread over `accounts` accounts as the
/// Easel figure is. The faster of two pool sizes counts: the reference should be the best a
/// hand-written client gets here.
enum PostgresBaseline {
  /// The best rate, and the database's CPU milliseconds per create in that run.
  static func tasksPerSecond(url: String, count: Int, accounts: Int) async throws -> (rate: Double, databaseMs: Double) {
    let databaseURL = try PostgresBench.freshDatabaseURL(url: url, name: "raw")
    let logger = Logger(label: "easel-bench.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    try await OpenStore.with(.postgres(try DatabaseURL(databaseURL), poolSize: 2), logger: logger) { _ in }
    let cpu = try DatabaseCPU(url: url)
    var best = (rate: 0.0, databaseMs: 0.0)
    for connections in [16, 64] {
      let before = cpu.seconds()
      let rate = try await run(url: databaseURL, connections: connections, count: count, accounts: accounts)
      let databaseMs = (cpu.seconds() - before) * 1000 / Double(count)
      FileHandle.standardError.write(Data("easel-bench: raw PostgreSQL, \(connections) connections: \(Int(rate))/s\n".utf8))
      if rate > best.rate { best = (rate, databaseMs) }
    }
    return best
  }

  private static func run(url: String, connections: Int, count: Int, accounts: Int) async throws -> Double {
    let client = PostgresClient(configuration: try DatabaseURL(url).clientConfiguration(poolSize: connections, connectTimeout: .seconds(10)))
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await client.run() }
      defer { group.cancelAll() }
      let logger = Logger(label: "easel-bench.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
      for account in 0..<accounts {
        try await client.query(
          "INSERT INTO credit_accounts (platform, user_id, balance) VALUES ('default', \("raw-\(account)"), \(Int64(1) << 50)) ON CONFLICT DO NOTHING",
          logger: logger)
      }
      let sample = try sampleTask()
      let snapshot = try StoredJSON.string(LoggedTaskState(of: sample))
      let parameters = try StoredJSON.string(sample.parameters)
      let started = ContinuousClock.now
      try await withThrowingTaskGroup(of: Void.self) { senders in
        for sender in 0..<256 {
          senders.addTask {
            for index in stride(from: sender, to: count, by: 256) {
              let user = "raw-\(index % accounts)"
              let (id, at) = (UUID().uuidString.lowercased(), Date().timeIntervalSince1970)
              // One statement (as Easel's own create): one round trip, its own transaction.
              try await client.query(
                """
                WITH account AS (
                  UPDATE credit_accounts SET held = held + 10, active_tasks = active_tasks + 1
                  WHERE platform = 'default' AND user_id = \(user) AND balance - held >= 10 RETURNING balance),
                queued AS (
                  INSERT INTO queue_keys (platform, user_id, priority, finish) SELECT 'default', \(user), 5, 1 FROM account
                  ON CONFLICT (platform, user_id, priority) DO UPDATE SET finish = queue_keys.finish + 1
                  RETURNING finish - 1 AS rank),
                inserted AS (
                  INSERT INTO tasks (id, platform, user_id, kind, status, prompt, parameters, template_code, template_name,
                    template_version, template_category, backend, backend_options, credit_cost, timeout_ms, sequence,
                    created_at, updated_at, queue_rank)
                  SELECT \(id), 'default', \(user), 'image', 'PENDING', 'a benchmark', \(parameters), 'txt2img',
                    'Text to image', '1', '图片生成', 'default-image', '{}', 10, 120000, 1, \(at), \(at), rank FROM queued
                  RETURNING id),
                hold AS (
                  INSERT INTO credit_holds (task_id, platform, user_id, amount, created_at)
                  SELECT \(id), 'default', \(user), 10, \(at) FROM inserted),
                ledger AS (
                  INSERT INTO ledger_entries (platform, user_id, kind, amount, reason, task_id, balance_after, created_at)
                  SELECT 'default', \(user), 'HOLD', 10, 'generation', \(id), balance, \(at) FROM account, inserted)
                INSERT INTO task_updates (task_id, platform, user_id, sequence, status, snapshot, created_at)
                SELECT \(id), 'default', \(user), 1, 'PENDING', \(snapshot), \(at) FROM inserted
                """, logger: logger)
            }
          }
        }
        try await senders.waitForAll()
      }
      return Double(count) / (ContinuousClock.now - started).seconds
    }
  }

  private static func sampleTask() throws -> GenerationTask {
    let now = Date()
    return GenerationTask(
      id: UUID().uuidString.lowercased(), account: try Account(platform: "default", userID: "raw"), kind: .image,
      status: .pending, prompt: "a benchmark",
      parameters: ["prompt": .string("a benchmark"), "width": .integer(64), "height": .integer(64), "seed": .integer(7)],
      template: TemplateRef(code: "txt2img", name: "Text to image", version: "1", category: "图片生成"),
      backend: "default-image", creditCost: 10, createdAt: now, updatedAt: now)
  }
}
