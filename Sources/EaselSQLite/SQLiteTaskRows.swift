import EaselCore
import Foundation
import GRDB

/// Reading and writing task rows and their event log. Called only inside a store transaction.
enum TaskRows {
  /// Inserts a new task. What its template definition says is left out of the row when it can be
  /// put back exactly (`Template.ownParameters`); the row names the definition by its digest.
  static func insert(_ db: Database, _ task: GenerationTask, template: Template, feed: ChangeFeed) throws {
    let own = template.ownParameters(of: task)
    let digest = try own.map { _ in try TemplateDefinitions.store(db, template) }
    let compacted = own != nil
    try db.run(
      literal: """
        INSERT INTO tasks (id, platform, user_id, kind, status, prompt, parameters, template_code, template_name,
          template_version, template_category, backend, backend_options, credit_cost, timeout_ms, input_key, sequence,
          created_at, updated_at, webhook, priority, queue_rank, start_by, retention_ms, num_outputs, batch_id, trace_parent, retry_of, template_digest)
        VALUES (\(task.id), \(task.account.platform), \(task.account.userID), \(task.kind.rawValue), \(task.status.rawValue), \(task.prompt), \(try StoredJSON.string(own ?? task.parameters)), \(task.template.code), \(compacted ? "" : task.template.name), \(task.template.version), \(compacted ? "" : task.template.category), \(task.backend), \(compacted ? "" : try StoredJSON.string(task.backendOptions)), \(task.creditCost), \(task.timeoutMs), \(stored(task.inputImageKey, .input, of: task)), \(task.sequence), \(task.createdAt.timeIntervalSince1970), \(task.updatedAt.timeIntervalSince1970), \(try task.webhook.map(StoredJSON.string)), \(task.priority), \(task.queueRank), \(task.startBy?.timeIntervalSince1970), \(task.retentionMs), \(task.numOutputs), \(task.batchID), \(task.traceParent), \(task.retryOf), \(digest))
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
        UPDATE tasks SET status = \(task.status.rawValue), progress = \(task.progress), output_key = \(stored(task.output, .output, of: task)), output_content_type = \(task.output?.contentType), thumbnail_key = \(stored(task.thumbnail, .thumbnail, of: task)),
          processing_time_ms = \(task.processingTimeMs), error_code = \(task.errorCode), error_message = \(task.errorMessage), attempts = \(task.attempts), sequence = \(task.sequence), updated_at = \(now.timeIntervalSince1970),
          started_at = \(task.startedAt?.timeIntervalSince1970), finished_at = \(task.finishedAt?.timeIntervalSince1970), cancel_requested_at = \(task.cancelRequestedAt?.timeIntervalSince1970),
          preview_key = \(task.preview?.key), preview_step = \(task.previewStep), expires_at = \(task.expiresAt?.timeIntervalSince1970),
          pinned_at = \(task.pinnedAt?.timeIntervalSince1970), artifacts_expired_at = \(task.artifactsExpiredAt?.timeIntervalSince1970),
          outputs = \(try StoredJSON.outputs(task.outputs)), output_count = \(task.outputs.count)
        WHERE id = \(task.id)
        """)
    try appendUpdate(db, &task, feed: feed)
  }

  /// Logs the task's new state in the update log (which subscribers replay from) and tells the
  /// feed once the transaction commits. Writes are serialised, so log order is commit order.
  private static func appendUpdate(_ db: Database, _ task: inout GenerationTask, feed: ChangeFeed) throws {
    try db.run(
      literal: """
        INSERT INTO task_updates (task_id, platform, user_id, sequence, snapshot, created_at) VALUES (\(task.id), \(task.account.platform), \(task.account.userID), \(task.sequence), \(try StoredJSON.string(LoggedTaskState(of: task))), \(task.updatedAt.timeIntervalSince1970))
        """)
    task.updateID = db.lastInsertedRowID
    try db.run(literal: "UPDATE tasks SET update_id = \(task.updateID) WHERE id = \(task.id)")
    try WebhookRows.enqueue(db, for: task)
    feed.stage(task, in: db)
  }

  /// Logged states after `updateID`, oldest first: of one account, or of a whole platform.
  static func updates(_ db: Database, after updateID: Int64, scope: UpdateScope, limit: Int) throws -> [GenerationTask] {
    try Row.fetchAll(
      db,
      cached: """
        SELECT t.*, u.id AS logged_id, u.snapshot AS logged_state FROM task_updates u JOIN tasks t ON t.id = u.task_id
        WHERE \(owner(scope, of: "u")) AND u.id > \(updateID) ORDER BY u.id LIMIT \(limit)
        """
    ).map { try loggedState($0, in: db) }
  }

  /// Logged states of one task after `sequence`, in order.
  static func updates(_ db: Database, taskID: String, afterSequence sequence: UInt64) throws -> [GenerationTask] {
    try Row.fetchAll(
      db,
      cached: """
        SELECT t.*, u.id AS logged_id, u.snapshot AS logged_state FROM task_updates u JOIN tasks t ON t.id = u.task_id
        WHERE u.task_id = \(taskID) AND u.sequence > \(sequence) ORDER BY u.sequence
        """
    ).map { try loggedState($0, in: db) }
  }

