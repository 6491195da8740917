import Foundation

/// How workers hold and retry tasks.
public struct WorkerSettings: Sendable {
  /// Identifies this process's workers in task leases.
  public var owner: String
  /// How long a claim lasts without renewal; renewed every third of it while the task runs.
  public var leaseDuration: Duration
  /// Attempts per task (first run, retries after transient failures, runs after a crash).
  public var maxAttempts: Int
  /// The wait before retry number `attempt` (1-based): exponential, capped, with ±20 % jitter.
  public var retryBase: Duration
  /// At most this many tasks of a backend run at once (by the backend name tasks record).
  public var backendLimits: [String: Int]

  public init(
    owner: String = UUID().uuidString.lowercased(), leaseDuration: Duration = .seconds(30), maxAttempts: Int = 3,
    retryBase: Duration = .seconds(2), backendLimits: [String: Int] = ["default-video": 4, "async-video": 4]
  ) {
    self.owner = owner
    self.leaseDuration = leaseDuration
    self.maxAttempts = maxAttempts
    self.retryBase = retryBase
    self.backendLimits = backendLimits
  }

  public func lease(from now: Date) -> Lease {
    Lease(owner: owner, expires: now.addingTimeInterval(leaseDuration.seconds))
  }

  public func retryDelay(afterAttempt attempt: Int) -> Duration {
    let exponential = retryBase * (1 << min(max(attempt - 1, 0), 5))
    return exponential * Double.random(in: 0.8...1.2)
  }
}

extension Duration {
  /// The duration in seconds, as a TimeInterval.
  public var seconds: Double {
    let (seconds, attoseconds) = components
    return Double(seconds) + Double(attoseconds) / 1e18
  }
}
