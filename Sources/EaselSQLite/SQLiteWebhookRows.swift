import EaselCore
import Foundation
import GRDB

/// Webhook secrets, deliveries and attempts. Called only inside a store transaction.
enum WebhookRows {
  /// Queues the delivery a task change causes, if any, in the change's own transaction. An ended
  /// task's progress and previews not yet sent are dropped: the final event says more.
  static func enqueue(_ db: Database, for task: GenerationTask) throws {
    guard let event = WebhookEvent.caused(by: task), let webhook = task.webhook else { return }
    if task.status.isTerminal, !webhook.events.isDisjoint(with: [.progress, .preview]) {
      try db.run(
        literal: """
          DELETE FROM webhook_deliveries
          WHERE task_id = \(task.id) AND event IN ('task.progress', 'task.preview') AND state = 'PENDING' AND attempts = 0
            AND (locked_until IS NULL OR locked_until <= \(task.updatedAt.timeIntervalSince1970))
          """)
    }
    try insert(db, event: event, url: webhook.url, task: task, due: task.updatedAt)
  }

  /// Queues the progress (and preview) events a progress report causes: a delivery of the event
  /// still waiting takes the new state (a slow receiver gets the latest, not a backlog); otherwise
  /// a new one is due a second after the last one.
  static func enqueueProgress(_ db: Database, for task: GenerationTask, newPreview: Bool) throws {
    guard let webhook = task.webhook else { return }
    let now = task.updatedAt.timeIntervalSince1970
    for event in WebhookEvent.progressEvents(of: task, newPreview: newPreview) {
      try db.run(
        literal: """
          UPDATE webhook_deliveries SET snapshot = \(try StoredJSON.string(task))
          WHERE task_id = \(task.id) AND event = \(event.rawValue) AND state = 'PENDING'
            AND (locked_until IS NULL OR locked_until <= \(now))
          """)
      guard db.changesCount == 0 else { continue }
      let last = try Double.fetchOne(
        db,
        cached: "SELECT MAX(next_attempt_at) FROM webhook_deliveries WHERE task_id = \(task.id) AND event = \(event.rawValue)")
      try insert(db, event: event, url: webhook.url, task: task, due: Date(timeIntervalSince1970: max(now, (last ?? 0) + 1)))
    }
  }

  private static func insert(_ db: Database, event: WebhookEvent, url: String, task: GenerationTask, due: Date) throws {
    try db.run(
      literal: """
        INSERT INTO webhook_deliveries (id, task_id, event, url, snapshot, state, next_attempt_at, created_at)
        VALUES (\("msg_" + UUID().uuidString.lowercased()), \(task.id), \(event.rawValue), \(url), \(try StoredJSON.string(task)), 'PENDING', \(due.timeIntervalSince1970), \(task.updatedAt.timeIntervalSince1970))
        """)
  }

  static func secret(_ db: Database, platform: String, rotate: Bool, now: Date) throws -> String {
    if !rotate, let secret = try String.fetchOne(db, cached: "SELECT secret FROM webhook_secrets WHERE platform = \(platform)") {
      return secret
    }
    let secret = WebhookSecret.generate()
    try db.run(
      literal: "INSERT OR REPLACE INTO webhook_secrets (platform, secret, created_at) VALUES (\(platform), \(secret), \(now.timeIntervalSince1970))")
    return secret
  }

  static func claimDue(_ db: Database, limit: Int, lock: Duration, now: Date) throws -> [WebhookDelivery] {
    let rows = try Row.fetchAll(
      db,
      cached: """
        SELECT * FROM webhook_deliveries
        WHERE state = 'PENDING' AND next_attempt_at <= \(now.timeIntervalSince1970) AND (locked_until IS NULL OR locked_until <= \(now.timeIntervalSince1970))
        ORDER BY next_attempt_at LIMIT \(limit)
        """)
    let lockedUntil = now.addingTimeInterval(Double(lock.components.seconds))
    for row in rows {
      try db.run(
        literal: "UPDATE webhook_deliveries SET locked_until = \(lockedUntil.timeIntervalSince1970) WHERE id = \(row["id"] as String)")
    }
    return try rows.map(delivery)
  }

