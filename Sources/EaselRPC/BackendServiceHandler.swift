import EaselCore
import GRPCCore
import Logging

/// `easel.v1.BackendService`: the backends templates may name and, for fleets, their servers.
public struct BackendServiceHandler: Easel_V1_BackendService.SimpleServiceProtocol {
  /// Every backend name, with its fleet's pool (aliases share one); nil for backends with no servers to track.
  let backends: [String: EndpointPool?]
  let logger: Logger

  public init(backends: [String: EndpointPool?], logger: Logger) {
    self.backends = backends
    self.logger = logger
  }

  public func listBackends(request: Easel_V1_ListBackendsRequest, context: ServerContext) async throws
    -> Easel_V1_ListBackendsResponse
  {
    try await mappingErrors("ListBackends", context: context, logger: logger) {
      try Caller.current.require(.manageBackends)
      return .with {
        $0.backends = backends.keys.sorted().map { name in
          let statuses = backends[name]??.statuses ?? []
          return .with {
            $0.name = name
            $0.endpoints = statuses.map(Easel_V1_Endpoint.init)
            $0.degraded = !statuses.isEmpty && !statuses.contains { $0.state == .healthy }
          }
        }
      }
    }
  }

  public func setEndpointDraining(request: Easel_V1_SetEndpointDrainingRequest, context: ServerContext) async throws
    -> Easel_V1_Endpoint
  {
    try await mappingErrors("SetEndpointDraining", context: context, logger: logger) {
      try Caller.current.require(.manageBackends)
      guard let pool = backends[request.backend] ?? nil else {
        let fleets = backends.filter { $0.value != nil }.keys.sorted()
        throw EaselError.notFound("backend \(request.backend) has no servers to drain; fleets: \(fleets.joined(separator: ", "))")
      }
      guard pool.setDraining(request.url, request.draining) else {
        let urls = pool.endpoints.map(\.url)
        throw EaselError.notFound("backend \(request.backend) has no server \(request.url); it has \(urls.joined(separator: ", "))")
      }
      logger.notice(
        request.draining ? "model server draining" : "model server back in rotation",
        metadata: ["backend": "\(request.backend)", "endpoint": "\(request.url)"])
      guard let status = pool.statuses.first(where: { $0.endpoint.url == request.url }) else {
        throw EaselError.internalError("server \(request.url) vanished")
      }
      return Easel_V1_Endpoint(status)
    }
  }
}

extension Easel_V1_Endpoint {
  init(_ status: EndpointPool.Status) {
    self.init()
    url = status.endpoint.url
    state = status.state.rawValue
    busy = Int32(status.busy)
    capacity = Int32(status.endpoint.capacity)
    labels = status.endpoint.labels.sorted()
    jobs = Int64(status.jobs)
    failures = Int64(status.failures)
    errorRate = status.jobs > 0 ? Double(status.failures) / Double(status.jobs) : 0
    queueWaitMs = status.queueWaitMs
  }
}
