import EaselPostgres
import EaselRPC
import Foundation
import GRPCCore
import Logging
import PostgresNIO
import Synchronization
import Testing

/// PostgreSQL's update log has no lock on the write path: writers append rows without a
/// position and one elected node's sequencer positions them (see `UpdateSequencer`). These tests
/// hold it to the log's promises — every change, in order, once — through a sequencer's death and
/// beside an idle transaction. Only with `EASEL_TEST_DATABASE_URL`; they run one at a time (scripts/test).
@Suite(.enabled(if: TestDatabase.isPostgres), .serialized, .timeLimit(.minutes(3)))
struct SequencedLogTests {
  /// The advisory lock the sequencer holds, as pg_locks shows a bigint key.
  static let sequencerLock = """
    locktype = 'advisory' AND granted AND classid = 17761 AND objid = 1936026627
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    """

  @Test func aReaderMissesNothingWhileTwoNodesWriteAndTheSequencerIsKilled() async throws {
    let url = try #require(try await TestDatabase.url(for: TestServer.temporaryDirectory()))
    let shared = [
      "EASEL_DATABASE_URL": url, "EASEL_DATABASE_POOL_SIZE": "4", "EASEL_MAX_ACTIVE_TASKS_PER_USER": "1000",
      "EASEL_USER_CREATES_PER_MINUTE": "100000",
    ]
    let sequencer = try EaseldProcess(data: TestServer.temporaryDirectory(), workers: 0, environment: shared)
    let other = try EaseldProcess(data: TestServer.temporaryDirectory(), workers: 0, environment: shared)
    defer {
      sequencer.kill(SIGKILL)
      other.kill(SIGKILL)
    }
    try await withDatabase(url) { database in
      // The first node up takes the sequencer's lock; the second stands by.
      try await sequencer.start()
      try await waitUntil { try await database.count("SELECT COUNT(*) FROM pg_locks WHERE \(Self.sequencerLock)") == 1 }
      try await other.start()
      let start = try await database.count("SELECT position FROM update_log_head")

      let (writers, createsEach) = (8, 30)
      let (created, canceled) = (Shared<[String]>([]), Shared<[String]>([]))
      let reader = database.follow(after: start)
      try await withNode(sequencer) { first in
        try await withNode(other) { second in
          for writer in 0..<writers { try await first.grant("w\(writer)", 1_000) }
          try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
              let node = writer.isMultiple(of: 2) ? first : second
              group.addTask {
                // Half the writers use the node about to die: their calls fail from then on.
                for index in 0..<createsEach {
                  let task: Easel_V1_Task
                  do { task = try await node.create("w\(writer)", prompt: "change \(index)") } catch {
                    print("writer \(writer) stopped: \(error)")
                    return
                  }
                  created.withLock { $0.append(task.id) }
                  guard index.isMultiple(of: 2) else { continue }
                  guard (try? await node.tasks.cancelTask(.with { $0.userID = "w\(writer)"; $0.taskID = task.id })) != nil
                  else { return }
                  canceled.withLock { $0.append(task.id) }
                }
              }
            }
            try await waitUntil { created.withLock { $0.count } >= writers * createsEach / 4 }
            sequencer.kill(SIGKILL)
            try await group.waitForAll()
          }
        }
      }
      // The other node (or none) took over: every committed row gets its position.
      try await waitUntil(within: .seconds(5)) {
        try await database.count("SELECT COUNT(*) FROM task_updates WHERE position IS NULL") == 0
      }
      // A row committed by a node that died before waking the sequencer: the new sequencer's sweep
      // positions it, with no other commit to wake anyone.
      let bystanders = try await database.connection.query(
        """
        INSERT INTO task_updates (task_id, platform, user_id, sequence, status, snapshot, created_at)
        SELECT task_id, platform, user_id, 99, status, snapshot, created_at FROM task_updates
        WHERE task_id = (SELECT task_id FROM task_updates GROUP BY task_id HAVING COUNT(*) = 1 LIMIT 1)
        RETURNING task_id
        """, logger: database.logger
      ).decode(String.self)
      var bystander: String?
      for try await id in bystanders { bystander = id }
      let stranded = ContinuousClock.now
      try await waitUntil(within: .seconds(5)) {
        try await database.count("SELECT COUNT(*) FROM task_updates WHERE position IS NULL") == 0
      }
      #expect(ContinuousClock.now - stranded < .seconds(2), "swept within 250 ms, give or take a busy machine")
      let head = try await database.count("SELECT position FROM update_log_head")
      try await waitUntil { await reader.progress.last >= head }
      reader.task.cancel()
      let seen = await reader.progress.rows
      #expect(seen.map(\.position) == Array(start + 1...head), "every position once, in order, no gap")
      let total = try await database.count("SELECT COUNT(*) FROM task_updates WHERE position > \(start)")
      #expect(Int64(seen.count) == total)
      var sequences: [String: [Int64]] = [:]
      for row in seen { sequences[row.taskID, default: []].append(row.sequence) }
      for id in created.withLock({ $0 }) { #expect(sequences[id]?.first == 1, "the create of \(id) was seen") }
      for id in canceled.withLock({ $0 }) { #expect(sequences[id] == [1, 2], "the cancel of \(id) was seen after its create") }
      #expect(sequences[try #require(bystander)] == [1, 99], "the stranded row was seen")
      #expect(sequences.values.allSatisfy { $0 == $0.sorted() })
      #expect(canceled.withLock { $0.count } > 0)
      #expect(created.withLock { $0.count } > writers * createsEach / 2)
    }
  }

