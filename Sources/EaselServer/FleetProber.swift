import EaselCore
import EaselModels
import Logging
import ServiceLifecycle

/// Checks the servers of every fleet backend: a cooled-down one is probed before it takes work
/// again (half-open), an idle one now and then, so a dead server is out of rotation before a task
/// is sent to it. A probe that answers wakes the workers: tasks may have waited for that server.
struct FleetProber: Service {
  static let interval: Duration = .seconds(1)

  let fleets: [any FleetBackend]
  let logger: Logger
  let wake: @Sendable () -> Void

  func run() async throws {
    guard !fleets.isEmpty else { return try await gracefulShutdown() }
    while !Task.isShuttingDownGracefully, !Task.isCancelled {
      for fleet in fleets {
        let due = fleet.pool.dueForProbe()
        logger.trace("probing model servers", metadata: ["backend": "\(fleet.pool.backend)", "endpoints": "\(due)"])
        for url in due {
          let up = await fleet.probe(url)
          let wasOut = fleet.pool.probed(url, up: up) == .coolingDown
          if wasOut, up {
            logger.notice("model server back in rotation", metadata: ["backend": "\(fleet.pool.backend)", "endpoint": "\(url)"])
            wake()
          } else if !up, !wasOut {
            logger.warning("model server out of rotation", metadata: ["backend": "\(fleet.pool.backend)", "endpoint": "\(url)"])
          }
        }
      }
      try? await Task.sleep(for: Self.interval)
    }
  }
}
