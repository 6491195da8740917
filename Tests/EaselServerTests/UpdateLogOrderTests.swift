import EaselCore
import Foundation
import Testing

/// The update log is read from a position onward (by every node's listener and by resumed
/// streams), so a change must never appear behind a position a reader has already passed: log ids
/// must follow commit order, which concurrent writers on PostgreSQL get from the log lock.
@Suite(.timeLimit(.minutes(2))) struct UpdateLogOrderTests {
  @Test func aReaderFollowingTheLogWhileManyWriteMissesNothing() async throws {
    let directory = try TestServer.temporaryDirectory()
    let (writers, createsEach) = (8, 40)
    try await withTestServer(directory: directory, workers: 0) { server in
      for writer in 0..<writers { try await server.grant("w\(writer)", 1_000) }
      // Another process's view of the same store, reading the log as a listener does.
      try await TestDatabase.withStore(directory) { reader in
        let start = try await reader.updates(after: 0, scope: .platform("default"), limit: 10_000).last?.updateID ?? 0
        async let followed: [Int64] = {
          var seen: [Int64] = []
          var last = start
          let deadline = ContinuousClock.now + .seconds(30)
          while seen.count < writers * createsEach, ContinuousClock.now < deadline {
            let page = try await reader.updates(after: last, scope: .platform("default"), limit: 100)
            seen += page.map(\.updateID)
            last = page.last?.updateID ?? last
            if page.isEmpty { try await Task.sleep(for: .milliseconds(2)) }
          }
          return seen
        }()
        try await withThrowingTaskGroup(of: Void.self) { group in
          for writer in 0..<writers {
            group.addTask {
              for index in 0..<createsEach { _ = try await server.create("w\(writer)", prompt: "change \(index)") }
            }
          }
          try await group.waitForAll()
        }
        let seen = try await followed
        #expect(seen.count == writers * createsEach, "the reader missed \(writers * createsEach - seen.count) changes")
        #expect(seen == seen.sorted() && Set(seen).count == seen.count)
      }
    }
  }
}
