import EaselCore
import Foundation
import GRDB

/// The default store: one SQLite file in WAL mode, opened once. Every method is one transaction;
/// GRDB serialises writes, so credit checks and holds can't interleave.
public struct SQLiteTaskStore: TaskStore {
  let writer: any DatabaseWriter
  let feed: ChangeFeed

  /// Opens (creating if needed) the database at `path` and runs pending migrations. `onChange`
  /// hears every stored task change after its commit, in commit (update log) order.
  public init(path: String, onChange: (@Sendable (GenerationTask) -> Void)? = nil) throws {
    feed = ChangeFeed(onChange)
    var configuration = Configuration()
    configuration.prepareDatabase { db in
      // FULL: a committed hold or capture survives power loss too, not only a process crash.
      try db.execute(sql: "PRAGMA synchronous = FULL")
    }
    writer = try DatabasePool(path: path, configuration: configuration)
    try Schema.migrator.migrate(writer)
  }

  public func createTask(_ new: NewTask, now: Date) async throws -> (task: GenerationTask, created: Bool) {
    try await writer.write { db in
      if let idempotency = new.idempotency,
        let taskID = try Idempotency.previousResult(db, account: new.account, scope: .createTask, key: idempotency)
      {
        guard let task = try TaskRows.fetch(db, id: taskID, account: new.account) else {
          throw EaselError.internalError("the task of idempotency key \(idempotency.key) is missing")
        }
        return (task, false)
      }
      try Credits.account(db, new.account).checkCanHold(new.creditCost)
      try new.checkActiveLimit(active: Credits.activeTasks(db, new.account))
      let task = GenerationTask(new: new, now: now)
      try TaskRows.insert(db, task, feed: feed)
      try Credits.hold(db, task: task, now: now)
      if let idempotency = new.idempotency {
        try Idempotency.record(db, account: new.account, scope: .createTask, key: idempotency, taskID: task.id, now: now)
      }
      return (task, true)
    }
  }

  // The point reads behind GetTask, ListTasks, GetBalance and key checks run inline on the calling
  // thread (GRDB's synchronous read): each takes tens of microseconds in WAL mode, less than the two
  // thread hops of an asynchronous read, which dominated those RPCs (see the README's Performance).
  // One-statement reads skip the explicit transaction: a single SELECT is consistent on its own.

  private func readInline<T>(_ body: (Database) throws -> T) throws -> T {
    try writer.read(body)
  }

  private func readStatementInline<T>(_ body: (Database) throws -> T) throws -> T {
    try writer.unsafeRead(body)
  }

  public func task(id: String, account: Account) async throws -> GenerationTask? {
    let task = try feed.cache.task(id: id) { try readStatementInline { db in try TaskRows.fetch(db, id: id) } }
    return task?.account == account ? task : nil
  }

  public func tasks(of account: Account, status: TaskStatus?, page: PageRequest) async throws -> Page<GenerationTask> {
    try readInline { db in try TaskRows.page(db, account: account, status: status, page: page) }
  }

  public func task(createdWith idempotency: IdempotencyKey, account: Account) async throws -> GenerationTask? {
    try readInline { db in
      guard let taskID = try Idempotency.previousResult(db, account: account, scope: .createTask, key: idempotency)
      else { return nil }
      return try TaskRows.fetch(db, id: taskID, account: account)
    }
  }

  public func cancelTask(id: String, account: Account, now: Date) async throws -> GenerationTask? {
    try await writer.write { db in
      guard var task = try TaskRows.fetch(db, id: id, account: account) else { return nil }
      if task.cancel(now: now) { try save(db, &task, now: now) }
      return task
    }
  }

  public func claimNextTask(lease: Lease, excludingBackends: Set<String>, now: Date) async throws -> GenerationTask? {
    try await writer.write { db in
      guard var task = try TaskRows.oldestDue(db, now: now, excludingBackends: excludingBackends) else { return nil }
      task.claim(now: now)
      try TaskRows.saveChange(db, &task, now: now, feed: feed)
      try TaskRows.setLease(db, id: task.id, lease: lease)
      return task
    }
  }

