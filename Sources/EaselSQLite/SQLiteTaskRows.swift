import EaselCore
import Foundation
import GRDB

/// Reading and writing task rows and their event log. Called only inside a store transaction.
enum TaskRows {
  static func insert(_ db: Database, _ task: GenerationTask, feed: ChangeFeed) throws {
    try db.run(
      literal: """
        INSERT INTO tasks (id, platform, user_id, kind, status, prompt, parameters, template_code, template_name,
          template_version, template_category, backend, backend_options, credit_cost, timeout_ms, input_key, sequence,
          created_at, updated_at, webhook, priority, queue_rank, start_by, queue_level, queue_level_since)
        VALUES (\(task.id), \(task.account.platform), \(task.account.userID), \(task.kind.rawValue), \(task.status.rawValue), \(task.prompt), \(try StoredJSON.string(task.parameters)), \(task.template.code), \(task.template.name), \(task.template.version), \(task.template.category), \(task.backend), \(try StoredJSON.string(task.backendOptions)), \(task.creditCost), \(task.timeoutMs), \(task.inputImageKey), \(task.sequence), \(task.createdAt.timeIntervalSince1970), \(task.updatedAt.timeIntervalSince1970), \(try task.webhook.map(StoredJSON.string)), \(task.priority), \(task.queueRank), \(task.startBy?.timeIntervalSince1970), \(task.priority), \(task.createdAt.timeIntervalSince1970))
        """)
    var logged = task
    try appendUpdate(db, &logged, feed: feed)
  }

  /// Stores the task's mutable fields under the next sequence number and logs the change.
  static func saveChange(_ db: Database, _ task: inout GenerationTask, now: Date, feed: ChangeFeed) throws {
    task.sequence += 1
    task.updatedAt = now
    try db.run(
      literal: """
        UPDATE tasks SET status = \(task.status.rawValue), progress = \(task.progress), output_key = \(task.output?.key), output_content_type = \(task.output?.contentType), thumbnail_key = \(task.thumbnail?.key),
          processing_time_ms = \(task.processingTimeMs), error_code = \(task.errorCode), error_message = \(task.errorMessage), attempts = \(task.attempts), sequence = \(task.sequence), updated_at = \(now.timeIntervalSince1970),
          started_at = \(task.startedAt?.timeIntervalSince1970), finished_at = \(task.finishedAt?.timeIntervalSince1970), cancel_requested_at = \(task.cancelRequestedAt?.timeIntervalSince1970),
          preview_key = \(task.preview?.key), preview_step = \(task.previewStep)
        WHERE id = \(task.id)
        """)
    try appendUpdate(db, &task, feed: feed)
  }

  /// Logs the task's new state in the update log (which subscribers replay from) and tells the
  /// feed once the transaction commits. Writes are serialised, so log order is commit order.
  private static func appendUpdate(_ db: Database, _ task: inout GenerationTask, feed: ChangeFeed) throws {
    try db.run(
      literal: """
        INSERT INTO task_updates (task_id, platform, user_id, sequence, snapshot, created_at) VALUES (\(task.id), \(task.account.platform), \(task.account.userID), \(task.sequence), \(try StoredJSON.string(task)), \(task.updatedAt.timeIntervalSince1970))
        """)
    task.updateID = db.lastInsertedRowID
    try db.run(literal: "UPDATE tasks SET update_id = \(task.updateID) WHERE id = \(task.id)")
    try WebhookRows.enqueue(db, for: task)
    let committed = task
    db.afterNextTransaction(onCommit: { _ in feed.committed(committed) })
  }

  /// Logged states after `updateID`, oldest first: of one account, or of a whole platform.
  static func updates(_ db: Database, after updateID: Int64, scope: UpdateScope, limit: Int) throws -> [GenerationTask] {
    try Row.fetchAll(
      db, cached: "SELECT id, snapshot FROM task_updates WHERE \(owner(scope)) AND id > \(updateID) ORDER BY id LIMIT \(limit)"
    ).map(snapshot)
  }

  /// Logged states of one task after `sequence`, in order.
  static func updates(_ db: Database, taskID: String, afterSequence sequence: UInt64) throws -> [GenerationTask] {
    try Row.fetchAll(
      db, cached: "SELECT id, snapshot FROM task_updates WHERE task_id = \(taskID) AND sequence > \(sequence) ORDER BY sequence"
    ).map(snapshot)
  }

  private static func snapshot(_ row: Row) throws -> GenerationTask {
    var task = try StoredJSON.decode(GenerationTask.self, row["snapshot"] as String)
    task.updateID = row["id"]
    return task
  }

  /// The task, if it exists and (when `account` is given) belongs to that account.
  static func fetch(_ db: Database, id: String, account: Account? = nil) throws -> GenerationTask? {
    guard let task = try Row.withFirst(db, cached: "SELECT * FROM tasks WHERE id = \(id)", decode) else {
      return nil
    }
    if let account, task.account != account { return nil }
    return task
  }

