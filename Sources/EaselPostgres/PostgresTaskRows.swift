import EaselCore
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Task rows and the update log in PostgreSQL. Called only inside a store transaction or read.
enum PostgresTaskRows {
  static let columns = """
    id, platform, user_id, kind, status, prompt, parameters, template_code, template_name, template_version,
    template_category, backend, backend_options, credit_cost, timeout_ms, progress, input_key, output_key,
    output_content_type, thumbnail_key, processing_time_ms, error_code, error_message, attempts, sequence,
    created_at, updated_at, started_at, finished_at, update_id, webhook, cancel_requested_at, preview_key, preview_step,
    priority, queue_rank, start_by, retention_ms, expires_at, pinned_at, artifacts_expired_at, num_outputs, outputs,
    batch_id, trace_parent, retry_of, lease_owner
    """

  /// The columns a new task sets, in the order `insert` and `createInOneStatement` give them.
  static let insertedColumns = """
    id, platform, user_id, kind, status, prompt, parameters, template_code, template_name, template_version,
    template_category, backend, backend_options, credit_cost, timeout_ms, input_key, sequence, created_at, updated_at,
    webhook, priority, queue_rank, start_by, retention_ms, num_outputs, batch_id, trace_parent, retry_of
    """

  static func insert(_ tx: PostgresTransaction, _ task: GenerationTask) async throws {
    try await tx.query(
      """
      INSERT INTO tasks (\(unescaped: insertedColumns))
      VALUES (\(task.id), \(task.account.platform), \(task.account.userID), \(task.kind.rawValue), \(task.status.rawValue),
        \(task.prompt), \(try StoredJSON.string(task.parameters)), \(task.template.code), \(task.template.name),
        \(task.template.version), \(task.template.category), \(task.backend), \(try StoredJSON.string(task.backendOptions)),
        \(task.creditCost), \(task.timeoutMs), \(task.inputImageKey), \(Int64(task.sequence)),
        \(task.createdAt.timeIntervalSince1970), \(task.updatedAt.timeIntervalSince1970),
        \(try task.webhook.map(StoredJSON.string)), \(Int64(task.priority)), \(task.queueRank),
        \(task.startBy?.timeIntervalSince1970), \(task.retentionMs), \(Int64(task.numOutputs)), \(task.batchID), \(task.traceParent), \(task.retryOf))
      """)
    tx.log(task)
  }

  /// Stores the task's mutable fields under the next sequence number; the log entry follows at commit.
  static func saveChange(_ tx: PostgresTransaction, _ task: inout GenerationTask, now: Date) async throws {
    task.sequence += 1
    task.updatedAt = now
    try await tx.query(
      """
      UPDATE tasks SET status = \(task.status.rawValue), progress = \(task.progress), output_key = \(task.output?.key),
        output_content_type = \(task.output?.contentType), thumbnail_key = \(task.thumbnail?.key),
        processing_time_ms = \(task.processingTimeMs), error_code = \(task.errorCode),
        error_message = \(task.errorMessage), attempts = \(Int64(task.attempts)), sequence = \(Int64(task.sequence)),
        updated_at = \(now.timeIntervalSince1970), started_at = \(task.startedAt?.timeIntervalSince1970),
        finished_at = \(task.finishedAt?.timeIntervalSince1970),
        cancel_requested_at = \(task.cancelRequestedAt?.timeIntervalSince1970),
        preview_key = \(task.preview?.key), preview_step = \(Int64(task.previewStep)),
        expires_at = \(task.expiresAt?.timeIntervalSince1970), pinned_at = \(task.pinnedAt?.timeIntervalSince1970),
        artifacts_expired_at = \(task.artifactsExpiredAt?.timeIntervalSince1970),
        outputs = \(try StoredJSON.outputs(task.outputs)), output_count = \(Int64(task.outputs.count))
      WHERE id = \(task.id)
      """)
    tx.log(task)
  }