  public func renewLease(taskID: String, lease: Lease) async throws -> Bool {
    try await writer.write { db in
      try db.execute(
        sql: "UPDATE tasks SET lease_expires_at = ? WHERE id = ? AND status = 'PROCESSING' AND lease_owner = ?",
        arguments: [lease.expires.timeIntervalSince1970, taskID, lease.owner])
      return db.changesCount == 1
    }
  }

  public func updateProgress(taskID: String, progress: Double, now: Date) async throws -> GenerationTask? {
    try await writer.write { db in
      guard var task = try TaskRows.fetch(db, id: taskID), task.status == .processing else { return nil }
      task.report(progress: progress)
      try TaskRows.saveChange(db, &task, now: now, feed: feed)
      return task
    }
  }

  public func finishTask(id: String, owner: String, outcome: TaskOutcome, now: Date) async throws -> GenerationTask? {
    try await writer.write { db in
      guard var task = try TaskRows.fetch(db, id: id), task.status == .processing,
        try TaskRows.isLeased(db, id: id, to: owner)
      else { return nil }
      task.end(outcome, now: now)
      try save(db, &task, now: now)
      return task
    }
  }

  public func retryTask(
    id: String, owner: String, failure: BackendFailure, retryAt: Date, maxAttempts: Int, now: Date
  ) async throws -> GenerationTask? {
    try await writer.write { db in
      guard var task = try TaskRows.fetch(db, id: id), task.status == .processing,
        try TaskRows.isLeased(db, id: id, to: owner)
      else { return nil }
      task.retry(after: failure, maxAttempts: maxAttempts, now: now)
      try save(db, &task, now: now, notBefore: retryAt)
      return task
    }
  }

  public func rescueAbandonedTasks(_ abandoned: AbandonedTasks, maxAttempts: Int, now: Date) async throws -> [GenerationTask] {
    try await writer.write { db in
      var rescued: [GenerationTask] = []
      for var task in try TaskRows.processing(db, abandoned) {
        task.rescue(maxAttempts: maxAttempts, now: now)
        try save(db, &task, now: now)
        rescued.append(task)
      }
      return rescued
    }
  }

  /// Stores a changed task in the caller's transaction. One that left PROCESSING loses its lease
  /// (a requeued one is due at `notBefore`); one that ended settles its hold.
  private func save(_ db: Database, _ task: inout GenerationTask, now: Date, notBefore: Date? = nil) throws {
    try TaskRows.saveChange(db, &task, now: now, feed: feed)
    guard task.status != .processing else { return }
    try TaskRows.setLease(db, id: task.id, lease: nil, notBefore: notBefore)
    if task.status.isTerminal { try Credits.settle(db, task: task, now: now) }
  }

  public func balance(of account: Account) async throws -> CreditBalance {
    try readStatementInline { db in try Credits.account(db, account) }
  }

  public func changeCredits(
    of account: Account, by amount: Int64, kind: LedgerKind, reason: String, idempotency: IdempotencyKey?, now: Date
  ) async throws -> CreditBalance {
    try await writer.write { db in
      if let idempotency, try Idempotency.previousResult(db, account: account, scope: .credits, key: idempotency) != nil {
        return try Credits.account(db, account)
      }
      let balance = try Credits.change(db, account: account, by: amount, kind: kind, reason: reason, now: now)
      if let idempotency {
        try Idempotency.record(db, account: account, scope: .credits, key: idempotency, taskID: nil, now: now)
      }
      return balance
    }
  }

  public func registerTemplates(_ templates: [Template], now: Date) async throws {
    try await writer.write { db in try TemplateVersions.register(db, templates, now: now) }
  }

