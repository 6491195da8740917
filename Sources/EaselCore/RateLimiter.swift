import Foundation
import Synchronization

/// Token buckets by key: up to `perMinute` calls at once, refilled at `perMinute` a minute.
public final class RateLimiter: Sendable {
  public let perMinute: Int
  private let buckets = Mutex<[String: TokenBucket]>([:])

  public init(perMinute: Int) {
    self.perMinute = perMinute
  }

  /// Takes `cost` tokens for `key`; false when its bucket holds fewer.
  public func allow(_ key: String, cost: Int = 1, now: ContinuousClock.Instant = .now) -> Bool {
    let capacity = Double(perMinute)
    return buckets.withLock { buckets in
      var bucket = buckets[key] ?? TokenBucket(capacity: capacity, perSecond: capacity / 60, now: now)
      let allowed = bucket.take(Double(cost), now: now)
      buckets[key] = bucket
      if buckets.count > 100_000 { buckets = buckets.filter { $0.value.tokens < capacity } }  // forget idle keys
      return allowed
    }
  }
}

/// What one user, or one API key, may ask of the server.
public struct UsageLimits: Sendable {
  /// PENDING + PROCESSING tasks one user may have at once.
  public var maxActiveTasksPerUser: Int
  public var userCreatesPerMinute: Int
  public var keyCreatesPerMinute: Int
  /// The most PENDING tasks a backend's queue may hold (`EASEL_MAX_QUEUE_LENGTH`); absent: no bound.
  public var maxQueueLength: [String: Int] = [:]

  public init(maxActiveTasksPerUser: Int = 10, userCreatesPerMinute: Int = 60, keyCreatesPerMinute: Int = 600) {
    self.maxActiveTasksPerUser = maxActiveTasksPerUser
    self.userCreatesPerMinute = userCreatesPerMinute
    self.keyCreatesPerMinute = keyCreatesPerMinute
  }
}