  static func setLease(_ tx: PostgresTransaction, id: String, lease: Lease?, notBefore: Date? = nil) async throws {
    try await tx.query(
      """
      UPDATE tasks SET lease_owner = \(lease?.owner), lease_expires_at = \(lease?.expires.timeIntervalSince1970),
        not_before = \(notBefore?.timeIntervalSince1970)
      WHERE id = \(id)
      """)
  }

  /// The task, locked for this transaction when `forUpdate`, if it exists and (when `account` is
  /// given) belongs to that account.
  static func fetch(
    _ connection: PostgresConnection, id: String, account: Account? = nil, forUpdate: Bool = false
  ) async throws -> GenerationTask? {
    var task: GenerationTask?
    if forUpdate {
      let rows = try await connection.query(
        "SELECT \(unescaped: columns) FROM tasks WHERE id = \(id) FOR UPDATE", logger: PostgresTaskStore.quiet
      ).collect()
      task = try rows.first.map { try decode($0.makeRandomAccess()) }
    } else {
      for try await row in try await connection.execute(TaskByID(id: id), logger: PostgresTaskStore.quiet) { task = row }
    }
    guard let task, account == nil || task.account == account else { return nil }
    return task
  }

  /// GetTask's read, prepared once per connection: PostgreSQL parses and plans it once.
  struct TaskByID: PostgresPreparedStatement {
    static let sql = "SELECT \(columns) FROM tasks WHERE id = $1"
    var id: String

    func makeBindings() throws -> PostgresBindings {
      var bindings = PostgresBindings()
      bindings.append(id)
      return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> GenerationTask {
      try PostgresTaskRows.decode(row.makeRandomAccess())
    }
  }

  /// Locks and returns the task if it is PROCESSING and leased to `owner`.
  static func leased(_ tx: PostgresTransaction, id: String, to owner: String) async throws -> GenerationTask? {
    let rows = try await tx.query(
      """
      SELECT \(unescaped: columns) FROM tasks WHERE id = \(id) AND status = 'PROCESSING' AND lease_owner = \(owner)
      FOR UPDATE
      """)
    return try rows.first.map(decode)
  }

  /// PENDING tasks whose start deadline passed, locked (others changing now are skipped).
  static func overdue(_ tx: PostgresTransaction, now: Date, limit: Int) async throws -> [GenerationTask] {
    try await tx.query(
      """
      SELECT \(unescaped: columns) FROM tasks
      WHERE status = 'PENDING' AND start_by IS NOT NULL AND start_by < \(now.timeIntervalSince1970)
      ORDER BY start_by LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED
      """
    ).map(decode)
  }

  /// The abandoned PROCESSING tasks, locked; tasks another node is changing right now are skipped,
  /// so every node may run the rescuer.
  static func processing(_ tx: PostgresTransaction, _ abandoned: AbandonedTasks) async throws -> [GenerationTask] {
    let (cutoff, owner): (Double, String?) =
      switch abandoned {
      case .all: (.infinity, nil)
      case .expired(let before, let owner): (before.timeIntervalSince1970, owner)
      }
    return try await tx.query(
      """
      SELECT \(unescaped: columns) FROM tasks
      WHERE status = 'PROCESSING'
        AND (lease_expires_at IS NULL OR lease_expires_at < \(cutoff) OR lease_owner = \(owner))
      ORDER BY created_at, id FOR UPDATE SKIP LOCKED
      """
    ).map(decode)
  }

  static func active(_ connection: PostgresConnection, scope: UpdateScope) async throws -> [GenerationTask] {
    let query: PostgresQuery =
      switch scope {
      case .account(let account):
        """
        SELECT \(unescaped: columns) FROM tasks WHERE platform = \(account.platform) AND user_id = \(account.userID)
          AND status IN ('PENDING', 'PROCESSING') ORDER BY created_at, id
        """
      case .platform(let platform):
        """
        SELECT \(unescaped: columns) FROM tasks WHERE platform = \(platform) AND status IN ('PENDING', 'PROCESSING')
        ORDER BY created_at, id
        """
      }
    return try await connection.query(query, logger: PostgresTaskStore.quiet).collect().map { try decode($0.makeRandomAccess()) }
  }

