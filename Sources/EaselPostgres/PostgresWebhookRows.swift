import EaselCore
import Foundation
import PostgresNIO

/// Webhook secrets, deliveries and attempts in PostgreSQL.
enum PostgresWebhookRows {
  /// Queues the delivery a task change causes, if any, in the change's own transaction. An ended
  /// task's progress and previews not yet sent are dropped: the final event says more.
  static func enqueue(_ tx: PostgresTransaction, for task: GenerationTask) async throws {
    guard let event = WebhookEvent.caused(by: task), let webhook = task.webhook else { return }
    if task.status.isTerminal, !webhook.events.isDisjoint(with: [.progress, .preview]) {
      try await tx.query(
        """
        DELETE FROM webhook_deliveries
        WHERE task_id = \(task.id) AND event IN ('task.progress', 'task.preview') AND state = 'PENDING' AND attempts = 0
          AND (locked_until IS NULL OR locked_until <= \(task.updatedAt.timeIntervalSince1970))
        """)
    }
    try await insert(tx, event: event, url: webhook.url, task: task, due: task.updatedAt.timeIntervalSince1970)
  }

  /// Queues the progress (and preview) events a progress report causes: a delivery of the event
  /// still waiting takes the new state (a slow receiver gets the latest, not a backlog); otherwise
  /// a new one is due a second after the last one.
  static func enqueueProgress(_ tx: PostgresTransaction, for task: GenerationTask, newPreview: Bool) async throws {
    guard let webhook = task.webhook else { return }
    let now = task.updatedAt.timeIntervalSince1970
    for event in WebhookEvent.progressEvents(of: task, newPreview: newPreview) {
      let replaced = try await tx.query(
        """
        UPDATE webhook_deliveries SET snapshot = \(try StoredJSON.string(task))
        WHERE task_id = \(task.id) AND event = \(event.rawValue) AND state = 'PENDING'
          AND (locked_until IS NULL OR locked_until <= \(now))
        RETURNING id
        """)
      guard replaced.isEmpty else { continue }
      let last = try await tx.query(
        "SELECT MAX(next_attempt_at) FROM webhook_deliveries WHERE task_id = \(task.id) AND event = \(event.rawValue)")
      let previous = try last.first?[0].decode(Double?.self) ?? nil
      try await insert(tx, event: event, url: webhook.url, task: task, due: max(now, (previous ?? 0) + 1))
    }
  }

  private static func insert(_ tx: PostgresTransaction, event: WebhookEvent, url: String, task: GenerationTask, due: Double)
    async throws
  {
    try await tx.query(
      """
      INSERT INTO webhook_deliveries (id, task_id, event, url, snapshot, state, next_attempt_at, created_at)
      VALUES (\("msg_" + UUID().uuidString.lowercased()), \(task.id), \(event.rawValue), \(url),
        \(try StoredJSON.string(task)), 'PENDING', \(due), \(task.updatedAt.timeIntervalSince1970))
      """)
  }

  static func secret(_ tx: PostgresTransaction, platform: String, rotate: Bool, now: Date) async throws -> String {
    if !rotate, let row = try await tx.query("SELECT secret FROM webhook_secrets WHERE platform = \(platform)").first {
      return try row["secret"].decode(String.self)
    }
    // Two nodes making the first secret at once: the first insert wins and both return it.
    let rows = try await tx.query(
      """
      INSERT INTO webhook_secrets (platform, secret, created_at) VALUES (\(platform), \(WebhookSecret.generate()), \(now.timeIntervalSince1970))
      ON CONFLICT (platform) DO UPDATE SET
        secret = CASE WHEN \(rotate) THEN excluded.secret ELSE webhook_secrets.secret END,
        created_at = CASE WHEN \(rotate) THEN excluded.created_at ELSE webhook_secrets.created_at END
      RETURNING secret
      """)
    return try rows[0]["secret"].decode(String.self)
  }

  /// Due deliveries, locked for `lock` so one node sends each; rows another node is claiming are skipped.
  static func claimDue(_ tx: PostgresTransaction, limit: Int, lock: Duration, now: Date) async throws -> [WebhookDelivery] {
    let lockedUntil = now.addingTimeInterval(Double(lock.components.seconds)).timeIntervalSince1970
    let at = now.timeIntervalSince1970
    return try await tx.query(
      """
      UPDATE webhook_deliveries SET locked_until = \(lockedUntil)
      WHERE id IN (
        SELECT id FROM webhook_deliveries
        WHERE state = 'PENDING' AND next_attempt_at <= \(at) AND (locked_until IS NULL OR locked_until <= \(at))
        ORDER BY next_attempt_at LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
      RETURNING id, event, url, snapshot, attempts, created_at
      """
    ).map(delivery)
  }

