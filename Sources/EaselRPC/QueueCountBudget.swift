/// How many queue counts (positions and estimated starts) one stream may make: `perSecond`, in
/// bursts of up to that many. A stream following a burst of thousands of new tasks sends their
/// updates as they come, with positions where the budget allows, instead of counting the queue for
/// each and falling behind (a subscriber that falls too far behind is ended).
struct QueueCountBudget {
  let perSecond: Double
  private var tokens: Double
  private var refilled = ContinuousClock.now

  init(perSecond: Double = 50) {
    self.perSecond = perSecond
    tokens = perSecond
  }

  mutating func take(now: ContinuousClock.Instant = .now) -> Bool {
    let elapsed = now - refilled
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    tokens = min(perSecond, tokens + perSecond * max(0, seconds))
    refilled = max(refilled, now)
    guard tokens >= 1 else { return false }
    tokens -= 1
    return true
  }
}
