import EaselCore
import Foundation
import PostgresNIO

extension PostgresTaskStore {
  public func createTask(_ new: NewTask, now: Date) async throws -> (task: GenerationTask, created: Bool) {
    try await write { tx in
      // The account's row lock orders this against every other change to the account, on any node.
      let account = try await PostgresCredits.lock(tx, new.account)
      if let idempotency = new.idempotency,
        let taskID = try await PostgresIdempotency.previousResult(tx, account: new.account, scope: .createTask, key: idempotency)
      {
        guard let task = try await PostgresTaskRows.fetch(tx.connection, id: taskID, account: new.account) else {
          throw EaselError.internalError("the task of idempotency key \(idempotency.key) is missing")
        }
        return (task, false)
      }
      try account.balance.checkCanHold(new.creditCost)
      try new.checkActiveLimit(active: account.activeTasks)
      let task = GenerationTask(new: new, now: now)
      try await PostgresTaskRows.insert(tx, task)
      try await PostgresCredits.hold(tx, task: task, on: account.balance, now: now)
      if let idempotency = new.idempotency {
        try await PostgresIdempotency.record(
          tx, account: new.account, scope: .createTask, key: idempotency, taskID: task.id, now: now)
      }
      return (task, true)
    }
  }

  public func task(id: String, account: Account) async throws -> GenerationTask? {
    try await read { try await PostgresTaskRows.fetch($0, id: id, account: account) }
  }

  public func tasks(of account: Account, status: TaskStatus?, page: PageRequest) async throws -> Page<GenerationTask> {
    try await read { try await PostgresTaskRows.page($0, account: account, status: status, page: page) }
  }

  public func task(createdWith idempotency: IdempotencyKey, account: Account) async throws -> GenerationTask? {
    try await read { connection in
      guard
        let taskID = try await PostgresIdempotency.previousResult(
          connection, account: account, scope: .createTask, key: idempotency)
      else { return nil }
      return try await PostgresTaskRows.fetch(connection, id: taskID, account: account)
    }
  }

  public func cancelTask(id: String, account: Account, now: Date) async throws -> GenerationTask? {
    try await write { tx in
      guard var task = try await PostgresTaskRows.fetch(tx.connection, id: id, account: account, forUpdate: true)
      else { return nil }
      if task.cancel(now: now) { try await self.save(tx, &task, now: now) }
      return task
    }
  }

  public func claimNextTask(lease: Lease, excludingBackends: Set<String>, now: Date) async throws -> GenerationTask? {
    try await write { tx in
      guard var task = try await PostgresTaskRows.claimOldestDue(tx, now: now, excludingBackends: excludingBackends)
      else { return nil }
      task.claim(now: now)
      try await PostgresTaskRows.saveChange(tx, &task, now: now)
      try await PostgresTaskRows.setLease(tx, id: task.id, lease: lease)
      return task
    }
  }

  public func renewLease(taskID: String, lease: Lease) async throws -> Bool {
    try await write { tx in
      try await tx.query(
        """
        UPDATE tasks SET lease_expires_at = \(lease.expires.timeIntervalSince1970)
        WHERE id = \(taskID) AND status = 'PROCESSING' AND lease_owner = \(lease.owner) RETURNING id
        """
      ).count == 1
    }
  }

  public func updateProgress(taskID: String, progress: Double, now: Date) async throws -> GenerationTask? {
    try await write { tx in
      guard var task = try await PostgresTaskRows.fetch(tx.connection, id: taskID, forUpdate: true),
        task.status == .processing
      else { return nil }
      task.report(progress: progress)
      try await PostgresTaskRows.saveChange(tx, &task, now: now)
      return task
    }
  }

  public func finishTask(id: String, owner: String, outcome: TaskOutcome, now: Date) async throws -> GenerationTask? {
    try await write { tx in
      guard var task = try await PostgresTaskRows.leased(tx, id: id, to: owner) else { return nil }
      task.end(outcome, now: now)
      try await self.save(tx, &task, now: now)
      return task
    }
  }

