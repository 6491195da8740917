import EaselCore
import Foundation
import Testing

/// The GetTask cache never serves a state older than the last commit this process made.
struct TaskReadCacheTests {
  static func task(_ id: String, sequence: UInt64) throws -> GenerationTask {
    GenerationTask(
      id: id, account: try Account(platform: "p", userID: "u"), kind: .image, status: .pending, prompt: "x",
      parameters: [:], template: TemplateRef(code: "t", name: "T", version: "1", category: "c"), backend: "procedural",
      creditCost: 1, sequence: sequence, createdAt: Date(), updatedAt: Date())
  }

  @Test func aReadIsRememberedUntilACommitChangesTheTask() async throws {
    let cache = TaskReadCache()
    var reads = 0
    let read = { () throws -> GenerationTask? in
      reads += 1
      return try Self.task("a", sequence: UInt64(reads))
    }
    #expect(try await cache.task(id: "a", read: read)?.sequence == 1)
    #expect(try await cache.task(id: "a", read: read)?.sequence == 1, "served from the cache")
    #expect(reads == 1)
    cache.invalidate("a")
    #expect(try await cache.task(id: "a", read: read)?.sequence == 2, "read again after a commit")
    cache.invalidate(nil)
    #expect(try await cache.task(id: "a", read: read)?.sequence == 3, "read again after a purge")
  }

  @Test func aReadThatACommitOverlapsIsNotRemembered() async throws {
    let cache = TaskReadCache()
    // The read saw the state before a commit whose invalidation ran while it was reading.
    let stale = try await cache.task(id: "b") {
      cache.invalidate("b")
      return try Self.task("b", sequence: 1)
    }
    #expect(stale?.sequence == 1)
    #expect(try await cache.task(id: "b") { try Self.task("b", sequence: 2) }?.sequence == 2, "the old state was not kept")
  }

  @Test func aCommitToAnotherTaskDuringAReadDoesNotStopTheFill() async throws {
    let cache = TaskReadCache()
    // The change feed drops entries of other tasks all the time (PostgreSQL).
    _ = try await cache.task(id: "d") {
      cache.invalidate("other")
      return try Self.task("d", sequence: 1)
    }
    #expect(try await cache.task(id: "d") { try Self.task("d", sequence: 2) }?.sequence == 1, "remembered")
    // Two reads of one task at once: a commit during them keeps both out.
    cache.invalidate("d")
    _ = try await cache.task(id: "d") {
      _ = try await cache.task(id: "d") {
        cache.invalidate("d")
        return try Self.task("d", sequence: 3)
      }
      return try Self.task("d", sequence: 3)
    }
    #expect(try await cache.task(id: "d") { try Self.task("d", sequence: 4) }?.sequence == 4)
  }

  @Test func entriesExpireAndMissesAreNotRemembered() async throws {
    let cache = TaskReadCache(lifetime: .milliseconds(50))
    let start = ContinuousClock.now
    #expect(try await cache.task(id: "c", now: start) { nil } == nil)
    #expect(try await cache.task(id: "c", now: start) { try Self.task("c", sequence: 1) }?.sequence == 1, "a miss is read again")
    #expect(try await cache.task(id: "c", now: start + .milliseconds(49)) { try Self.task("c", sequence: 2) }?.sequence == 1)
    #expect(try await cache.task(id: "c", now: start + .milliseconds(50)) { try Self.task("c", sequence: 3) }?.sequence == 3, "expired")
  }
}