  public func storedTemplate(code: String, version: String) async throws -> Template? {
    try await writer.read { db in try TemplateVersions.fetch(db, code: code, version: version) }
  }

  public func purgeTasks(finishedBefore cutoff: Date) async throws -> (tasks: Int, artifactKeys: [String]) {
    try await writer.write { db in
      let filter = "status IN ('COMPLETED', 'FAILED', 'CANCELED') AND finished_at < ?"
      let arguments: StatementArguments = [cutoff.timeIntervalSince1970]
      let rows = try Row.fetchAll(
        db, sql: "SELECT id, input_key, output_key, thumbnail_key FROM tasks WHERE \(filter)", arguments: arguments)
      let keys = rows.flatMap { row in ["input_key", "output_key", "thumbnail_key"].compactMap { row[$0] as String? } }
      let owned = "SELECT id FROM tasks WHERE \(filter)"
      try db.execute(sql: "DELETE FROM credit_holds WHERE task_id IN (\(owned))", arguments: arguments)
      try db.execute(sql: "DELETE FROM idempotency_keys WHERE task_id IN (\(owned))", arguments: arguments)
      try db.execute(sql: "DELETE FROM task_updates WHERE task_id IN (\(owned))", arguments: arguments)
      try db.execute(
        sql: "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE task_id IN (\(owned)))",
        arguments: arguments)
      try db.execute(sql: "DELETE FROM webhook_deliveries WHERE task_id IN (\(owned))", arguments: arguments)
      try db.execute(sql: "DELETE FROM tasks WHERE \(filter)", arguments: arguments)
      db.afterNextTransaction(onCommit: { [feed] _ in feed.cache.invalidate(nil) })
      return (rows.count, keys)
    }
  }

  public func purgeableTasks(finishedBefore cutoff: Date) async throws -> (tasks: Int, artifacts: Int) {
    try await writer.read { db in
      let row = try Row.fetchOne(
        db,
        sql: """
          SELECT COUNT(*) AS tasks, COUNT(input_key) + COUNT(output_key) + COUNT(thumbnail_key) AS artifacts
          FROM tasks WHERE status IN ('COMPLETED', 'FAILED', 'CANCELED') AND finished_at < ?
          """,
        arguments: [cutoff.timeIntervalSince1970])
      return (row?["tasks"] ?? 0, row?["artifacts"] ?? 0)
    }
  }

  public func createAPIKey(_ record: APIKeyRecord, secretHash: String) async throws {
    try await writer.write { db in try APIKeys.insert(db, record, secretHash: secretHash) }
  }

  public func apiKey(secretHash: String) async throws -> APIKeyRecord? {
    try readStatementInline { db in try APIKeys.fetch(db, secretHash: secretHash) }
  }

  public func apiKeys() async throws -> [APIKeyRecord] {
    try await writer.read { db in try APIKeys.all(db) }
  }

  public func revokeAPIKey(id: String, now: Date) async throws -> Bool {
    try await writer.write { db in try APIKeys.revoke(db, id: id, now: now) }
  }

  public func auditCredits() async throws -> [String] {
    try await writer.read { db in try CreditAudit.run(db) }
  }

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

  public func ping() async throws {
    _ = try await writer.read { db in try Int.fetchOne(db, cached: "SELECT 1") }
  }

  public func statistics() async throws -> StoreStatistics {
    try await writer.read { db in
      let counts = try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM tasks GROUP BY status")
      let held = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(held), 0) FROM credit_accounts") ?? 0
      var byStatus: [TaskStatus: Int] = [:]
      for row in counts {
        if let status = TaskStatus(rawValue: row["status"]) { byStatus[status] = row["n"] }
      }
      return StoreStatistics(tasksByStatus: byStatus, creditsHeld: held)
    }
  }

  public func ledger(of account: Account, page: PageRequest) async throws -> Page<LedgerEntry> {
    try await writer.read { db in try Credits.ledger(db, account: account, page: page) }
  }
}
