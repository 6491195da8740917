import Synchronization

/// Whether the database and artifact storage are usable, checked at most once per `interval`:
/// load balancers may ask many times a second, and each check writes a file.
final class StorageProbe: Sendable {
  private let interval: Duration
  private let probe: @Sendable () async -> Bool
  private let last = Mutex<(at: ContinuousClock.Instant, healthy: Bool)?>(nil)

  init(interval: Duration, probe: @escaping @Sendable () async -> Bool) {
    self.interval = interval
    self.probe = probe
  }

  @Sendable func check() async -> Bool {
    let now = ContinuousClock.now
    if let cached = last.withLock({ $0 }), now - cached.at < interval { return cached.healthy }
    let healthy = await probe()
    last.withLock { $0 = (now, healthy) }
    return healthy
  }
}