  /// A level's virtual time (FairQueue), as SQL.
  static func clock(level: Int) -> SQL {
    "(SELECT base + (dispatches - base_dispatch) * \(FairQueue.clockStepPerDispatch) FROM queue_clock WHERE level = \(level))"
  }

  /// The queue rank of a new task of `account` at `priority` (FairQueue), its key's turn taken in
  /// the same transaction.
  static func enqueue(_ db: Database, account: Account, priority: Int, weight: Double) throws -> Double {
    let step = 1 / weight
    let row = try Row.fetchOne(
      db,
      cached: """
        INSERT INTO queue_keys (platform, user_id, priority, finish)
        VALUES (\(account.platform), \(account.userID), \(priority), \(clock(level: priority)) + \(step))
        ON CONFLICT (platform, user_id, priority) DO UPDATE SET finish = max(finish, excluded.finish - \(step)) + \(step)
        RETURNING finish
        """)
    let finish: Double = row?["finish"] ?? step
    return finish - step
  }

  /// A dispatch at `level` moves that level's virtual time on.
  static func countDispatch(_ db: Database, of task: GenerationTask, level: Int) throws {
    let start = task.queueRank
    let passes: SQL = "\(start) > base + (dispatches + 1 - base_dispatch) * \(FairQueue.clockStepPerDispatch)"
    try db.run(
      literal: """
        UPDATE queue_clock SET dispatches = dispatches + 1,
          base = CASE WHEN \(passes) THEN \(start) ELSE base END,
          base_dispatch = CASE WHEN \(passes) THEN dispatches + 1 ELSE base_dispatch END
        WHERE level = \(level)
        """)
  }

  /// The first due PENDING task in queue order among `backends` (nil: any), and its level: each
  /// backend's head from its own index range, then the first of those.
  static func nextDue(_ db: Database, now: Date, among backends: Set<String>?) throws -> (GenerationTask, level: Int)? {
    let due: SQL = """
      status = 'PENDING' AND (not_before IS NULL OR not_before <= \(now.timeIntervalSince1970))
        AND (start_by IS NULL OR start_by >= \(now.timeIntervalSince1970))
      """
    let order: SQL = "ORDER BY queue_level DESC, queue_rank, created_at LIMIT 1"
    let row: Row?
    if let backends {
      let heads = backends.sorted().map { backend -> SQL in
        "SELECT * FROM (SELECT * FROM tasks WHERE \(due) AND backend = \(backend) \(order))"
      }
      guard !heads.isEmpty else { return nil }
      row = try Row.fetchOne(db, cached: "SELECT * FROM (\(heads.joined(separator: " UNION ALL "))) \(order)")
    } else {
      row = try Row.fetchOne(db, cached: "SELECT * FROM tasks WHERE \(due) \(order)")
    }
    return try row.map { (try decode($0), $0["queue_level"]) }
  }

  /// PENDING tasks of `backend` dispatched before one at `place`, up to `limit`: those of higher
  /// levels, then those of its level ahead of it, each an index range.
  static func countAhead(_ db: Database, backend: String, of place: QueuePlace, limit: Int) throws -> Int {
    try Int.fetchOne(
      db,
      cached: """
        SELECT COUNT(*) FROM (
          SELECT 1 FROM tasks INDEXED BY tasks_backend_queue
          WHERE status = 'PENDING' AND backend = \(backend) AND queue_level > \(place.level)
          UNION ALL
          SELECT 1 FROM tasks INDEXED BY tasks_backend_queue
          WHERE status = 'PENDING' AND backend = \(backend) AND queue_level = \(place.level)
            AND (queue_rank, created_at) < (\(place.rank), \(place.createdAt.timeIntervalSince1970))
          LIMIT \(limit))
        """) ?? 0
  }

  /// Raises up to `limit` PENDING tasks of `level` that have waited `aging` there by one level,
  /// each joining the next level at its current turn; how many rose.
  static func age(_ db: Database, level: Int, aging: TimeInterval, now: Date, limit: Int) throws -> Int {
    try db.run(
      literal: """
        UPDATE tasks SET queue_level = \(level + 1), queue_level_since = queue_level_since + \(aging),
          queue_rank = \(clock(level: level + 1))
        WHERE id IN (
          SELECT id FROM tasks INDEXED BY tasks_aging
          WHERE status = 'PENDING' AND queue_level = \(level) AND queue_level_since <= \(now.timeIntervalSince1970 - aging)
          LIMIT \(limit))
        """)
    return db.changesCount
  }

  /// PENDING tasks whose start deadline passed, oldest deadline first.
  static func overdue(_ db: Database, now: Date, limit: Int) throws -> [GenerationTask] {
    try Row.fetchAll(
      db,
      cached: """
        SELECT * FROM tasks WHERE status = 'PENDING' AND start_by IS NOT NULL AND start_by < \(now.timeIntervalSince1970)
        ORDER BY start_by LIMIT \(limit)
        """
    ).map(decode)
  }