  /// A page of the account's tasks, newest first: by offset, or after a cursor through the index.
  static func page(
    _ connection: PostgresConnection, account: Account, status: TaskStatus?, page: PageRequest, batch: String? = nil
  ) async throws -> Page<GenerationTask> {
    var bindings = PostgresBindings()
    bindings.append(account.platform)
    bindings.append(account.userID)
    var filter = "platform = $1 AND user_id = $2"
    if let status {
      bindings.append(status.rawValue)
      filter += " AND status = $\(bindings.count)"
    }
    if let batch {
      bindings.append(batch)
      filter += " AND batch_id = $\(bindings.count)"
    }
    let counted = filter
    let countBindings = bindings
    if let after = page.after {
      bindings.append(after.createdAt)
      bindings.append(after.id)
      filter += " AND (created_at, id) < ($\(bindings.count - 1), $\(bindings.count))"
    }
    let sql = """
      SELECT \(columns) FROM tasks WHERE \(filter) ORDER BY created_at DESC, id DESC
      LIMIT \(page.limit + 1) OFFSET \(page.offset)
      """
    let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: PostgresTaskStore.quiet)
      .collect().map { $0.makeRandomAccess() }
    let shown = rows.prefix(Int(page.limit))
    let next = try rows.count > shown.count
      ? shown.last.map { TaskCursor(createdAt: try $0["created_at"].decode(Double.self), id: try $0["id"].decode(String.self)) }
      : nil
    // A batch has at most 100 tasks: they are counted.
    let total =
      if batch != nil {
        try await connection.query(
          PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM tasks WHERE \(counted)", binds: countBindings), logger: PostgresTaskStore.quiet
        ).collect().first?.decode(Int64.self) ?? 0
      } else {
        try await count(connection, account: account, status: status)
      }
    return Page(items: try shown.map(decode), total: total, request: page, next: next)
  }

  /// The account's tasks in `status` (nil: all), from counters: ended tasks are counted by status
  /// as they end (`task_counts`, kept by a trigger), unfinished ones by their open holds; only a
  /// count of PENDING or PROCESSING alone reads the tasks, and there are few of those.
  static func count(_ connection: PostgresConnection, account: Account, status: TaskStatus?) async throws -> Int64 {
    let query: PostgresQuery =
      switch status {
      case nil:
        """
        SELECT COALESCE((SELECT SUM(count) FROM task_counts WHERE platform = \(account.platform) AND user_id = \(account.userID)), 0)::BIGINT
          + COALESCE((SELECT active_tasks FROM credit_accounts WHERE platform = \(account.platform) AND user_id = \(account.userID)), 0)
        """
      case let status? where status.isTerminal:
        """
        SELECT count FROM task_counts
        WHERE platform = \(account.platform) AND user_id = \(account.userID) AND status = \(status.rawValue)
        """
      case let status?:
        "SELECT COUNT(*) FROM tasks WHERE platform = \(account.platform) AND user_id = \(account.userID) AND status = \(status.rawValue)"
      }
    let rows = try await connection.query(query, logger: PostgresTaskStore.quiet).collect()
    return try rows.first?.decode(Int64.self) ?? 0
  }

  /// Logged states positioned after `updateID`, in position order: of one account, of a platform,
  /// or (nil) of everyone. Rows the sequencer has not positioned yet are not read.
  static func updates(_ connection: PostgresConnection, after updateID: Int64, scope: UpdateScope, limit: Int) async throws
    -> [GenerationTask]
  {
    let query: PostgresQuery =
      switch scope {
      case .account(let account):
        """
        SELECT \(unescaped: loggedColumns) FROM task_updates u JOIN tasks t ON t.id = u.task_id
        WHERE u.platform = \(account.platform) AND u.user_id = \(account.userID) AND u.position > \(updateID)
        ORDER BY u.position LIMIT \(Int64(limit))
        """
      case .platform(let platform):
        """
        SELECT \(unescaped: loggedColumns) FROM task_updates u JOIN tasks t ON t.id = u.task_id
        WHERE u.platform = \(platform) AND u.position > \(updateID) ORDER BY u.position LIMIT \(Int64(limit))
        """
      }
    return try await loggedStates(connection, query)
  }

