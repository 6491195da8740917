import EaselCore
import Foundation
import PostgresNIO

/// WebhookStore: signing secrets and the deliveries queued with task changes.
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
