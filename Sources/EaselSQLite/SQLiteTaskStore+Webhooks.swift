import EaselCore
import Foundation
import GRDB

/// WebhookStore: signing secrets and the deliveries queued with task changes.
extension SQLiteTaskStore: WebhookStore {
  public func webhookSecret(platform: String, rotate: Bool, now: Date) async throws -> String {
    try await writer.write { db in try WebhookRows.secret(db, platform: platform, rotate: rotate, now: now) }
  }

  public func claimDueWebhookDeliveries(limit: Int, lock: Duration, now: Date) async throws -> [WebhookDelivery] {
    try await writer.write { db in try WebhookRows.claimDue(db, limit: limit, lock: lock, now: now) }
  }

  public func recordWebhookAttempt(deliveryID: String, attempt: WebhookAttempt, retryAt: Date?) async throws {
    try await writer.write { db in try WebhookRows.record(db, deliveryID: deliveryID, attempt: attempt, retryAt: retryAt) }
  }

  public func webhookDeliveries(taskID: String) async throws
    -> [(delivery: WebhookDelivery, state: WebhookDeliveryState, attempts: [WebhookAttempt])]
  {
    try await writer.read { db in try WebhookRows.history(db, taskID: taskID) }
  }
}
