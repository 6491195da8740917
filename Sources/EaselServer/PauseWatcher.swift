import EaselCore
import Logging
import ServiceLifecycle

/// Keeps this node's `BackendPauses` in step with the store (so a pause holds on every node and
/// across restarts): paused backends are left out of claims, and a paused server of a fleet is
/// drained (it finishes what it runs), then put back when resumed.
final class PauseWatcher: Service, Sendable {
  static let interval: Duration = .seconds(1)

  let store: any AdminRecords
  let pauses: BackendPauses
  let pools: [String: EndpointPool]
  let wake: @Sendable () -> Void
  let logger: Logger

  init(
    store: any AdminRecords, pauses: BackendPauses, pools: [String: EndpointPool], logger: Logger,
    wake: @escaping @Sendable () -> Void
  ) {
    self.store = store
    self.pauses = pauses
    self.pools = pools
    self.wake = wake
    self.logger = logger
  }

  func run() async throws {
    while !Task.isShuttingDownGracefully, !Task.isCancelled {
      await refresh()
      try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.interval) }
    }
  }

  /// Reads the pauses; applies what changed.
  func refresh() async {
    let stored: [BackendPause]
    do {
      stored = try await store.backendPauses()
    } catch {
      return logger.warning("can't read backend pauses; keeping the ones known", metadata: ["error": "\(error)"])
    }
    guard let before = pauses.update(stored) else { return }
    let servers = { (pauses: [BackendPause]) in Set(pauses.filter { !$0.endpoint.isEmpty }.map { [$0.backend, $0.endpoint] }) }
    let (was, now) = (servers(before), servers(stored))
    for server in now.subtracting(was) { _ = pools[server[0]]?.setDraining(server[1], true) }
    for server in was.subtracting(now) { _ = pools[server[0]]?.setDraining(server[1], false) }
    if !before.isEmpty || !stored.isEmpty {
      logger.notice("backend pauses changed", metadata: ["paused": "\(stored.map { $0.endpoint.isEmpty ? $0.backend : "\($0.backend) \($0.endpoint)" })"])
    }
    wake()
  }
}
