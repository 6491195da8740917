import EaselCore
import Foundation

/// The servers of one HTTP model backend, each with its own client: the slots, routing and health
/// of `EndpointPool`, plus the HTTP side every fleet backend shares.
public struct ModelFleet: Sendable {
  public let pool: EndpointPool
  let name: String
  let apis: [String: HTTPModelAPI]
  /// A cheap GET that answers while a server is up; nil: the API has none, and a server that
  /// cooled down is trusted again.
  let probePath: String?

  init(
    name: String, endpoints: [ModelEndpoint], timeout: Duration, coolDown: Duration, maxCoolDown: Duration,
    probePath: String?
  ) {
    self.name = name
    self.probePath = probePath
    pool = EndpointPool(backend: name, endpoints: endpoints, baseCoolDown: coolDown, maxCoolDown: maxCoolDown)
    apis = Dictionary(
      endpoints.map { ($0.url, HTTPModelAPI(name: name, baseURL: $0.url, key: $0.key, timeout: timeout)) },
      uniquingKeysWith: { first, _ in first })
  }

  func reserve(_ task: GenerationTask) -> Bool {
    let waited = Int64(Date().timeIntervalSince(task.createdAt) * 1000)
    return pool.reserve(for: task.id, label: task.backendOptions["checkpoint"]?.stringValue, waitedMs: waited)
  }

  /// The server holding the job's slot; one is waited for if the job has none (a server went
  /// down between the claim and the start).
  func server(for job: GenerationJob) async throws -> (url: String, api: HTTPModelAPI) {
    let label = job.parameters["checkpoint"]?.stringValue
    while true {
      if pool.endpoint(for: job.taskID) == nil { _ = pool.reserve(for: job.taskID, label: label) }
      if let url = pool.endpoint(for: job.taskID)?.url, let api = apis[url] { return (url, api) }
      try await Task.sleep(for: .milliseconds(200))
    }
  }

  func probe(_ url: String) async -> Bool {
    guard let probePath else { return true }
    guard let endpoint = pool.endpoints.first(where: { $0.url == url }) else { return false }
    let api = HTTPModelAPI(name: name, baseURL: url, key: endpoint.key, timeout: .seconds(5))
    return (try? await api.send(.GET, probePath)) != nil
  }

  /// Runs a request on the job's server and tells the pool how it went.
  func run<T>(_ job: GenerationJob, _ request: (HTTPModelAPI) async throws -> T) async throws -> T {
    let (url, api) = try await server(for: job)
    do {
      let result = try await request(api)
      pool.record(url, failure: nil)
      return result
    } catch let failure as BackendFailure where !Task.isCancelled {
      pool.record(url, failure: failure)
      throw failure
    }
  }
}

/// A backend whose requests go to the servers of a `ModelFleet`: its slots are the fleet's.
public protocol FleetModelBackend: ModelBackend, FleetBackend {
  var fleet: ModelFleet { get }
}

extension FleetModelBackend {
  public var pool: EndpointPool { fleet.pool }
  public var hasFreeSlot: Bool { fleet.pool.hasFreeSlot }
  public func reserveSlot(for task: GenerationTask) -> Bool { fleet.reserve(task) }
  public func releaseSlot(for taskID: String) { fleet.pool.release(taskID) }
  public func probe(_ url: String) async -> Bool { await fleet.probe(url) }
}
