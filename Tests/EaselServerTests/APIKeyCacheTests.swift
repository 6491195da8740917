import EaselCore
import Foundation
import Testing

@testable import EaselRPC

struct APIKeyCacheTests {
  let record = APIKeyRecord(id: "k1", platform: "web", scope: .tasks, name: "test", createdAt: Date(), revokedAt: nil)

  @Test func aCheckedKeyIsTrustedForItsDurationOnly() async throws {
    let cache = APIKeyCache(duration: .milliseconds(100))
    #expect(cache.record(for: "ek_secret") == nil)
    cache.remember(record, for: "ek_secret")
    #expect(cache.record(for: "ek_secret") == record)
    #expect(cache.record(for: "ek_other") == nil)
    try await Task.sleep(for: .milliseconds(150))
    #expect(cache.record(for: "ek_secret") == nil, "expired: the next call asks the store, which knows of a revocation")
  }

  @Test func aZeroDurationChecksEveryCall() {
    let cache = APIKeyCache(duration: .zero)
    cache.remember(record, for: "ek_secret")
    #expect(cache.record(for: "ek_secret") == nil)
  }
}
