import Foundation

/// Where a caller wants a task's news POSTed.
public struct WebhookRequest: Hashable, Sendable, Codable {
  public static let maxURLLength = 2048

  public var url: String
  /// Also POST when processing starts (each attempt), not only at the end.
  public var onStart: Bool

  public init(url: String, onStart: Bool) {
    self.url = url
    self.onStart = onStart
  }
}

/// What a webhook delivery announces, in the Standard Webhooks `type` form.
public enum WebhookEvent: String, Hashable, Sendable, Codable {
  case started = "task.started"
  case completed = "task.completed"
  case failed = "task.failed"
  case canceled = "task.canceled"
  case expired = "task.expired"

  /// The event a stored change of `task` causes, if its webhook wants one.
  public static func caused(by task: GenerationTask) -> WebhookEvent? {
    guard let webhook = task.webhook else { return nil }
    switch task.status {
    case .processing: return webhook.onStart ? .started : nil
    case .completed: return .completed
    case .failed: return .failed
    case .canceled: return .canceled
    case .expired: return .expired
    case .pending: return nil
    }
  }
}

/// One message to one webhook URL, stored with the task change that caused it, so it survives a
/// restart; `id` is the Standard Webhooks `webhook-id`, the same on every attempt.
public struct WebhookDelivery: Hashable, Sendable {
  public var id: String
  public var event: WebhookEvent
  public var url: String
  /// The task as it was when the event happened.
  public var task: GenerationTask
  public var attempts: Int
  public var createdAt: Date

  public init(id: String, event: WebhookEvent, url: String, task: GenerationTask, attempts: Int, createdAt: Date) {
    self.id = id
    self.event = event
    self.url = url
    self.task = task
    self.attempts = attempts
    self.createdAt = createdAt
  }
}

/// How one attempt went; every attempt is recorded.
public struct WebhookAttempt: Hashable, Sendable {
  public var statusCode: Int?
  public var error: String?
  public var duration: Duration
  public var at: Date

  public init(statusCode: Int?, error: String?, duration: Duration, at: Date) {
    self.statusCode = statusCode
    self.error = error
    self.duration = duration
    self.at = at
  }

  public var succeeded: Bool { statusCode.map { (200..<300).contains($0) } ?? false }
}

public enum WebhookDeliveryState: String, Hashable, Sendable {
  case pending = "PENDING"
  case delivered = "DELIVERED"
  case failed = "FAILED"
}

/// Durable webhook state: per-platform signing secrets and the delivery queue.
public protocol WebhookStore: Sendable {
  /// The platform's signing secret (`whsec_…`), made on first use; `rotate` replaces it.
  func webhookSecret(platform: String, rotate: Bool, now: Date) async throws -> String
  /// Due PENDING deliveries, oldest first, locked for `lock` so no other dispatcher sends them.
  func claimDueWebhookDeliveries(limit: Int, lock: Duration, now: Date) async throws -> [WebhookDelivery]
  /// Records an attempt and moves the delivery on: delivered, retried at `retryAt`, or failed for good (nil).
  func recordWebhookAttempt(deliveryID: String, attempt: WebhookAttempt, retryAt: Date?) async throws
  /// A task's deliveries with their state and every attempt, oldest first.
  func webhookDeliveries(taskID: String) async throws -> [(delivery: WebhookDelivery, state: WebhookDeliveryState, attempts: [WebhookAttempt])]
}

/// Checks a caller's webhook URL before a task takes it (scheme, host, where it resolves to).
public protocol WebhookGuard: Sendable {
  func check(_ url: String) async throws(EaselError)
}

public enum WebhookSecret {
  /// `whsec_` and 32 random bytes in base64, as Standard Webhooks libraries expect.
  public static func generate() -> String {
    var generator = SystemRandomNumberGenerator()
    return "whsec_" + Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
  }
}