  public func retryTask(
    id: String, owner: String, failure: BackendFailure, retryAt: Date, maxAttempts: Int, now: Date
  ) async throws -> GenerationTask? {
    try await write { tx in
      guard var task = try await PostgresTaskRows.leased(tx, id: id, to: owner) else { return nil }
      task.retry(after: failure, maxAttempts: maxAttempts, now: now)
      try await self.save(tx, &task, now: now, notBefore: retryAt)
      return task
    }
  }

  public func rescueAbandonedTasks(_ abandoned: AbandonedTasks, maxAttempts: Int, now: Date) async throws -> [GenerationTask] {
    try await write { tx in
      var rescued: [GenerationTask] = []
      for var task in try await PostgresTaskRows.processing(tx, abandoned) {
        task.rescue(maxAttempts: maxAttempts, now: now)
        try await self.save(tx, &task, now: now)
        rescued.append(task)
      }
      return rescued
    }
  }

  /// Stores a changed task. One that left PROCESSING loses its lease (a requeued one is due at
  /// `notBefore`); one that ended settles its hold.
  private func save(_ tx: PostgresTransaction, _ task: inout GenerationTask, now: Date, notBefore: Date? = nil)
    async throws
  {
    if task.status.isTerminal { try await PostgresCredits.settle(tx, task: task, now: now) }
    try await PostgresTaskRows.saveChange(tx, &task, now: now)
    guard task.status != .processing else { return }
    try await PostgresTaskRows.setLease(tx, id: task.id, lease: nil, notBefore: notBefore)
  }

  public func balance(of account: Account) async throws -> CreditBalance {
    try await read { try await PostgresCredits.account($0, account) }
  }

  public func changeCredits(
    of account: Account, by amount: Int64, kind: LedgerKind, reason: String, idempotency: IdempotencyKey?, now: Date
  ) async throws -> CreditBalance {
    try await write { tx in
      let locked = try await PostgresCredits.lock(tx, account)
      if let idempotency,
        try await PostgresIdempotency.previousResult(tx, account: account, scope: .credits, key: idempotency) != nil
      {
        return locked.balance
      }
      let balance = try await PostgresCredits.change(tx, account: account, by: amount, kind: kind, reason: reason, now: now)
      if let idempotency {
        try await PostgresIdempotency.record(tx, account: account, scope: .credits, key: idempotency, taskID: nil, now: now)
      }
      return balance
    }
  }

  public func ledger(of account: Account, page: PageRequest) async throws -> Page<LedgerEntry> {
    try await read { try await PostgresCredits.ledger($0, account: account, page: page) }
  }

  public func registerTemplates(_ templates: [Template], now: Date) async throws {
    try await write { tx in
      for template in templates {
        let definition = try StoredJSON.string(template)
        // Nodes starting together insert the same rows: the first wins, the rest compare.
        try await tx.query(
          """
          INSERT INTO template_versions (code, version, definition, created_at)
          VALUES (\(template.code), \(template.version), \(definition), \(now.timeIntervalSince1970))
          ON CONFLICT (code, version) DO NOTHING
          """)
        let stored = try await tx.query(
          "SELECT definition FROM template_versions WHERE code = \(template.code) AND version = \(template.version)")
        guard try stored.first?["definition"].decode(String.self) == definition else {
          throw EaselError.failedPrecondition(
            "template \(template.code) version \(template.version) was changed without a new version number; "
              + "give the changed template a new `version`")
        }
      }
    }
  }

  public func storedTemplate(code: String, version: String) async throws -> Template? {
    try await read { connection in
      let rows = try await connection.query(
        "SELECT definition FROM template_versions WHERE code = \(code) AND version = \(version)", logger: Self.quiet)
      for try await definition in rows.decode(String.self) { return try StoredJSON.decode(Template.self, definition) }
      return nil
    }
  }

