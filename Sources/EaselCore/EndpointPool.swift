import Foundation
import Synchronization

/// One model server of a backend's fleet: where it is, how many jobs it runs at once, and what it
/// has (checkpoints, say) for routing.
public struct ModelEndpoint: Hashable, Sendable {
  public var url: String
  public var key: String?
  public var capacity: Int
  public var labels: Set<String>

  public init(url: String, key: String? = nil, capacity: Int = 1, labels: Set<String> = []) {
    self.url = url
    self.key = key
    self.capacity = capacity
    self.labels = labels
  }
}

/// The endpoints of one backend and their slots. A task holds a slot on one endpoint from its claim
/// to its end, so a server never gets more jobs than its capacity, and work waits PENDING in
/// Easel's queue rather than inside a model server. Endpoints that fail are taken out of rotation
/// for a cool-down that doubles each time, and come back after a probe succeeds.
public final class EndpointPool: Sendable {
  public enum State: String, Sendable {
    case healthy, coolingDown = "cooling_down", draining
  }

  /// What an operator sees of one endpoint.
  public struct Status: Sendable {
    public var endpoint: ModelEndpoint
    public var state: State
    public var busy: Int
    public var jobs: Int
    public var failures: Int
    public var queueWaitMs: Int64
  }

  struct Member {
    var endpoint: ModelEndpoint
    var busy = 0
    var draining = false
    var coolingUntil: ContinuousClock.Instant?
    var coolDown: Duration
    var consecutiveFailures = 0
    var lastUsed = ContinuousClock.Instant.now - .seconds(3600)
    var jobs = 0
    var failures = 0
    var lastProbed = ContinuousClock.Instant.now - .seconds(3600)

    var state: State { draining ? .draining : coolingUntil != nil ? .coolingDown : .healthy }
    var hasFreeSlot: Bool { state == .healthy && busy < endpoint.capacity }
  }

  public let backend: String
  /// The first cool-down after a failure; each failed probe doubles it, up to `maxCoolDown`.
  let baseCoolDown: Duration
  let maxCoolDown: Duration
  /// Consecutive 5xx answers before an endpoint is taken out (a refused connection takes it out at once).
  static let failuresBeforeCoolDown = 3
  private let state: Mutex<(members: [Member], slots: [String: Int], queueWaitMs: Int64)>

  public init(
    backend: String, endpoints: [ModelEndpoint], baseCoolDown: Duration = .seconds(2), maxCoolDown: Duration = .seconds(120)
  ) {
    self.backend = backend
    self.baseCoolDown = baseCoolDown
    self.maxCoolDown = maxCoolDown
    state = Mutex((endpoints.map { Member(endpoint: $0, coolDown: baseCoolDown) }, [:], 0))
  }

  public var endpoints: [ModelEndpoint] { state.withLock { $0.members.map(\.endpoint) } }

  public var hasFreeSlot: Bool { state.withLock { $0.members.contains(where: \.hasFreeSlot) } }

  /// False while every server is down, cooling down or draining: the backend is degraded.
  public var hasServerInRotation: Bool { state.withLock { $0.members.contains { $0.state == .healthy } } }

  /// Takes a slot for the task on the endpoint that suits it best: one whose labels include
  /// `label`, then the least recently used. False when no endpoint has a free slot.
  public func reserve(for taskID: String, label: String?, waitedMs: Int64 = 0) -> Bool {
    state.withLock { state in
      if state.slots[taskID] != nil { return true }
      let free = state.members.indices.filter { state.members[$0].hasFreeSlot }
      let preferred = free.filter { label != nil && state.members[$0].endpoint.labels.contains(label!) }
      guard let index = (preferred.isEmpty ? free : preferred).min(by: { state.members[$0].lastUsed < state.members[$1].lastUsed })
      else { return false }
      state.members[index].busy += 1
      state.members[index].lastUsed = .now
      state.members[index].jobs += 1
      state.slots[taskID] = index
      state.queueWaitMs = (state.queueWaitMs * 7 + waitedMs) / 8  // a moving average of recent waits
      return true
    }
  }

  /// The endpoint holding the task's slot.
  public func endpoint(for taskID: String) -> ModelEndpoint? {
    state.withLock { state in state.slots[taskID].map { state.members[$0].endpoint } }
  }

  /// Gives the task's slot back (idempotent).
  public func release(_ taskID: String) {
    state.withLock { state in
      guard let index = state.slots.removeValue(forKey: taskID) else { return }
      state.members[index].busy -= 1
    }
  }

  /// How a request to an endpoint went: failures take it out of rotation (a refused connection at
  /// once, 5xx answers after a few in a row); a success resets the count.
  public func record(_ url: String, failure: BackendFailure?) {
    state.withLock { state in
      guard let index = state.members.firstIndex(where: { $0.endpoint.url == url }) else { return }
      guard let failure else {
        state.members[index].consecutiveFailures = 0
        return
      }
      guard failure.isTransient else { return }  // a bad request is not the server's fault
      state.members[index].failures += 1
      state.members[index].consecutiveFailures += 1
      if failure.code == "model_unreachable" || state.members[index].consecutiveFailures >= Self.failuresBeforeCoolDown {
        coolDown(&state.members[index])
      }
    }
  }

  /// How often an idle healthy endpoint is checked, so a dead one is found before a task is sent to it.
  static let idleProbeInterval: Duration = .seconds(5)

  /// Endpoints to probe now: those whose cool-down is over (half-open), and idle healthy ones not
  /// checked for a while.
  public func dueForProbe() -> [String] {
    let now = ContinuousClock.now
    return state.withLock { state in
      state.members.indices.filter { index in
        let member = state.members[index]
        let due =
          if let until = member.coolingUntil { until <= now } else {
            !member.draining && member.busy == 0 && now - member.lastProbed >= Self.idleProbeInterval
          }
        if due { state.members[index].lastProbed = now }
        return due
      }.map { state.members[$0].endpoint.url }
    }
  }

  /// A probe's answer: back in rotation, or out for twice as long. Returns the state it was in.
  @discardableResult
  public func probed(_ url: String, up: Bool) -> State? {
    state.withLock { state in
      guard let index = state.members.firstIndex(where: { $0.endpoint.url == url }) else { return nil }
      let before = state.members[index].state
      if up {
        state.members[index].coolingUntil = nil
        state.members[index].coolDown = baseCoolDown
        state.members[index].consecutiveFailures = 0
      } else {
        coolDown(&state.members[index])
      }
      return before
    }
  }

  private func coolDown(_ member: inout Member) {
    member.coolingUntil = .now + member.coolDown
    member.coolDown = min(member.coolDown * 2, maxCoolDown)
  }

  /// Drain (finish what it runs, take nothing new) or bring back an endpoint; false if unknown.
  public func setDraining(_ url: String, _ draining: Bool) -> Bool {
    state.withLock { state in
      guard let index = state.members.firstIndex(where: { $0.endpoint.url == url }) else { return false }
      state.members[index].draining = draining
      return true
    }
  }

  public var statuses: [Status] {
    state.withLock { state in
      state.members.map {
        Status(
          endpoint: $0.endpoint, state: $0.state, busy: $0.busy, jobs: $0.jobs, failures: $0.failures,
          queueWaitMs: state.queueWaitMs)
      }
    }
  }
}

/// A backend that runs on a fleet of servers: the server checks their health through it.
public protocol FleetBackend: Sendable {
  var pool: EndpointPool { get }
  /// Whether the server answers (a cheap request, no generation).
  func probe(_ url: String) async -> Bool
}
