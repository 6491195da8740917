import EaselCore

/// How many queue counts (positions and estimated starts) one stream may make: `perSecond`, in
/// bursts of up to that many. A stream following a burst of thousands of new tasks sends their
/// updates as they come, with positions where the budget allows, instead of counting the queue for
/// each and falling behind (a subscriber that falls too far behind is ended).
struct QueueCountBudget {
  private var bucket: TokenBucket

  init(perSecond: Double = 50) {
    bucket = TokenBucket(capacity: perSecond, perSecond: perSecond)
  }

  mutating func take(now: ContinuousClock.Instant = .now) -> Bool { bucket.take(now: now) }
}