  /// A logged state with its task's row: the row has the fixed fields, the state the changing ones.
  private static let loggedColumns = "t.*, COALESCE(u.position, 0) AS logged_position, u.snapshot AS logged_state"

  /// The last position trimmed from the log (EASEL_UPDATE_LOG_RETENTION): every change up to it is gone.
  static func trimmedThrough(_ connection: PostgresConnection) async throws -> Int64 {
    let rows = try await connection.query("SELECT position FROM update_log_trimmed", logger: PostgresTaskStore.quiet)
    for try await position in rows.decode(Int64.self) { return position }
    return 0
  }

  /// The change feed's read of every update after `position`. A logged state holds only what
  /// changed: the tasks of the changes this node `wants` (a stream here follows it, a run here may
  /// stop) are read in one more query, the others never (most are other nodes' creates no one
  /// here follows), and each is decoded the first time it is asked for.
  static func changes(
    _ connection: PostgresConnection, after position: Int64, limit: Int, logger: Logger,
    wants: @Sendable (TaskChange) -> Bool
  ) async throws -> [(position: Int64, change: TaskChange)] {
    let fixedParts = Mutex<[String: GenerationTask]>([:])
    var changes: [(position: Int64, change: TaskChange)] = []
    let rows = try await connection.execute(EveryChange(after: position, limit: Int64(limit)), logger: PostgresTaskStore.quiet)
    for try await (position, taskID, platform, userID, status, state) in rows {
      guard let status = TaskStatus(rawValue: status) else { throw EaselError.internalError("update \(position) has status \(status)") }
      let change = TaskChange(taskID: taskID, account: try Account(platform: platform, userID: userID), status: status) {
        guard let task = fixedParts.withLock({ $0[taskID] }) else { return nil }  // not wanted, or purged since
        do {
          return try LoggedTaskState.task(state, over: task, position: position)
        } catch {
          logger.error("can't read a logged task state", metadata: ["task": "\(taskID)", "position": "\(position)", "error": "\(error)"])
          return nil
        }
      }
      changes.append((position, change))
    }
    let wanted = Set(changes.lazy.map(\.change).filter(wants).map(\.taskID))
    if !wanted.isEmpty {
      let tasks = try await connection.query("SELECT * FROM tasks WHERE id = ANY(\(Array(wanted)))", logger: PostgresTaskStore.quiet)
      for try await row in tasks {
        let task = try decode(row.makeRandomAccess())
        fixedParts.withLock { $0[task.id] = task }
      }
    }
    return changes
  }

  /// Prepared once per connection: every node runs it on each wake-up.
  struct EveryChange: PostgresPreparedStatement {
    static let sql = """
      SELECT position, task_id, platform, user_id, status, snapshot FROM task_updates WHERE position > $1
      ORDER BY position LIMIT $2
      """
    var after: Int64
    var limit: Int64

    func makeBindings() throws -> PostgresBindings {
      var bindings = PostgresBindings()
      bindings.append(after)
      bindings.append(limit)
      return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> (Int64, String, String, String, String, String) {
      try row.decode((Int64, String, String, String, String, String).self)
    }
  }

  static func updates(_ connection: PostgresConnection, taskID: String, afterSequence sequence: UInt64) async throws
    -> [GenerationTask]
  {
    try await loggedStates(
      connection,
      """
      SELECT \(unescaped: loggedColumns) FROM task_updates u JOIN tasks t ON t.id = u.task_id
      WHERE u.task_id = \(taskID) AND u.sequence > \(Int64(sequence)) ORDER BY u.sequence
      """)
  }

