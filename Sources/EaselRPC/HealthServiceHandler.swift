import GRPCCore
import Synchronization

/// Whether the server is taking work. Watchers are told about every change.
public final class ServingState: Sendable {
  private struct State {
    var serving = false
    var watchers: [Int: AsyncStream<Bool>.Continuation] = [:]
    var nextID = 0
  }

  private let state = Mutex(State())

  public init() {}

  public var isServing: Bool { state.withLock { $0.serving } }

  public func set(serving: Bool) {
    let watchers = state.withLock { state in
      state.serving = serving
      return Array(state.watchers.values)
    }
    for watcher in watchers { watcher.yield(serving) }
  }

  /// The current value, then every change, until the watcher goes away.
  func watch() -> AsyncStream<Bool> {
    let (stream, continuation) = AsyncStream.makeStream(of: Bool.self, bufferingPolicy: .bufferingNewest(1))
    let id = state.withLock { state in
      state.nextID += 1
      state.watchers[state.nextID] = continuation
      continuation.yield(state.serving)
      return state.nextID
    }
    continuation.onTermination = { [weak self] _ in
      _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
    }
    return stream
  }

  /// Ends every watch stream, so that open Watch calls let the server shut down.
  public func finishWatchers() {
    let watchers = state.withLock { state in
      defer { state.watchers.removeAll() }
      return Array(state.watchers.values)
    }
    for watcher in watchers { watcher.finish() }
  }
}

/// The standard `grpc.health.v1.Health` service. "" is the whole server; each Easel service
/// can be asked for by its full name. SERVING means: not draining, and `probe` (database and
/// artifact storage usable) passes at the time of asking. `backend/NAME` (`backend/automatic1111`)
/// is a model backend: NOT_SERVING while no server of its fleet is in rotation (its tasks wait).
public struct HealthServiceHandler: Grpc_Health_V1_Health.SimpleServiceProtocol {
  public static let services: Set<String> = [
    "", "easel.v1.TaskService", "easel.v1.TemplateService", "easel.v1.CreditService", "easel.v1.BackendService",
  ]
  static let backendPrefix = "backend/"

  let state: ServingState
  let probe: @Sendable () async -> Bool
  /// Whether a backend has a server in rotation; nil for a name no template may use.
  let backendInRotation: @Sendable (String) -> Bool?

  public init(
    state: ServingState, probe: @escaping @Sendable () async -> Bool = { true },
    backendInRotation: @escaping @Sendable (String) -> Bool? = { _ in nil }
  ) {
    self.state = state
    self.probe = probe
    self.backendInRotation = backendInRotation
  }

  private func known(_ service: String) -> Bool {
    Self.services.contains(service)
      || (service.hasPrefix(Self.backendPrefix) && backendInRotation(String(service.dropFirst(Self.backendPrefix.count))) != nil)
  }

  private func status(serving: Bool, service: String) async -> Grpc_Health_V1_HealthCheckResponse.ServingStatus {
    guard serving else { return .notServing }
    if service.hasPrefix(Self.backendPrefix) {
      return backendInRotation(String(service.dropFirst(Self.backendPrefix.count))) == true ? .serving : .notServing
    }
    return await probe() ? .serving : .notServing
  }

  public func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws
    -> Grpc_Health_V1_HealthCheckResponse
  {
    guard known(request.service) else {
      throw RPCError(code: .notFound, message: "unknown service \(request.service)")
    }
    let status = await status(serving: state.isServing, service: request.service)
    return .with { $0.status = status }
  }

  public func watch(
    request: Grpc_Health_V1_HealthCheckRequest, response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
    context: ServerContext
  ) async throws {
    guard known(request.service) else {
      try await response.write(.with { $0.status = .serviceUnknown })
      return
    }
    for await serving in state.watch() {
      let status = await status(serving: serving, service: request.service)
      try await response.write(.with { $0.status = status })
    }
  }
}
