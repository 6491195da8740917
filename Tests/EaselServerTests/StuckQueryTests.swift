import EaselCore
@testable import EaselPostgres
import Foundation
import PostgresNIO
import Synchronization
import Testing

/// postgres-nio drops a query written to a connection that has just closed, and that query never
/// returns, cancelled or not. The store must give up on it rather than hang with it.
@Suite(.timeLimit(.minutes(1))) struct StuckQueryTests {
  @Test func aRaceEndsWithItsFirstResultWithoutWaitingForTheOthers() async throws {
    let race = Race<Int>()
    race.run { await Self.neverEnding() }
    race.run { 7 }
    #expect(try await race.value() == 7)
  }

  @Test func aCancelledWaiterStopsWaiting() async throws {
    let race = Race<Int>()
    race.run { await Self.neverEnding() }
    let waiter = Task { try await race.value() }
    waiter.cancel()
    await #expect(throws: CancellationError.self) { try await waiter.value }
  }

  @Test(.enabled(if: TestDatabase.isPostgres))
  func aQueryOnAConnectionClosedUnderItFailsUnavailable() async throws {
    let url = try #require(try await TestDatabase.url(for: TestServer.temporaryDirectory()))
    let store = try PostgresTaskStore(
      url: DatabaseURL(url), poolSize: 2, operationTimeout: .seconds(8), logger: TestServer.quietLogger)
    try await running(store) {
      let started = ContinuousClock.now
      let error = await #expect(throws: EaselError.self) {
        try await store.read { connection in
          var pid: Int32 = 0
          for try await row in try await connection.query("SELECT pg_backend_pid()", logger: TestServer.quietLogger)
            .decode(Int32.self)
          { pid = row }
          _ = try await runTool("psql", [url, "-tAc", "SELECT pg_terminate_backend(\(pid))"])
          try await connection.closeFuture.get()
          _ = try await connection.query("SELECT 1", logger: TestServer.quietLogger).collect()
        }
      }
      #expect(error?.code == .unavailable, "\(String(describing: error))")
      #expect(ContinuousClock.now - started < .seconds(30), "the store gave up at its operation timeout")
      // The pool replaced the closed connection: the store works on.
      let balance = try await store.balance(of: Account(platform: "default", userID: "nobody"))
      #expect(balance.balance == 0)
    }
  }

  @Test(.enabled(if: TestDatabase.isPostgres))
  func aTransactionGivenUpOnIsRolledBackNotCommittedLater() async throws {
    let directory = try TestServer.temporaryDirectory()
    let url = try #require(try await TestDatabase.url(for: directory))
    try await TestDatabase.withStore(directory) { _ in }  // migrated without the short timeout (tests run side by side)
    let store = try PostgresTaskStore(
      url: DatabaseURL(url), poolSize: 2, operationTimeout: .seconds(2), logger: TestServer.quietLogger)
    try await running(store) {
      let account = try Account(platform: "default", userID: "slow")
      let error = await #expect(throws: EaselError.self) {
        try await store.read { connection in
          // A transaction that ignores cancellation (an unstructured task does not inherit it),
          // as postgres-nio's queries may.
          try await Task {
            let quiet = TestServer.quietLogger
            _ = try await connection.query("BEGIN", logger: quiet).collect()
            _ = try await connection.query("SELECT pg_sleep(4)", logger: quiet).collect()  // outlasts the timeout
            _ = try await connection.query(
              "INSERT INTO credit_accounts (platform, user_id, balance) VALUES ('default', 'slow', 5)", logger: quiet
            ).collect()
            _ = try await connection.query("COMMIT", logger: quiet).collect()
          }.value
        }
      }
      #expect(error?.code == .unavailable)
      // The store closed the connection of the operation it gave up on, so nothing after the sleep
      // reaches the database, let alone commits.
      try await Task.sleep(for: .seconds(6))
      let balance = try await store.balance(of: account)
      #expect(balance.balance == 0)
    }
  }

  /// Runs `body` while the store's service (its pool and listener) runs.
  func running(_ store: PostgresTaskStore, _ body: () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await store.run() }
      defer { group.cancelAll() }
      try await store.ready()
      try await body()
    }
  }

  /// Never returns, even when cancelled: a stand-in for the stuck query.
  static func neverEnding() async -> Int {
    await withCheckedContinuation { continuation in parked.withLock { $0.append(continuation) } }
    return 0
  }

  static let parked = Mutex<[CheckedContinuation<Void, Never>]>([])
}
