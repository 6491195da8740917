import EaselCore
import Foundation
import PostgresNIO

/// AdminRecords: what operators retry, pause, resend and read.
extension PostgresTaskStore: AdminRecords {
  public func tasks(matching filter: TaskFilter, limit: Int, after cursor: TaskCursor?) async throws -> [GenerationTask] {
    var bindings = PostgresBindings()
    var conditions: [String] = []
    func add(_ column: String, _ value: some PostgresEncodable & Sendable, comparison: String = "=") throws {
      try bindings.append(value)
      conditions.append("\(column) \(comparison) $\(bindings.count)")
    }
    if let status = filter.status { try add("status", status.rawValue) }
    if let platform = filter.platform { try add("platform", platform) }
    if let user = filter.userID { try add("user_id", user) }
    if let backend = filter.backend { try add("backend", backend) }
    if let template = filter.templateCode { try add("template_code", template) }
    if let code = filter.errorCode { try add("error_code", code) }
    if let after = filter.createdAfter { try add("created_at", after.timeIntervalSince1970, comparison: ">=") }
    if let before = filter.createdBefore { try add("created_at", before.timeIntervalSince1970, comparison: "<") }
    if let cursor {
      bindings.append(cursor.createdAt)
      bindings.append(cursor.id)
      conditions.append("(created_at, id) < ($\(bindings.count - 1), $\(bindings.count))")
    }
    if conditions.isEmpty { conditions.append("TRUE") }
    let binds = bindings
    let sql = """
      SELECT \(PostgresTaskRows.columns) FROM tasks WHERE \(conditions.joined(separator: " AND "))
      ORDER BY created_at DESC, id DESC LIMIT \(limit)
      """
    return try await read { connection in
      try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: Self.quiet).collect()
        .map { try PostgresTaskRows.decode($0.makeRandomAccess()) }
    }
  }

  public func task(id: String) async throws -> GenerationTask? {
    try await read { try await PostgresTaskRows.fetch($0, id: id) }
  }

  public func ledgerEntries(taskID: String) async throws -> [LedgerEntry] {
    try await read { connection in
      var entries: [LedgerEntry] = []
      let rows = try await connection.query(
        "SELECT id, kind, amount, reason, task_id, balance_after, created_at FROM ledger_entries WHERE task_id = \(taskID) ORDER BY id",
        logger: Self.quiet)
      for try await (id, kind, amount, reason, task, after, at) in rows.decode((Int64, String, Int64, String, String?, Int64, Double).self) {
        entries.append(
          LedgerEntry(
            id: id, kind: LedgerKind(rawValue: kind) ?? .adjust, amount: amount, reason: reason, taskID: task,
            balanceAfter: after, createdAt: Date(timeIntervalSince1970: at)))
      }
      return entries
    }
  }

  public func setBackendPause(_ pause: BackendPause?, backend: String, endpoint: String) async throws {
    _ = try await write { tx in
      if let pause {
        try await tx.query(
          """
          INSERT INTO backend_pauses (backend, endpoint, reason, paused_at)
          VALUES (\(backend), \(endpoint), \(pause.reason), \(pause.pausedAt.timeIntervalSince1970))
          ON CONFLICT (backend, endpoint) DO UPDATE SET reason = excluded.reason
          """)
      } else {
        try await tx.query("DELETE FROM backend_pauses WHERE backend = \(backend) AND endpoint = \(endpoint)")
      }
    }
  }

  public func backendPauses() async throws -> [BackendPause] {
    try await read { connection in
      var pauses: [BackendPause] = []
      let rows = try await connection.query(
        "SELECT backend, endpoint, reason, paused_at FROM backend_pauses ORDER BY backend, endpoint", logger: Self.quiet)
      for try await (backend, endpoint, reason, at) in rows.decode((String, String, String, Double).self) {
        pauses.append(BackendPause(backend: backend, endpoint: endpoint, reason: reason, pausedAt: Date(timeIntervalSince1970: at)))
      }
      return pauses
    }
  }

  public func failedWebhookDeliveries(platform: String?, limit: Int) async throws -> [WebhookDeliveryRecord] {
    try await read { try await PostgresWebhookRows.failed($0, platform: platform, limit: limit) }
  }

  public func redeliverWebhook(id: String, platform: String?, now: Date) async throws -> WebhookDeliveryRecord? {
    try await write { tx in try await PostgresWebhookRows.redeliver(tx, id: id, platform: platform, now: now) }
  }

  public func serviceStats(platform: String?, now: Date) async throws -> ServiceStats {
    try await read { connection in
      var stats = ServiceStats()
      let counts = try await connection.query(
        """
        SELECT status, backend, COUNT(*) FROM tasks WHERE \(platform)::TEXT IS NULL OR platform = \(platform)
        GROUP BY status, backend
        """, logger: Self.quiet)
      for try await (status, backend, count) in counts.decode((String, String, Int64).self) {
        if let status = TaskStatus(rawValue: status) { stats.counts.append(.init(status: status, backend: backend, count: count)) }
      }
      let hourAgo = now.addingTimeInterval(-3600).timeIntervalSince1970
      var endings: [(finishedAt: Date, status: TaskStatus)] = []
      var runs: [Int64] = []
      let ended = try await connection.query(
        """
        SELECT status, started_at, finished_at FROM tasks
        WHERE finished_at >= \(hourAgo) AND (\(platform)::TEXT IS NULL OR platform = \(platform))
        """, logger: Self.quiet)
      for try await (status, started, finished) in ended.decode((String, Double?, Double).self) {
        if let status = TaskStatus(rawValue: status) { endings.append((Date(timeIntervalSince1970: finished), status)) }
        if let started { runs.append(Int64((finished - started) * 1000)) }
      }
      stats.minutes = ServiceStats.minutes(endings: endings, now: now)
      var waits: [Int64] = []
      let started = try await connection.query(
        """
        SELECT created_at, started_at FROM tasks
        WHERE started_at >= \(hourAgo) AND (\(platform)::TEXT IS NULL OR platform = \(platform))
        """, logger: Self.quiet)
      for try await (created, start) in started.decode((Double, Double).self) { waits.append(Int64((start - created) * 1000)) }
      stats.queueWaitP50Ms = ServiceStats.percentile(0.5, of: waits)
      stats.queueWaitP95Ms = ServiceStats.percentile(0.95, of: waits)
      stats.runTimeP50Ms = ServiceStats.percentile(0.5, of: runs)
      stats.runTimeP95Ms = ServiceStats.percentile(0.95, of: runs)
      let midnight = ServiceStats.startOfDay(now).timeIntervalSince1970
      let captured = try await connection.query(
        """
        SELECT platform, SUM(amount)::BIGINT FROM ledger_entries
        WHERE kind = 'CAPTURE' AND created_at >= \(midnight) AND (\(platform)::TEXT IS NULL OR platform = \(platform))
        GROUP BY platform
        """, logger: Self.quiet)
      for try await (platform, amount) in captured.decode((String, Int64).self) { stats.capturedToday[platform] = amount }
      return stats
    }
  }
}