  /// A task's row with a logged state's changing fields over it, at that state's place in the log.
  private static func loggedState(_ row: Row, in db: Database) throws -> GenerationTask {
    try LoggedTaskState.task(row["logged_state"], over: decode(row, in: db), position: row["logged_id"])
  }

  /// The task, if it exists and (when `account` is given) belongs to that account.
  static func fetch(_ db: Database, id: String, account: Account? = nil) throws -> GenerationTask? {
    guard let task = try Row.withFirst(db, cached: "SELECT * FROM tasks WHERE id = \(id)", { try decode($0, in: db) }) else {
      return nil
    }
    if let account, task.account != account { return nil }
    return task
  }

  /// PENDING tasks whose start deadline passed, oldest deadline first.
  static func overdue(_ db: Database, now: Date, limit: Int) throws -> [GenerationTask] {
    try Row.fetchAll(
      db,
      cached: """
        SELECT * FROM tasks WHERE status = 'PENDING' AND start_by IS NOT NULL AND start_by < \(now.timeIntervalSince1970)
        ORDER BY start_by LIMIT \(limit)
        """
    ).map { try decode($0, in: db) }
  }

  static func processing(_ db: Database, _ abandoned: AbandonedTasks) throws -> [GenerationTask] {
    switch abandoned {
    case .all:
      return try Row.fetchAll(db, cached: "SELECT * FROM tasks WHERE status = 'PROCESSING'").map { try decode($0, in: db) }
    case .expired(let before, let owner):
      return try Row.fetchAll(
        db, cached: "SELECT * FROM tasks WHERE status = 'PROCESSING' AND (lease_expires_at < \(before.timeIntervalSince1970) OR lease_owner = \(owner))"
      ).map { try decode($0, in: db) }
    }
  }

  /// PENDING and PROCESSING tasks of an account or platform, oldest first.
  static func active(_ db: Database, scope: UpdateScope) throws -> [GenerationTask] {
    try Row.fetchAll(
      db, cached: "SELECT * FROM tasks WHERE \(owner(scope)) AND status IN ('PENDING', 'PROCESSING') ORDER BY created_at, rowid"
    ).map { try decode($0, in: db) }
  }