  static func processing(_ db: Database, _ abandoned: AbandonedTasks) throws -> [GenerationTask] {
    switch abandoned {
    case .all:
      return try Row.fetchAll(db, cached: "SELECT * FROM tasks WHERE status = 'PROCESSING'").map(decode)
    case .expired(let before, let owner):
      return try Row.fetchAll(
        db, cached: "SELECT * FROM tasks WHERE status = 'PROCESSING' AND (lease_expires_at < \(before.timeIntervalSince1970) OR lease_owner = \(owner))"
      ).map(decode)
    }
  }

  /// PENDING and PROCESSING tasks of an account or platform, oldest first.
  static func active(_ db: Database, scope: UpdateScope) throws -> [GenerationTask] {
    try Row.fetchAll(
      db, cached: "SELECT * FROM tasks WHERE \(owner(scope)) AND status IN ('PENDING', 'PROCESSING') ORDER BY created_at, rowid"
    ).map(decode)
  }

  /// The rows of an account, or of a whole platform.
  private static func owner(_ scope: UpdateScope) -> SQL {
    switch scope {
    case .account(let account): "platform = \(account.platform) AND user_id = \(account.userID)"
    case .platform(let platform): "platform = \(platform)"
    }
  }

  /// Whether `owner` holds the task's lease.
  static func isLeased(_ db: Database, id: String, to owner: String) throws -> Bool {
    try String.fetchOne(db, cached: "SELECT lease_owner FROM tasks WHERE id = \(id)") == owner
  }

  static func setLease(_ db: Database, id: String, lease: Lease?, notBefore: Date? = nil) throws {
    try db.run(
      literal: "UPDATE tasks SET lease_owner = \(lease?.owner), lease_expires_at = \(lease?.expires.timeIntervalSince1970), not_before = \(notBefore?.timeIntervalSince1970) WHERE id = \(id)")
  }

  static func page(_ db: Database, account: Account, status: TaskStatus?, page: PageRequest) throws -> Page<GenerationTask> {
    var filter = owner(.account(account))
    if let status { filter += " AND status = \(status.rawValue)" }
    let total = try Int64.fetchOne(db, cached: "SELECT COUNT(*) FROM tasks WHERE \(filter)") ?? 0
    let rows = try Row.fetchAll(
      db, cached: "SELECT * FROM tasks WHERE \(filter) ORDER BY created_at DESC, rowid DESC LIMIT \(page.limit) OFFSET \(page.offset)")
    return Page(items: try rows.map(decode), total: total, request: page)
  }

  private static func decode(_ row: Row) throws -> GenerationTask {
    let parameters = try DecodedParameters.shared.decode(row["parameters"])
    let backendOptions = try DecodedParameters.shared.decode(row["backend_options"])
    let outputKey: String? = row["output_key"]
    let thumbnailKey: String? = row["thumbnail_key"]
    return GenerationTask(
      id: row["id"],
      account: try Account(platform: row["platform"], userID: row["user_id"]),
      kind: GenerationKind(rawValue: row["kind"]) ?? .image,
      status: TaskStatus(rawValue: row["status"]) ?? .failed,
      prompt: row["prompt"],
      parameters: parameters,
      template: TemplateRef(
        code: row["template_code"], name: row["template_name"], version: row["template_version"],
        category: row["template_category"]),
      backend: row["backend"],
      backendOptions: backendOptions,
      creditCost: row["credit_cost"],
      timeoutMs: row["timeout_ms"],
      progress: row["progress"],
      inputImageKey: row["input_key"],
      output: outputKey.map { Artifact(key: $0, contentType: row["output_content_type"] ?? "application/octet-stream") },
      thumbnail: thumbnailKey.map { Artifact(key: $0, contentType: "image/jpeg") },
      processingTimeMs: row["processing_time_ms"],
      errorCode: row["error_code"],
      errorMessage: row["error_message"],
      attempts: row["attempts"],
      sequence: row["sequence"],
      createdAt: date(row["created_at"])!,
      updatedAt: date(row["updated_at"])!,
      startedAt: date(row["started_at"]),
      finishedAt: date(row["finished_at"]),
      updateID: row["update_id"],
      webhook: try (row["webhook"] as String?).map { try StoredJSON.decode(WebhookRequest.self, $0) },
      cancelRequestedAt: date(row["cancel_requested_at"]),
      preview: (row["preview_key"] as String?).map { Artifact(key: $0, contentType: "image/jpeg") },
      previewStep: row["preview_step"], priority: row["priority"], queueRank: row["queue_rank"],
      startBy: date(row["start_by"]))
  }

  private static func date(_ seconds: Double?) -> Date? {
    seconds.map(Date.init(timeIntervalSince1970:))
  }
}