  static func record(_ tx: PostgresTransaction, deliveryID: String, attempt: WebhookAttempt, retryAt: Date?) async throws {
    let rows = try await tx.query(
      "UPDATE webhook_deliveries SET attempts = attempts + 1 WHERE id = \(deliveryID) RETURNING attempts")
    guard let attempts = try rows.first?["attempts"].decode(Int64.self) else { return }
    try await tx.query(
      """
      INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms)
      VALUES (\(deliveryID), \(attempts), \(attempt.at.timeIntervalSince1970), \(attempt.statusCode.map(Int64.init)),
        \(attempt.error), \(attempt.duration.milliseconds))
      """)
    let state: WebhookDeliveryState = attempt.succeeded ? .delivered : retryAt == nil ? .failed : .pending
    let finishedAt = state == .pending ? nil : attempt.at.timeIntervalSince1970
    try await tx.query(
      """
      UPDATE webhook_deliveries SET state = \(state.rawValue),
        next_attempt_at = COALESCE(\(retryAt?.timeIntervalSince1970), next_attempt_at), locked_until = NULL,
        finished_at = \(finishedAt)
      WHERE id = \(deliveryID)
      """)
  }

  static func history(_ connection: PostgresConnection, taskID: String) async throws
    -> [(delivery: WebhookDelivery, state: WebhookDeliveryState, attempts: [WebhookAttempt])]
  {
    try await records(
      connection,
      "SELECT id, event, url, snapshot, attempts, created_at, state FROM webhook_deliveries WHERE task_id = \(taskID) ORDER BY created_at, id"
    ).map { ($0.delivery, $0.state, $0.attempts) }
  }

  /// Failed deliveries of the platform's tasks (every platform's with nil), newest first.
  static func failed(_ connection: PostgresConnection, platform: String?, limit: Int) async throws -> [WebhookDeliveryRecord] {
    try await records(
      connection,
      """
      SELECT d.id, d.event, d.url, d.snapshot, d.attempts, d.created_at, d.state
      FROM webhook_deliveries d JOIN tasks t ON t.id = d.task_id
      WHERE d.state = 'FAILED' AND (\(platform)::TEXT IS NULL OR t.platform = \(platform))
      ORDER BY d.created_at DESC LIMIT \(Int64(limit))
      """)
  }

  /// Back to PENDING, due now, with a fresh retry period (counted from `now`).
  static func redeliver(_ tx: PostgresTransaction, id: String, platform: String?, now: Date) async throws
    -> WebhookDeliveryRecord?
  {
    let at = now.timeIntervalSince1970
    let rows = try await tx.query(
      """
      UPDATE webhook_deliveries SET state = 'PENDING', next_attempt_at = \(at), locked_until = NULL, created_at = \(at),
        finished_at = NULL
      WHERE id = \(id) AND (\(platform)::TEXT IS NULL OR task_id IN (SELECT id FROM tasks WHERE platform = \(platform)))
      RETURNING id
      """)
    guard !rows.isEmpty else { return nil }
    return try await records(
      tx.connection, "SELECT id, event, url, snapshot, attempts, created_at, state FROM webhook_deliveries WHERE id = \(id)"
    ).first
  }

  private static func records(_ connection: PostgresConnection, _ query: PostgresQuery) async throws -> [WebhookDeliveryRecord] {
    let deliveries = try await connection.query(query, logger: PostgresTaskStore.quiet).collect().map { $0.makeRandomAccess() }
    var records: [WebhookDeliveryRecord] = []
    for row in deliveries {
      let delivery = try delivery(row)
      var attempts: [WebhookAttempt] = []
      let rows = try await connection.query(
        "SELECT status_code, error, duration_ms, at FROM webhook_attempts WHERE delivery_id = \(delivery.id) ORDER BY attempt",
        logger: PostgresTaskStore.quiet)
      for try await (statusCode, error, duration, at) in rows.decode((Int64?, String?, Int64, Double).self) {
        attempts.append(
          WebhookAttempt(
            statusCode: statusCode.map(Int.init), error: error, duration: .milliseconds(duration),
            at: Date(timeIntervalSince1970: at)))
      }
      records.append(
        WebhookDeliveryRecord(
          delivery: delivery, state: WebhookDeliveryState(rawValue: try row["state"].decode(String.self)) ?? .pending,
          attempts: attempts))
    }
    return records
  }

  private static func delivery(_ row: PostgresRandomAccessRow) throws -> WebhookDelivery {
    WebhookDelivery(
      id: try row["id"].decode(String.self), event: WebhookEvent(rawValue: try row["event"].decode(String.self)) ?? .completed,
      url: try row["url"].decode(String.self),
      task: try StoredJSON.decode(GenerationTask.self, row["snapshot"].decode(String.self)),
      attempts: Int(try row["attempts"].decode(Int64.self)),
      createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)))
  }
}
