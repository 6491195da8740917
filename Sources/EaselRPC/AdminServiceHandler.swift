import EaselCore
import Foundation
import GRPCCore
import Logging
import SwiftProtobuf

/// `easel.v1.AdminService`: operators' retries, pauses, webhook resends and statistics. An
/// `operator` key acts on every platform, an `admin` key on its own.
public struct AdminServiceHandler: Easel_V1_AdminService.SimpleServiceProtocol {
  let manager: TaskManager
  let store: any AdminRecords & TaskRecords & WebhookStore
  /// Every backend name, with its fleet's pool (nil for backends without servers).
  let backends: [String: EndpointPool?]
  /// Reads the stored pauses into this node at once (other nodes within a second).
  let pausesChanged: @Sendable () async -> Void
  let logger: Logger

  public init(
    manager: TaskManager, store: any AdminRecords & TaskRecords & WebhookStore, backends: [String: EndpointPool?],
    pausesChanged: @escaping @Sendable () async -> Void, logger: Logger
  ) {
    self.manager = manager
    self.store = store
    self.backends = backends
    self.pausesChanged = pausesChanged
    self.logger = logger
  }

  public func retryTask(request: Easel_V1_RetryTaskRequest, context: ServerContext) async throws
    -> Easel_V1_RetryTaskResponse
  {
    try await mappingErrors("RetryTask", context: context, logger: logger) {
      let caller = Caller.current
      try caller.require(.operate)
      if !request.taskID.isEmpty {
        let account = try caller.account(platform: request.platform, userID: request.userID)
        let original = try await manager.task(id: request.taskID, account: account)
        guard !request.dryRun else { return .with { $0.matched = original.isRetryable ? 1 : 0 } }
        let retried = try await manager.retry(original)
        return .with {
          $0.matched = 1
          $0.retried = [Easel_V1_Task(retried, links: manager.downloadURL(key:))]
        }
      }
      let limit = Int(request.limit == 0 ? 100 : request.limit)
      guard (1...TaskManager.maxBulkRetries).contains(limit) else {
        throw EaselError.invalidArgument("limit must be 1 to \(TaskManager.maxBulkRetries); got \(request.limit)")
      }
      let filter = try TaskFilter(request.filter, platform: try caller.operatedPlatform(request.filter.platform))
      let matched = try await store.tasks(matching: filter, limit: limit, after: nil)
      var response = Easel_V1_RetryTaskResponse()
      response.matched = Int32(matched.count)
      guard !request.dryRun else { return response }
      for original in matched {
        do {
          response.retried.append(Easel_V1_Task(try await manager.retry(original), links: manager.downloadURL(key:)))
        } catch let error as EaselError {
          response.failures.append(.with {
            $0.taskID = original.id
            $0.message = error.message
          })
        }
      }
      logger.notice(
        "retried tasks", metadata: ["matched": "\(matched.count)", "retried": "\(response.retried.count)"])
      return response
    }
  }

  public func pauseBackend(request: Easel_V1_PauseBackendRequest, context: ServerContext) async throws
    -> Easel_V1_BackendPause
  {
    try await mappingErrors("PauseBackend", context: context, logger: logger) {
      try requireEveryPlatform()
      try checkKnown(request.backend, endpoint: request.endpoint)
      let pause = BackendPause(backend: request.backend, endpoint: request.endpoint, reason: request.reason, pausedAt: Date())
      try await store.setBackendPause(pause, backend: request.backend, endpoint: request.endpoint)
      await pausesChanged()
      logger.notice("backend paused", metadata: ["backend": "\(request.backend)", "endpoint": "\(request.endpoint)"])
      return Easel_V1_BackendPause(pause, paused: true)
    }
  }

  public func resumeBackend(request: Easel_V1_ResumeBackendRequest, context: ServerContext) async throws
    -> Easel_V1_BackendPause
  {
    try await mappingErrors("ResumeBackend", context: context, logger: logger) {
      try requireEveryPlatform()
      try checkKnown(request.backend, endpoint: request.endpoint)
      try await store.setBackendPause(nil, backend: request.backend, endpoint: request.endpoint)
      await pausesChanged()
      logger.notice("backend resumed", metadata: ["backend": "\(request.backend)", "endpoint": "\(request.endpoint)"])
      return .with {
        $0.backend = request.backend
        $0.endpoint = request.endpoint
      }
    }
  }

