import EaselCore
@testable import EaselPostgres
import Foundation
import PostgresNIO
import Synchronization
import Testing

/// PostgreSQL's update log is ordered by transaction id, without a lock: a change is passed on
/// only once every older transaction has ended, so no later commit can come before it. (In the
/// serialized multi-node suite: the open transaction holds back every database on the cluster,
/// which would skew other tests' timings.)
extension MultiNodeTests {
  final class Received: Sendable {
    let lines = Mutex<[String]>([])
    func add(_ line: String) { lines.withLock { $0.append(line) } }
    func contains(_ prefix: String) -> Bool { lines.withLock { $0.contains { $0.hasPrefix(prefix) } } }
  }

  @Test func changesWaitForAnOlderOpenTransactionAndStreamsSendEachStateOnce() async throws {
    let directory = try TestServer.temporaryDirectory()
    let url = try DatabaseURL(try #require(try await TestDatabase.url(for: directory)))
    try await withTestServer(directory: directory, workers: 0) { server in
      try await server.grant("zoe", 10)
      let older = try await PostgresConnection.connect(
        configuration: url.connectionConfiguration(connectTimeout: .seconds(10)), id: 1, logger: TestServer.quietLogger)
      do {
        try await Self.createWhileAnOlderTransactionIsOpen(server, older: older)
        try await older.close()
      } catch {
        try? await older.close()
        throw error
      }
    }
  }

  static func createWhileAnOlderTransactionIsOpen(_ server: TestServer, older: PostgresConnection) async throws {
    let quiet = TestServer.quietLogger
    // An open transaction that has an id, so it is older than every change below.
    _ = try await older.query("BEGIN", logger: quiet).collect()
    _ = try await older.query("SELECT pg_current_xact_id()", logger: quiet).collect()

    let task = try await server.create("zoe")
    let received = Received()
    func follow(_ name: String, resumeToken: String) -> Task<[String], any Error> {
      Task {
        let updates = try await server.stream(.with {
          $0.userID = "zoe"
          $0.resumeToken = resumeToken
        }) { updates in
          received.add("\(name) \(updates.last!.task.status)")
          return updates.count == 2
        }
        return updates.map { "\($0.task.status) \($0.sequence)" }
      }
    }
    let resumed = follow("resumed", resumeToken: "u0")  // replays the log, then follows it
    let current = follow("current", resumeToken: "")  // current states, then follows the log
    try await waitUntil { received.contains("current pending") }
    try await Task.sleep(for: .milliseconds(200))
    #expect(!received.contains("resumed"), "the committed create waits for the older transaction")

    // A rollback sends no notification: the node looks again by itself.
    _ = try await older.query("ROLLBACK", logger: quiet).collect()
    try await waitUntil { received.contains("resumed pending") }

    _ = try await server.tasks.cancelTask(.with {
      $0.userID = "zoe"
      $0.taskID = task.id
    })
    let (resumedStates, currentStates) = (try await resumed.value, try await current.value)
    #expect(resumedStates == ["pending 1", "canceled 2"])
    #expect(currentStates == ["pending 1", "canceled 2"], "the current state is not sent again")
  }
}