  private static func loggedStates(_ connection: PostgresConnection, _ query: PostgresQuery) async throws -> [GenerationTask] {
    var tasks: [GenerationTask] = []
    for try await row in try await connection.query(query, logger: PostgresTaskStore.quiet) {
      tasks.append(try loggedState(row.makeRandomAccess()))
    }
    return tasks
  }

  /// A logged state over its task's row, with its position in the log as its update id.
  private static func loggedState(_ row: PostgresRandomAccessRow) throws -> GenerationTask {
    try LoggedTaskState.task(
      row["logged_state"].decode(String.self), over: decode(row), position: row["logged_position"].decode(Int64.self))
  }

  static func decode(_ row: PostgresRandomAccessRow) throws -> GenerationTask {
    func value<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
      try row[column].decode(T.self)
    }
    let outputKey: String? = try value("output_key")
    let thumbnailKey: String? = try value("thumbnail_key")
    let contentType: String? = try value("output_content_type")
    let webhook: String? = try value("webhook")
    func date(_ column: String) throws -> Date? { try value(column, as: Double?.self).map(Date.init(timeIntervalSince1970:)) }
    var task = GenerationTask(
      id: try value("id"),
      account: try Account(platform: value("platform"), userID: value("user_id")),
      kind: GenerationKind(rawValue: try value("kind")) ?? .image,
      status: TaskStatus(rawValue: try value("status")) ?? .failed,
      prompt: try value("prompt"),
      parameters: try StoredJSON.decode(Parameters.self, value("parameters")),
      template: TemplateRef(
        code: try value("template_code"), name: try value("template_name"), version: try value("template_version"),
        category: try value("template_category")),
      backend: try value("backend"),
      backendOptions: try StoredJSON.decode(Parameters.self, value("backend_options")),
      creditCost: try value("credit_cost"),
      timeoutMs: try value("timeout_ms"),
      progress: try value("progress"),
      inputImageKey: try value("input_key"),
      output: outputKey.map { Artifact(key: $0, contentType: contentType ?? "application/octet-stream") },
      thumbnail: thumbnailKey.map { Artifact(key: $0, contentType: "image/jpeg") },
      processingTimeMs: try value("processing_time_ms"),
      errorCode: try value("error_code"),
      errorMessage: try value("error_message"),
      attempts: Int(try value("attempts", as: Int64.self)),
      sequence: UInt64(try value("sequence", as: Int64.self)),
      createdAt: Date(timeIntervalSince1970: try value("created_at")),
      updatedAt: Date(timeIntervalSince1970: try value("updated_at")),
      startedAt: (try value("started_at", as: Double?.self)).map(Date.init(timeIntervalSince1970:)),
      finishedAt: (try value("finished_at", as: Double?.self)).map(Date.init(timeIntervalSince1970:)),
      updateID: try value("update_id"),
      webhook: try webhook.map { try StoredJSON.decode(WebhookRequest.self, $0) },
      cancelRequestedAt: (try value("cancel_requested_at", as: Double?.self)).map(Date.init(timeIntervalSince1970:)),
      preview: (try value("preview_key", as: String?.self)).map { Artifact(key: $0, contentType: "image/jpeg") },
      previewStep: Int(try value("preview_step", as: Int64.self)),
      priority: Int(try value("priority", as: Int64.self)), queueRank: try value("queue_rank"),
      startBy: try date("start_by"))
    task.retentionMs = try value("retention_ms")
    task.expiresAt = try date("expires_at")
    task.pinnedAt = try date("pinned_at")
    task.artifactsExpiredAt = try date("artifacts_expired_at")
    task.numOutputs = Int(try value("num_outputs", as: Int64.self))
    task.outputs = try StoredJSON.outputs(value("outputs"), first: task.output, thumbnail: task.thumbnail)
    task.batchID = try value("batch_id")
    task.traceParent = try value("trace_parent")
    task.retryOf = try value("retry_of")
    task.leaseOwner = task.status == .processing ? try value("lease_owner") : nil
    return task
  }
}
