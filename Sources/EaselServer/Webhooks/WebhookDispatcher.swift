import AsyncHTTPClient
import EaselCore
import EaselRPC
import Foundation
import Logging
import Tracing
import ServiceLifecycle

/// Sends queued webhook deliveries, off the worker pool: signed POSTs, no redirects followed,
/// retried with exponential backoff (and jitter) on a non-2xx answer or a timeout until
/// `retryPeriod` has passed since the event. Every attempt is recorded. Woken when a task change
/// queues a delivery, and polls once a second for retries that come due.
final class WebhookDispatcher: Service, Sendable {
  let store: any WebhookStore
  let policy: WebhookTargetPolicy
  let settings: WebhookSettings
  let links: @Sendable (String) -> String?
  let logger: Logger
  private let clientConfiguration: HTTPClient.Configuration
  private let wakes: AsyncStream<Void>

  init(
    store: any WebhookStore, policy: WebhookTargetPolicy, settings: WebhookSettings, wakes: AsyncStream<Void>,
    links: @escaping @Sendable (String) -> String?, logger: Logger
  ) {
    self.store = store
    self.policy = policy
    self.settings = settings
    self.wakes = wakes
    self.links = links
    self.logger = logger
    var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
    configuration.timeout = .init(connect: .seconds(5))
    clientConfiguration = configuration
  }

  /// Sends due deliveries until a graceful shutdown. Its HTTP client lives as long as this does.
  func run() async throws {
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
    await withDiscardingTaskGroup { group in
      let (ticks, tick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
      group.addTask {
        for await _ in self.wakes { tick.yield() }
      }
      group.addTask {
        while !Task.isCancelled {
          try? await Task.sleep(for: .seconds(1))
          tick.yield()
        }
      }
      for await _ in ticks.cancelOnGracefulShutdown() {
        await sendDue(with: client)
      }
      group.cancelAll()
    }
    try? await client.shutdown()
  }

  /// Sends every due delivery, `concurrency` at a time.
  private func sendDue(with client: HTTPClient) async {
    while true {
      let lock = settings.timeout + .seconds(30)
      guard let batch = try? await store.claimDueWebhookDeliveries(limit: settings.concurrency, lock: lock, now: Date()),
        !batch.isEmpty
      else { return }
      await withDiscardingTaskGroup { sends in
        for delivery in batch { sends.addTask { await self.send(delivery, with: client) } }
      }
    }
  }

  /// One attempt, as a span of the task's trace (its POST carries the trace's `traceparent`).
  private func send(_ delivery: WebhookDelivery, with client: HTTPClient) async {
    let trace = TaskTrace.context(continuing: delivery.task.traceParent)
    await withSpan("webhook \(delivery.event.rawValue)", context: trace, ofKind: .producer) { span in
      span.attributes["easel.task.id"] = delivery.task.id
      span.attributes["easel.webhook.attempt"] = delivery.attempts + 1
      await attempt(delivery, with: client)
    }
  }

  private func attempt(_ delivery: WebhookDelivery, with client: HTTPClient) async {
    let at = Date()
    let started = ContinuousClock.now
    var statusCode: Int?
    var failure: String?
    var permanent = false
    do {
      try await policy.check(delivery.url)
      let secret = try await store.webhookSecret(platform: delivery.task.account.platform, rotate: false, now: at)
      guard let signer = WebhookSigner(secret: secret) else { throw EaselError.internalError("the webhook secret is malformed") }
      let body = try WebhookPayload.body(for: delivery, links: links)
      var request = HTTPClientRequest(url: delivery.url)
      request.method = .POST
      request.headers.add(name: "content-type", value: "application/json")
      request.headers.add(name: "user-agent", value: "Easel-Webhooks/1")
      for (name, value) in signer.headers(id: delivery.id, timestamp: at, body: body) {
        request.headers.add(name: name, value: value)
      }
      request.body = .bytes(body)
      let response = try await client.execute(request, timeout: .nanoseconds(Int64(settings.timeout.milliseconds) * 1_000_000))
      statusCode = Int(response.status.code)
      _ = try? await response.body.collect(upTo: 64 << 10)
    } catch let error as EaselError {
      failure = error.message
      permanent = error.code == .invalidArgument  // the target is not allowed (any more)
    } catch {
      failure = "\(error)"
    }
    let attempt = WebhookAttempt(statusCode: statusCode, error: failure, duration: .now - started, at: at)
    let retryAt = attempt.succeeded || permanent ? nil : retryTime(after: delivery, now: at)
    if !attempt.succeeded {
      logger.notice(
        "webhook attempt failed",
        metadata: [
          "task.id": "\(delivery.task.id)", "webhook.id": "\(delivery.id)", "attempt": "\(delivery.attempts + 1)",
          "status": "\(statusCode.map(String.init) ?? failure ?? "")", "retry": "\(retryAt != nil)",
        ])
    }
    do {
      try await store.recordWebhookAttempt(deliveryID: delivery.id, attempt: attempt, retryAt: retryAt)
    } catch {
      logger.error("can't record a webhook attempt", metadata: ["webhook.id": "\(delivery.id)", "error": "\(error)"])
    }
  }

  /// Exponential backoff with ±20% jitter, capped at an hour; nil once the retry period is over.
  private func retryTime(after delivery: WebhookDelivery, now: Date) -> Date? {
    let base = Double(settings.retryBase.milliseconds) / 1000 * pow(2, Double(min(delivery.attempts, 20)))
    let delay = min(base, 3600) * Double.random(in: 0.8...1.2)
    let next = now.addingTimeInterval(delay)
    let deadline = delivery.createdAt.addingTimeInterval(Double(settings.retryPeriod.milliseconds) / 1000)
    return next <= deadline ? next : nil
  }
}

/// Webhook delivery settings (EASEL_WEBHOOK_*).
public struct WebhookSettings: Sendable {
  /// Hosts and CIDRs webhooks may reach although they are not public (tests: 127.0.0.1).
  public var allowedHosts: [String] = []
  /// How long one attempt may take.
  public var timeout: Duration = .seconds(10)
  /// The first retry's delay; each further one doubles it (up to an hour).
  public var retryBase: Duration = .seconds(5)
  /// How long after the event deliveries are retried before they fail for good.
  public var retryPeriod: Duration = .seconds(86_400)
  /// Deliveries sent at once.
  public var concurrency = 8

  public init() {}
}