  public func purgeTasks(finishedBefore cutoff: Date) async throws -> (tasks: Int, artifactKeys: [String]) {
    try await write { tx in
      let deleted = try await tx.query(
        """
        WITH doomed AS (
          SELECT id FROM tasks WHERE status IN ('COMPLETED', 'FAILED', 'CANCELED') AND finished_at < \(cutoff.timeIntervalSince1970)
          FOR UPDATE),
        holds AS (DELETE FROM credit_holds WHERE task_id IN (SELECT id FROM doomed)),
        keys AS (DELETE FROM idempotency_keys WHERE task_id IN (SELECT id FROM doomed))
        DELETE FROM tasks WHERE id IN (SELECT id FROM doomed) RETURNING input_key, output_key, thumbnail_key
        """)
      let keys = try deleted.flatMap { row in
        try ["input_key", "output_key", "thumbnail_key"].compactMap { try row[$0].decode(String?.self) }
      }
      return (deleted.count, keys)
    }
  }

  public func purgeableTasks(finishedBefore cutoff: Date) async throws -> (tasks: Int, artifacts: Int) {
    try await read { connection in
      let rows = try await connection.query(
        """
        SELECT COUNT(*), COUNT(input_key) + COUNT(output_key) + COUNT(thumbnail_key) FROM tasks
        WHERE status IN ('COMPLETED', 'FAILED', 'CANCELED') AND finished_at < \(cutoff.timeIntervalSince1970)
        """, logger: Self.quiet
      ).decode((Int64, Int64).self)
      for try await (tasks, artifacts) in rows { return (Int(tasks), Int(artifacts)) }
      return (0, 0)
    }
  }

  public func createAPIKey(_ record: APIKeyRecord, secretHash: String) async throws {
    _ = try await write { tx in
      try await tx.query(
        """
        INSERT INTO api_keys (id, secret_hash, platform, scope, name, created_at)
        VALUES (\(record.id), \(secretHash), \(record.platform), \(record.scope.rawValue), \(record.name),
          \(record.createdAt.timeIntervalSince1970))
        """)
    }
  }

  public func apiKey(secretHash: String) async throws -> APIKeyRecord? {
    try await read { connection in
      try await Self.apiKeys(connection, "SELECT * FROM api_keys WHERE secret_hash = \(secretHash)").first
    }
  }

  public func apiKeys() async throws -> [APIKeyRecord] {
    try await read { try await Self.apiKeys($0, "SELECT * FROM api_keys ORDER BY created_at, id") }
  }

  private static func apiKeys(_ connection: PostgresConnection, _ query: PostgresQuery) async throws -> [APIKeyRecord] {
    try await connection.query(query, logger: quiet).collect().map { row in
      let row = row.makeRandomAccess()
      return APIKeyRecord(
        id: try row["id"].decode(String.self), platform: try row["platform"].decode(String.self),
        scope: Caller.Scope(rawValue: try row["scope"].decode(String.self)) ?? .subscribe,
        name: try row["name"].decode(String.self),
        createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)),
        revokedAt: try row["revoked_at"].decode(Double?.self).map(Date.init(timeIntervalSince1970:)))
    }
  }

  public func revokeAPIKey(id: String, now: Date) async throws -> Bool {
    try await write { tx in
      try await tx.query(
        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, \(now.timeIntervalSince1970)) WHERE id = \(id) RETURNING id"
      ).count == 1
    }
  }

  public func auditCredits() async throws -> [String] {
    try await read { try await PostgresCreditAudit.run($0) }
  }

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

extension PostgresTaskStore: WebhookStore {
  public func webhookSecret(platform: String, rotate: Bool, now: Date) async throws -> String {
    try await write { tx in try await PostgresWebhookRows.secret(tx, platform: platform, rotate: rotate, now: now) }
  }

  public func claimDueWebhookDeliveries(limit: Int, lock: Duration, now: Date) async throws -> [WebhookDelivery] {
    try await write { tx in try await PostgresWebhookRows.claimDue(tx, limit: limit, lock: lock, now: now) }
  }

  public func recordWebhookAttempt(deliveryID: String, attempt: WebhookAttempt, retryAt: Date?) async throws {
    try await write { tx in
      try await PostgresWebhookRows.record(tx, deliveryID: deliveryID, attempt: attempt, retryAt: retryAt)
    }
  }

  public func webhookDeliveries(taskID: String) async throws
    -> [(delivery: WebhookDelivery, state: WebhookDeliveryState, attempts: [WebhookAttempt])]
  {
    try await read { try await PostgresWebhookRows.history($0, taskID: taskID) }
  }
}