  /// The rows of an account, or of a whole platform (of `table`, in a join).
  private static func owner(_ scope: UpdateScope, of table: String? = nil) -> SQL {
    let prefix = table.map { "\($0)." } ?? ""
    return switch scope {
    case .account(let account): "\(sql: prefix)platform = \(account.platform) AND \(sql: prefix)user_id = \(account.userID)"
    case .platform(let platform): "\(sql: prefix)platform = \(platform)"
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

  /// Tasks listed after `cursor`, newest first. Ties in creation time go by rowid, which every
  /// index entry ends with, so the indexes that page by creation need no copy of the task's id.
  static func before(_ cursor: TaskCursor) -> SQL {
    // A cursor's task purged since: the page goes on from its creation time.
    "(created_at, rowid) < (\(cursor.createdAt), COALESCE((SELECT rowid FROM tasks WHERE id = \(cursor.id)), 0))"
  }

  /// A page of the account's tasks, newest first: by offset, or after a cursor through the index.
  static func page(
    _ db: Database, account: Account, status: TaskStatus?, page: PageRequest, batch: String? = nil
  ) throws -> Page<GenerationTask> {
    var filter = owner(.account(account))
    if let status { filter += " AND status = \(status.rawValue)" }
    if let batch { filter += " AND batch_id = \(batch)" }
    if let after = page.after { filter += " AND \(before(after))" }
    let rows = try Row.fetchAll(
      db,
      cached: """
        SELECT * FROM tasks WHERE \(filter) ORDER BY created_at DESC, rowid DESC
        LIMIT \(page.limit + 1) OFFSET \(page.offset)
        """)
    let shown = rows.prefix(Int(page.limit))
    let next = rows.count > shown.count ? shown.last.map { TaskCursor(createdAt: $0["created_at"], id: $0["id"]) } : nil
    // A batch has at most 100 tasks: they are counted.
    let total: Int64
    if let batch {
      var counted: SQL = "SELECT COUNT(*) FROM tasks WHERE batch_id = \(batch)"
      if let status { counted += " AND status = \(status.rawValue)" }
      total = try Int64.fetchOne(db, cached: counted) ?? 0
    } else {
      total = try count(db, account: account, status: status)
    }
    return Page(items: try shown.map { try decode($0, in: db) }, total: total, request: page, next: next)
  }

  /// The account's tasks in `status` (nil: all), from counters: ended tasks are counted by status
  /// as they end (`task_counts`, kept by triggers), unfinished ones by their open holds; only a
  /// count of PENDING or PROCESSING alone reads the tasks, and there are few of those.
  static func count(_ db: Database, account: Account, status: TaskStatus?) throws -> Int64 {
    let owner = owner(.account(account))
    switch status {
    case nil:
      return try Int64.fetchOne(
        db,
        cached: """
          SELECT COALESCE((SELECT SUM(count) FROM task_counts WHERE \(owner)), 0)
            + COALESCE((SELECT active_tasks FROM credit_accounts WHERE \(owner)), 0)
          """) ?? 0
    case let status? where status.isTerminal:
      return try Int64.fetchOne(db, cached: "SELECT count FROM task_counts WHERE \(owner) AND status = \(status.rawValue)") ?? 0
    case let status?:
      return try Int64.fetchOne(db, cached: "SELECT COUNT(*) FROM tasks WHERE \(owner) AND status = \(status.rawValue)") ?? 0
    }
  }

  /// Artifact keys are kept as their content hash where the rest follows from the task
  /// (`ArtifactKeys.compact`): about 120 bytes less a task.
  static func stored(_ key: String?, _ kind: ArtifactKind, of task: GenerationTask, contentType: String = "image/jpeg")
    -> String?
  {
    key.map { ArtifactKeys.compact($0, kind: kind, taskID: task.id, account: task.account, contentType: contentType) }
  }

  static func stored(_ artifact: Artifact?, _ kind: ArtifactKind, of task: GenerationTask) -> String? {
    stored(artifact?.key, kind, of: task, contentType: artifact?.contentType ?? "")
  }

  static func artifactKey(_ stored: String?, _ kind: ArtifactKind, taskID: String, account: Account, contentType: String)
    -> String?
  {
    stored.map { ArtifactKeys.expand($0, kind: kind, taskID: taskID, account: account, contentType: contentType) }
  }

  static func decode(_ row: Row, in db: Database) throws -> GenerationTask {
    let prompt: String = row["prompt"]
    var parameters = try DecodedParameters.shared.decode(row["parameters"])
    var templateRef = TemplateRef(
      code: row["template_code"], name: row["template_name"], version: row["template_version"],
      category: row["template_category"])
    let backendOptions: Parameters
    if let digest: Int64 = row["template_digest"] {
      let template = try TemplateDefinitions.template(db, digest: digest)
      parameters = template.allParameters(own: parameters, prompt: prompt)
      templateRef = template.ref
      backendOptions = template.backendOptions
    } else {
      backendOptions = try DecodedParameters.shared.decode(row["backend_options"])
    }
    let id: String = row["id"]
    let account = try Account(platform: row["platform"], userID: row["user_id"])
    let outputType: String = row["output_content_type"] ?? "application/octet-stream"
    let outputKey = artifactKey(row["output_key"], .output, taskID: id, account: account, contentType: outputType)
    let thumbnailKey = artifactKey(row["thumbnail_key"], .thumbnail, taskID: id, account: account, contentType: "image/jpeg")
    var task = GenerationTask(
      id: id,
      account: account,
      kind: GenerationKind(rawValue: row["kind"]) ?? .image,
      status: TaskStatus(rawValue: row["status"]) ?? .failed,
      prompt: prompt,
      parameters: parameters,
      template: templateRef,
      backend: row["backend"],
      backendOptions: backendOptions,
      creditCost: row["credit_cost"],
      timeoutMs: row["timeout_ms"],
      progress: row["progress"],
      inputImageKey: artifactKey(row["input_key"], .input, taskID: id, account: account, contentType: "image/jpeg"),
      output: outputKey.map { Artifact(key: $0, contentType: outputType) },
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
    task.retentionMs = row["retention_ms"]
    task.expiresAt = date(row["expires_at"])
    task.pinnedAt = date(row["pinned_at"])
    task.artifactsExpiredAt = date(row["artifacts_expired_at"])
    task.numOutputs = row["num_outputs"]
    task.outputs = try StoredJSON.outputs(row["outputs"], first: task.output, thumbnail: task.thumbnail)
    task.batchID = row["batch_id"]
    task.traceParent = row["trace_parent"]
    task.retryOf = row["retry_of"]
    task.leaseOwner = task.status == .processing ? row["lease_owner"] : nil
    return task
  }

  /// Ended tasks whose retention ran out, unpinned, artifacts still kept; soonest first.
  static func withExpiredArtifacts(_ db: Database, now: Date, limit: Int) throws -> [GenerationTask] {
    try Row.fetchAll(
      db,
      cached: """
        SELECT * FROM tasks INDEXED BY tasks_artifact_expiry
        WHERE expires_at <= \(now.timeIntervalSince1970) AND pinned_at IS NULL AND artifacts_expired_at IS NULL
        ORDER BY expires_at LIMIT \(limit)
        """
    ).map { try decode($0, in: db) }
  }

  private static func date(_ seconds: Double?) -> Date? {
    seconds.map(Date.init(timeIntervalSince1970:))
  }
}