  static func record(_ db: Database, deliveryID: String, attempt: WebhookAttempt, retryAt: Date?) throws {
    let attempts = (try Int.fetchOne(db, cached: "SELECT attempts FROM webhook_deliveries WHERE id = \(deliveryID)") ?? 0) + 1
    try db.run(
      literal: """
        INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms) VALUES (\(deliveryID), \(attempts), \(attempt.at.timeIntervalSince1970), \(attempt.statusCode), \(attempt.error), \(attempt.duration.milliseconds))
        """)
    let state: WebhookDeliveryState = attempt.succeeded ? .delivered : retryAt == nil ? .failed : .pending
    try db.run(
      literal: """
        UPDATE webhook_deliveries SET attempts = \(attempts), state = \(state.rawValue), next_attempt_at = COALESCE(\(retryAt?.timeIntervalSince1970), next_attempt_at),
          locked_until = NULL, finished_at = \(state == .pending ? nil : attempt.at.timeIntervalSince1970)
        WHERE id = \(deliveryID)
        """)
  }

  static func history(_ db: Database, taskID: String) throws
    -> [(delivery: WebhookDelivery, state: WebhookDeliveryState, attempts: [WebhookAttempt])]
  {
    try records(db, "SELECT * FROM webhook_deliveries WHERE task_id = \(taskID) ORDER BY created_at, rowid")
      .map { ($0.delivery, $0.state, $0.attempts) }
  }

  /// Failed deliveries of the platform's tasks (every platform's with nil), newest first.
  static func failed(_ db: Database, platform: String?, limit: Int) throws -> [WebhookDeliveryRecord] {
    let owner: SQL = platform.map { "AND t.platform = \($0)" } ?? ""
    return try records(
      db,
      """
      SELECT d.* FROM webhook_deliveries d JOIN tasks t ON t.id = d.task_id
      WHERE d.state = 'FAILED' \(owner) ORDER BY d.created_at DESC LIMIT \(limit)
      """)
  }

  /// Back to PENDING, due now, with a fresh retry period (counted from `now`).
  static func redeliver(_ db: Database, id: String, platform: String?, now: Date) throws -> WebhookDeliveryRecord? {
    let owner: SQL = platform.map { "AND task_id IN (SELECT id FROM tasks WHERE platform = \($0))" } ?? ""
    try db.run(
      literal: """
        UPDATE webhook_deliveries SET state = 'PENDING', next_attempt_at = \(now.timeIntervalSince1970), locked_until = NULL,
          created_at = \(now.timeIntervalSince1970), finished_at = NULL
        WHERE id = \(id) \(owner)
        """)
    guard db.changesCount > 0 else { return nil }
    return try records(db, "SELECT * FROM webhook_deliveries WHERE id = \(id)").first
  }

  private static func records(_ db: Database, _ query: SQL) throws -> [WebhookDeliveryRecord] {
    try Row.fetchAll(db, cached: query).map { row in
      let attempts = try Row.fetchAll(
        db, cached: "SELECT * FROM webhook_attempts WHERE delivery_id = \(row["id"] as String) ORDER BY attempt"
      ).map { attempt in
        WebhookAttempt(
          statusCode: attempt["status_code"], error: attempt["error"],
          duration: .milliseconds(attempt["duration_ms"] as Int64), at: Date(timeIntervalSince1970: attempt["at"]))
      }
      return WebhookDeliveryRecord(
        delivery: try delivery(row), state: WebhookDeliveryState(rawValue: row["state"]) ?? .pending, attempts: attempts)
    }
  }

  private static func delivery(_ row: Row) throws -> WebhookDelivery {
    WebhookDelivery(
      id: row["id"], event: WebhookEvent(rawValue: row["event"]) ?? .completed, url: row["url"],
      task: try StoredJSON.decode(GenerationTask.self, row["snapshot"] as String),
      attempts: row["attempts"], createdAt: Date(timeIntervalSince1970: row["created_at"]))
  }
}
