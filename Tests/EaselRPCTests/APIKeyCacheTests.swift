import EaselCore
import Foundation
import Testing

@testable import EaselRPC

struct APIKeyCacheTests {
  let record = APIKeyRecord(id: "k1", platform: "web", scope: .tasks, name: "test", createdAt: Date(), revokedAt: nil)

  @Test func aCheckedKeyIsTrustedForItsDurationOnly() {
    let cache = APIKeyCache(duration: .milliseconds(100))
    let start = ContinuousClock.now
    #expect(cache.record(for: "ek_secret", now: start) == nil)
    cache.remember(record, for: "ek_secret", now: start)
    #expect(cache.record(for: "ek_secret", now: start + .milliseconds(99)) == record)
    #expect(cache.record(for: "ek_other", now: start) == nil)
    #expect(
      cache.record(for: "ek_secret", now: start + .milliseconds(100)) == nil,
      "expired: the next call asks the store, which knows of a revocation")
  }

  @Test func aZeroDurationChecksEveryCall() {
    let cache = APIKeyCache(duration: .zero)
    cache.remember(record, for: "ek_secret")
    #expect(cache.record(for: "ek_secret") == nil)
  }
}
