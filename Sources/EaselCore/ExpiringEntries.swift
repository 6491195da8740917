/// A map whose entries expire, for the small caches in front of the store (tasks just read, API
/// keys just checked). It starts over when full rather than tracking what to evict. Not locked:
/// the caches keep it behind their own lock. `now` is a parameter so tests can move time.
public struct ExpiringEntries<Value> {
  private var entries: [String: (value: Value, until: ContinuousClock.Instant)] = [:]
  private let capacity: Int

  public init(capacity: Int) {
    self.capacity = capacity
  }

  /// The value if present and not expired (an expired one is dropped).
  public mutating func value(for key: String, now: ContinuousClock.Instant = .now) -> Value? {
    guard let entry = entries[key] else { return nil }
    guard entry.until > now else {
      entries[key] = nil
      return nil
    }
    return entry.value
  }

  public mutating func insert(_ value: Value, for key: String, lifetime: Duration, now: ContinuousClock.Instant = .now) {
    if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
    entries[key] = (value, now + lifetime)
  }

  public mutating func remove(_ key: String) { entries[key] = nil }

  public mutating func removeAll() { entries.removeAll() }
}

extension ExpiringEntries: Sendable where Value: Sendable {}
