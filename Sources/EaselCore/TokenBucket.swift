/// Up to `capacity` tokens, refilled at `perSecond`: the rate limits' bucket.
public struct TokenBucket: Sendable {
  public let capacity: Double
  public let perSecond: Double
  public private(set) var tokens: Double
  private var updated: ContinuousClock.Instant

  public init(capacity: Double, perSecond: Double, now: ContinuousClock.Instant = .now) {
    self.capacity = capacity
    self.perSecond = perSecond
    tokens = capacity
    updated = now
  }

  /// Takes `cost` tokens; false (taking none) when the bucket holds fewer.
  public mutating func take(_ cost: Double = 1, now: ContinuousClock.Instant = .now) -> Bool {
    tokens = min(capacity, tokens + max(0, (now - updated).seconds) * perSecond)
    updated = max(updated, now)
    guard tokens >= cost else { return false }
    tokens -= cost
    return true
  }
}