  @Test func anIdleTransactionElsewhereDoesNotDelayLiveUpdates() async throws {
    let directory = try TestServer.temporaryDirectory()
    let url = try #require(try await TestDatabase.url(for: directory))
    try await withDatabase(url) { idle in
      // Open, holding a transaction id and a row lock, and left idle: what a log ordered by
      // transaction ids would have to wait for.
      try await idle.connection.query("BEGIN", logger: idle.logger)
      try await idle.connection.query("SELECT txid_current()", logger: idle.logger)
      try await withTestServer(directory: directory, workers: 0) { server in
        try await server.grant("ivy", 1_000)
        try await idle.connection.query(
          "UPDATE credit_accounts SET held = held WHERE user_id = 'ivy' AND platform = 'nobody'", logger: idle.logger)
        let arrivals = Shared<[String: ContinuousClock.Instant]>([:])
        let stream = Task {
          try await server.tasks.streamTaskUpdates(.with { $0.userID = "ivy" }) { response in
            for try await update in response.messages {
              arrivals.withLock { $0[update.task.id] = $0[update.task.id] ?? .now }
            }
          }
        }
        defer { stream.cancel() }
        let warmUp = try await server.create("ivy", prompt: "warm up")
        try await waitUntil { arrivals.withLock { $0[warmUp.id] } != nil }
        var delays: [Duration] = []
        for index in 0..<20 {
          let task = try await server.create("ivy", prompt: "live \(index)")
          let answered = ContinuousClock.now
          try await waitUntil(within: .seconds(5)) { arrivals.withLock { $0[task.id] } != nil }
          delays.append(try #require(arrivals.withLock { $0[task.id] }) - answered)
        }
        // The benchmark holds the bound of 50 ms on a quiet machine; a test shares it with others.
        #expect(delays.max()! < .milliseconds(500), "\(delays)")
      }
      try await idle.connection.query("ROLLBACK", logger: idle.logger)
    }
  }
}

/// A plain connection to the test's database, for what the test checks behind Easel's back.
struct DatabaseSession: Sendable {
  let connection: PostgresConnection
  let logger: Logger

  func count(_ sql: String) async throws -> Int64 {
    let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(Int64.self)
    for try await value in rows { return value }
    return 0
  }

  struct LogRow: Sendable {
    var position: Int64
    var taskID: String
    var sequence: Int64
  }

  /// What a reader following the log has seen so far.
  actor Progress {
    var rows: [LogRow] = []
    var last: Int64 = 0
    func add(_ page: [LogRow], last: Int64) {
      rows += page
      self.last = last
    }
  }

  /// Reads positioned rows as every node's listener does, until canceled.
  func follow(after start: Int64) -> (progress: Progress, task: Task<Void, any Error>) {
    let progress = Progress()
    let task = Task {
      var last = start
      await progress.add([], last: start)
      while !Task.isCancelled {
        let rows = try await connection.query(
          "SELECT position, task_id, sequence FROM task_updates WHERE position > \(last) ORDER BY position LIMIT 200",
          logger: logger
        ).decode((Int64, String, Int64).self)
        var page: [LogRow] = []
        for try await (position, taskID, sequence) in rows { page.append(LogRow(position: position, taskID: taskID, sequence: sequence)) }
        last = page.last?.position ?? last
        await progress.add(page, last: last)
        if page.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
      }
    }
    return (progress, task)
  }
}

func withDatabase<T: Sendable>(_ url: String, _ body: (DatabaseSession) async throws -> T) async throws -> T {
  let logger = Logger(label: "easel.test.database") { _ in SwiftLogNoOpLogHandler() }
  let configuration = try DatabaseURL(url).connectionConfiguration(connectTimeout: .seconds(10))
  let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
  do {
    let result = try await body(DatabaseSession(connection: connection, logger: logger))
    try await connection.close()
    return result
  } catch {
    try? await connection.close()
    throw error
  }
}

/// A value tasks share.
final class Shared<Value: Sendable>: Sendable {
  private let value: Mutex<Value>
  init(_ value: Value) { self.value = Mutex(value) }
  func withLock<T>(_ body: (inout Value) -> T) -> T { value.withLock { body(&$0) } }
}
