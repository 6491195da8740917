import Foundation

/// Where a caller wants a task's news POSTed, and which news.
public struct WebhookRequest: Hashable, Sendable, Codable {
  public static let maxURLLength = 2048

  public var url: String
  /// Also POST when processing starts (each attempt): `webhook_on_start`, the same as choosing
  /// `started`.
  public var onStart: Bool
  /// The events chosen (`webhook_events`); nil: the terminal ones.
  public var chosen: Set<WebhookEvent>?

  public init(url: String, onStart: Bool, chosen: Set<WebhookEvent>? = nil) {
    self.url = url
    self.onStart = onStart
    self.chosen = chosen.flatMap { $0.isEmpty ? nil : $0 }
  }

  /// The events this webhook is POSTed.
  public var events: Set<WebhookEvent> { (chosen ?? WebhookEvent.terminal).union(onStart ? [.started] : []) }

  /// `webhook_events` as a request names them (`started`, `progress`, …), checked.
  public static func events(named names: [String]) throws(EaselError) -> Set<WebhookEvent> {
    var events = Set<WebhookEvent>()
    for name in names {
      guard let event = WebhookEvent(rawValue: "task." + name) else {
        let known = WebhookEvent.allCases.map { $0.rawValue.dropFirst("task.".count) }.joined(separator: ", ")
        throw .invalidArgument("webhook_events: \(name) is not one of \(known)")
      }
      events.insert(event)
    }
    return events
  }
}

/// What a webhook delivery announces, in the Standard Webhooks `type` form.
public enum WebhookEvent: String, Hashable, Sendable, Codable, CaseIterable {
  case started = "task.started"
  case progress = "task.progress"
  case preview = "task.preview"
  case completed = "task.completed"
  case failed = "task.failed"
  case canceled = "task.canceled"
  case expired = "task.expired"

  /// What a webhook is POSTed when the caller doesn't choose.
  public static let terminal: Set<WebhookEvent> = [.completed, .failed, .canceled, .expired]
  /// Sent at most once a second per task, only the latest kept while one waits.
  public var isThrottled: Bool { self == .progress || self == .preview }

  /// The event a stored change of `task` causes, if its webhook wants one. Only the change that
  /// makes the status causes its event: the claim (stored at the instant it started) and the end
  /// (stored at the instant it ended); later changes (progress, a pin) cause none here, progress
  /// and previews being queued by the progress path (`progressEvents`), throttled.
  public static func caused(by task: GenerationTask) -> WebhookEvent? {
    guard let webhook = task.webhook else { return nil }
    let ended = task.finishedAt == task.updatedAt
    let event: WebhookEvent? =
      switch task.status {
      case .processing: task.startedAt == task.updatedAt ? .started : nil
      case .completed: ended ? .completed : nil
      case .failed: ended ? .failed : nil
      case .canceled: ended ? .canceled : nil
      case .expired: ended ? .expired : nil
      case .pending: nil
      }
    return event.flatMap { webhook.events.contains($0) ? $0 : nil }
  }

  /// The events a progress report of `task` causes, if its webhook wants them: progress, and a
  /// preview when the report brought a new picture.
  public static func progressEvents(of task: GenerationTask, newPreview: Bool) -> [WebhookEvent] {
    guard let webhook = task.webhook else { return [] }
    return ([.progress] + (newPreview ? [.preview] : [])).filter { webhook.events.contains($0) }
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
