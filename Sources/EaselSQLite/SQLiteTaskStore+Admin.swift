import EaselCore
import Foundation
import GRDB

/// AdminRecords: what operators retry, pause, resend and read.
extension SQLiteTaskStore: AdminRecords {
  public func tasks(matching filter: TaskFilter, limit: Int, after cursor: TaskCursor?) async throws -> [GenerationTask] {
    try readInline { db in
      var conditions: [SQL] = ["1 = 1"]
      if let status = filter.status { conditions.append("status = \(status.rawValue)") }
      if let cursor { conditions.append(TaskRows.before(cursor)) }
      if let platform = filter.platform { conditions.append("platform = \(platform)") }
      if let user = filter.userID { conditions.append("user_id = \(user)") }
      if let backend = filter.backend { conditions.append("backend = \(backend)") }
      if let template = filter.templateCode { conditions.append("template_code = \(template)") }
      if let code = filter.errorCode { conditions.append("error_code = \(code)") }
      if let after = filter.createdAfter { conditions.append("created_at >= \(after.timeIntervalSince1970)") }
      if let before = filter.createdBefore { conditions.append("created_at < \(before.timeIntervalSince1970)") }
      return try Row.fetchAll(
        db, cached: "SELECT * FROM tasks WHERE \(conditions.joined(operator: .and)) ORDER BY created_at DESC, rowid DESC LIMIT \(limit)"
      ).map { try TaskRows.decode($0, in: db) }
    }
  }

  public func task(id: String) async throws -> GenerationTask? {
    try readInline { db in try TaskRows.fetch(db, id: id) }
  }

  public func ledgerEntries(taskID: String) async throws -> [LedgerEntry] {
    try readInline { db in
      try Row.fetchAll(
        db, cached: "SELECT id, kind, amount, reason, task_id, balance_after, created_at FROM ledger_entries WHERE task_id = \(taskID) ORDER BY id"
      ).map { row in
        LedgerEntry(
          id: row["id"], kind: LedgerKind(rawValue: row["kind"]) ?? .adjust, amount: row["amount"], reason: row["reason"],
          taskID: row["task_id"], balanceAfter: row["balance_after"], createdAt: Date(timeIntervalSince1970: row["created_at"]))
      }
    }
  }

  public func setBackendPause(_ pause: BackendPause?, backend: String, endpoint: String) async throws {
    try await writer.write { db in
      if let pause {
        try db.run(
          literal: """
            INSERT INTO backend_pauses (backend, endpoint, reason, paused_at)
            VALUES (\(backend), \(endpoint), \(pause.reason), \(pause.pausedAt.timeIntervalSince1970))
            ON CONFLICT (backend, endpoint) DO UPDATE SET reason = excluded.reason
            """)
      } else {
        try db.run(literal: "DELETE FROM backend_pauses WHERE backend = \(backend) AND endpoint = \(endpoint)")
      }
    }
  }

  public func backendPauses() async throws -> [BackendPause] {
    try readInline { db in
      try Row.fetchAll(db, cached: "SELECT * FROM backend_pauses ORDER BY backend, endpoint").map { row in
        BackendPause(
          backend: row["backend"], endpoint: row["endpoint"], reason: row["reason"],
          pausedAt: Date(timeIntervalSince1970: row["paused_at"]))
      }
    }
  }

  public func failedWebhookDeliveries(platform: String?, limit: Int) async throws -> [WebhookDeliveryRecord] {
    try readInline { db in try WebhookRows.failed(db, platform: platform, limit: limit) }
  }

  public func redeliverWebhook(id: String, platform: String?, now: Date) async throws -> WebhookDeliveryRecord? {
    try await writer.write { db in try WebhookRows.redeliver(db, id: id, platform: platform, now: now) }
  }

  public func serviceStats(platform: String?, now: Date) async throws -> ServiceStats {
    try readInline { db in
      let owner: SQL = platform.map { "platform = \($0)" } ?? "1 = 1"
      var stats = ServiceStats()
      for row in try Row.fetchAll(db, cached: "SELECT status, backend, COUNT(*) AS n FROM tasks WHERE \(owner) GROUP BY status, backend") {
        if let status = TaskStatus(rawValue: row["status"]) {
          stats.counts.append(.init(status: status, backend: row["backend"], count: row["n"]))
        }
      }
      let hourAgo = now.addingTimeInterval(-3600).timeIntervalSince1970
      let ended = try Row.fetchAll(
        db,
        cached: """
        SELECT status, created_at, started_at, finished_at FROM tasks INDEXED BY tasks_ended_by_finish
        WHERE finished_at >= \(hourAgo) AND \(owner)
        """)
      stats.minutes = ServiceStats.minutes(
        endings: ended.compactMap { row in
          TaskStatus(rawValue: row["status"]).map { (Date(timeIntervalSince1970: row["finished_at"]), $0) }
        }, now: now)
      let started = try Row.fetchAll(
        db, cached: "SELECT created_at, started_at FROM tasks WHERE started_at >= \(hourAgo) AND \(owner)")
      let waits = started.map { row in Int64(((row["started_at"] as Double) - (row["created_at"] as Double)) * 1000) }
      let runs = ended.compactMap { row -> Int64? in
        guard let start = row["started_at"] as Double? else { return nil }
        return Int64(((row["finished_at"] as Double) - start) * 1000)
      }
      stats.queueWaitP50Ms = ServiceStats.percentile(0.5, of: waits)
      stats.queueWaitP95Ms = ServiceStats.percentile(0.95, of: waits)
      stats.runTimeP50Ms = ServiceStats.percentile(0.5, of: runs)
      stats.runTimeP95Ms = ServiceStats.percentile(0.95, of: runs)
      let midnight = ServiceStats.startOfDay(now).timeIntervalSince1970
      for row in try Row.fetchAll(
        db,
        cached: """
        SELECT platform, SUM(amount) AS captured FROM ledger_entries
        WHERE kind = 'CAPTURE' AND created_at >= \(midnight) AND \(owner) GROUP BY platform
        """)
      {
        stats.capturedToday[row["platform"]] = row["captured"]
      }
      return stats
    }
  }
}