  public func listBackendPauses(request: Easel_V1_ListBackendPausesRequest, context: ServerContext) async throws
    -> Easel_V1_ListBackendPausesResponse
  {
    try await mappingErrors("ListBackendPauses", context: context, logger: logger) {
      try Caller.current.require(.operate)
      let pauses = try await store.backendPauses()
      return .with { $0.pauses = pauses.map { Easel_V1_BackendPause($0, paused: true) } }
    }
  }

  public func listWebhookDeliveries(request: Easel_V1_ListWebhookDeliveriesRequest, context: ServerContext)
    async throws -> Easel_V1_ListWebhookDeliveriesResponse
  {
    try await mappingErrors("ListWebhookDeliveries", context: context, logger: logger) {
      let caller = Caller.current
      try caller.require(.operate)
      if !request.taskID.isEmpty {
        let account = try caller.account(platform: request.platform, userID: request.userID)
        _ = try await manager.task(id: request.taskID, account: account)  // NOT_FOUND for another's task
        let history = try await store.webhookDeliveries(taskID: request.taskID)
        return .with {
          $0.deliveries = history.map { Easel_V1_WebhookDelivery(.init(delivery: $0.delivery, state: $0.state, attempts: $0.attempts)) }
        }
      }
      let limit = Int(request.limit == 0 ? 20 : request.limit)
      guard (1...100).contains(limit) else { throw EaselError.invalidArgument("limit must be 1 to 100; got \(request.limit)") }
      let failed = try await store.failedWebhookDeliveries(platform: try caller.operatedPlatform(request.platform), limit: limit)
      return .with { $0.deliveries = failed.map(Easel_V1_WebhookDelivery.init) }
    }
  }

  public func redeliverWebhook(request: Easel_V1_RedeliverWebhookRequest, context: ServerContext) async throws
    -> Easel_V1_WebhookDelivery
  {
    try await mappingErrors("RedeliverWebhook", context: context, logger: logger) {
      let caller = Caller.current
      try caller.require(.operate)
      guard
        let record = try await store.redeliverWebhook(
          id: request.deliveryID, platform: try caller.operatedPlatform(""), now: Date())
      else { throw EaselError.notFound("webhook delivery \(request.deliveryID) does not exist") }
      logger.notice("webhook delivery queued again", metadata: ["webhook.id": "\(request.deliveryID)"])
      return Easel_V1_WebhookDelivery(record)
    }
  }

  public func getStats(request: Easel_V1_GetStatsRequest, context: ServerContext) async throws -> Easel_V1_Stats {
    try await mappingErrors("GetStats", context: context, logger: logger) {
      let caller = Caller.current
      try caller.require(.operate)
      return Easel_V1_Stats(try await store.serviceStats(platform: try caller.operatedPlatform(request.platform), now: Date()))
    }
  }

  /// Pauses act on every platform's tasks: operators and the Unix socket only.
  private func requireEveryPlatform() throws(EaselError) {
    let caller = Caller.current
    try caller.require(.operate)
    guard caller.platform == nil || caller.scope == .operator else {
      throw EaselError(.permissionDenied, "pausing a backend stops every platform's tasks: it needs an operator key")
    }
  }

  private func checkKnown(_ backend: String, endpoint: String) throws(EaselError) {
    guard let pool = backends[backend] else {
      throw EaselError.notFound("backend \(backend) does not exist; backends: \(backends.keys.sorted().joined(separator: ", "))")
    }
    guard endpoint.isEmpty || pool?.endpoints.contains(where: { $0.url == endpoint }) == true else {
      let urls = pool?.endpoints.map(\.url) ?? []
      throw EaselError.notFound("backend \(backend) has no server \(endpoint); it has \(urls.isEmpty ? "none" : urls.joined(separator: ", "))")
    }
  }
}
