import EaselCore
import EaselPostgres
import EaselRPC
import EaselServer
import Foundation
import GRPCCore
import Logging
import Testing

/// Several `easeld` processes on one PostgreSQL database and one S3 bucket (moto), as the README's
/// scale-out deployment runs them. Only with `EASEL_TEST_DATABASE_URL` (scripts/test sets it).
@Suite(.enabled(if: TestDatabase.isPostgres), .serialized, .timeLimit(.minutes(3)))
struct MultiNodeTests {
  /// A fresh database both nodes share, and the bucket they keep artifacts in.
  static func sharedEnvironment(_ s3: S3Server) async throws -> [String: String] {
    let url = try await TestDatabase.url(for: TestServer.temporaryDirectory())
    let database = try #require(url)
    return [
      "EASEL_DATABASE_URL": database, "AWS_S3_BUCKET": s3.info.bucket, "AWS_REGION": s3.info.region,
      "AWS_ENDPOINT_URL": s3.info.endpoint, "AWS_ACCESS_KEY_ID": s3.info.access_key_id,
      "AWS_SECRET_ACCESS_KEY": s3.info.secret_access_key,
    ]
  }

  @Test func tasksCreatedOnOneNodeRunOnTheOtherAndItsStreamsSeeThem() async throws {
    let s3 = try S3Server()
    let shared = try await Self.sharedEnvironment(s3)
    let api = try EaseldProcess(data: TestServer.temporaryDirectory(), workers: 0, environment: shared)
    // Generations take long enough for the API node's stream to be open before they end.
    let worker = try EaseldProcess(
      data: TestServer.temporaryDirectory(), workers: 2, arguments: ["--no-api"],
      environment: shared.merging(["EASEL_PROCEDURAL_DELAY_MS": "1500"]) { $1 })
    try await api.start()
    try await worker.start()
    defer {
      api.kill(SIGKILL)
      worker.kill(SIGKILL)
    }
    // The workers-only node serves health and nothing else.
    let refused = try await withNode(worker) { node in await rpcError { try await node.balance("kim") } }
    #expect(refused?.code == .unimplemented)

    try await withNode(api) { node in
      try await node.grant("kim", 100)
      for index in 0..<3 {
        let task = try await node.create("kim", prompt: "harbour \(index)")
        // The API node has no workers: the other node ran it, and this node's stream saw it happen.
        let updates = try await node.updates("kim", task.id).map(\.task.status)
        #expect(updates.suffix(2) == [.processing, .completed], "\(updates)")
        let done = try await node.get("kim", task.id)
        // Woken by the NOTIFY of the create, not by its once-a-second poll.
        let wait = done.startedAt.date.timeIntervalSince(done.createdAt.date)
        #expect(wait < 0.7, "task \(index) waited \(wait) s for a worker")
        // The output is in the shared bucket, so this node serves what the other one made.
        let (bytes, contentType, _) = try await node.artifact("kim", task.id, .output)
        #expect(contentType == "image/png" && bytes.count > 100)
      }
      let balance = try await node.balance("kim")
      #expect(balance.balance == 70 && balance.held == 0)
    }
  }

  @Test func concurrentCreatesAndRetriesOnTwoNodesChargeExactlyOnce() async throws {
    let s3 = try S3Server()
    let shared = try await Self.sharedEnvironment(s3)
    let nodes = try (0..<2).map { _ in
      try EaseldProcess(data: TestServer.temporaryDirectory(), workers: 2, environment: shared)
    }
    for node in nodes { try await node.start() }
    defer { for node in nodes { node.kill(SIGKILL) } }
    let users = (0..<10).map { "user\($0)" }
    try await withNode(nodes[0]) { first in
      for user in users { try await first.grant(user, 50) }  // five tasks of 10 each
      try await withNode(nodes[1]) { second in
        // 200 creates at once, alternating between the nodes: exactly five per user may succeed.
        let outcomes = try await withThrowingTaskGroup(of: (String, String?).self) { group in
          for index in 0..<200 {
            let node = index.isMultiple(of: 2) ? first : second
            let user = users[index % users.count]
            group.addTask {
              do {
                return (user, try await node.create(user, prompt: "attempt \(index)").id)
              } catch let error as RPCError {
                #expect(error.code == .failedPrecondition, "\(error)")
                return (user, nil)
              }
            }
          }
          return try await group.reduce(into: []) { $0.append($1) }
        }
        for user in users {
          let created = outcomes.filter { $0.0 == user }.compactMap(\.1)
          #expect(created.count == 5, "\(user) got \(created.count) tasks for 50 credits")
          for id in created { #expect(try await first.finished(user, id).status == .completed) }
          let balance = try await second.balance(user)
          #expect(balance.balance == 0 && balance.held == 0, "\(user): \(balance)")
          let kinds = try await first.ledger(user).map(\.kind)
          #expect(kinds.filter { $0 == "HOLD" }.count == 5 && kinds.filter { $0 == "CAPTURE" }.count == 5)
        }

        // 40 retries of one request, with one idempotency key, at once on both nodes: one task, one charge.
        try await first.grant("ida", 100)
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
          for index in 0..<40 {
            let node = index.isMultiple(of: 2) ? first : second
            group.addTask { try await node.create("ida", prompt: "once", idempotencyKey: "order-7").id }
          }
          return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(ids.count == 1, "\(ids.count) tasks for one key")
        let once = try #require(ids.first)
        #expect(try await second.finished("ida", once).status == .completed)
        #expect(try await first.ledger("ida").filter { $0.taskID == once }.map(\.kind).sorted() == ["CAPTURE", "HOLD"])
        #expect(try await first.balance("ida").balance == 90)
      }
    }
    let audit = try await runTool("easeld", ["check-ledger"], environment: shared)
    #expect(audit.status == 0 && audit.stdout.contains("ledger consistent"), "\(audit.stdout)\(audit.stderr)")
  }

  @Test func aSIGKILLedNodesTasksAreFinishedByTheOther() async throws {
    let s3 = try S3Server()
    let shared = try await Self.sharedEnvironment(s3)
    // Slow generations and short leases, so the kill lands mid-work and the rescue comes soon.
    let slow = shared.merging(["EASEL_PROCEDURAL_DELAY_MS": "2000", "EASEL_LEASE_SECONDS": "3"]) { $1 }
    let doomed = try EaseldProcess(data: TestServer.temporaryDirectory(), workers: 2, environment: slow)
    let survivor = try EaseldProcess(data: TestServer.temporaryDirectory(), workers: 2, environment: slow)
    try await doomed.start()
    try await survivor.start()
    defer { survivor.kill(SIGKILL) }
    let doomedID = try String(contentsOf: doomed.data.appendingPathComponent("node-id"), encoding: .utf8)
      .trimmingCharacters(in: .whitespacesAndNewlines)
    let database = try #require(shared["EASEL_DATABASE_URL"])

    try await withNode(survivor) { node in
      try await node.grant("ada", 100)
      var ids: [String] = []
      for index in 0..<6 { ids.append(try await node.create("ada", prompt: "slow \(index)").id) }
      // Kill the node once it is running two of them.
      try await waitUntil {
        let count = try await runTool(
          "psql", [database, "-tAc", "SELECT COUNT(*) FROM tasks WHERE status = 'PROCESSING' AND lease_owner = '\(doomedID)'"])
        return count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2"
      }
      doomed.kill(SIGKILL)
      _ = await doomed.exitStatus()

      var finished: [Easel_V1_Task] = []
      for id in ids { finished.append(try await node.finished("ada", id)) }
      #expect(finished.allSatisfy { $0.status == .completed })
      #expect(finished.filter { $0.attempts == 2 }.count == 2, "the killed node's two tasks ran again")
      let balance = try await node.balance("ada")
      #expect(balance.balance == 40 && balance.held == 0)
    }
    let audit = try await runTool("easeld", ["check-ledger"], environment: shared)
    #expect(audit.status == 0 && audit.stdout.contains("ledger consistent"), "\(audit.stdout)\(audit.stderr)")
  }

  @Test func aDatabaseOutageFailsCallsUnavailableAndTheNodeRecovers() async throws {
    let directory = try TestServer.temporaryDirectory()
    let directURL = try #require(try await TestDatabase.url(for: directory))
    let direct = try #require(URLComponents(string: directURL))
    let databasePort = try #require(direct.port)
    let proxy = try PythonFixture("tcp_proxy.py", arguments: [String(databasePort)])
    var proxied = direct
    proxied.port = Int(proxy.readyLine)
    let url = try DatabaseURL(try #require(proxied.string))

    // The server's notices (connection lost, restored) go to the test log, for a failure's story.
    var logger = Logger(label: "outage-test") { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = .notice
    try await withTestServer(directory: directory, configure: { $0.databaseURL = url }, logger: logger) { server in
      try await server.grant("eve", 50)
      let task = try await server.create("eve", prompt: "before")
      #expect(try await server.finished("eve", task.id).status == .completed)

      logger.notice("test: cutting the database off")
      try proxy.send("cut")  // the database is gone
      let started = ContinuousClock.now
      try await waitUntil { await rpcError { try await server.get("eve", task.id) }?.code == .unavailable }
      #expect(ContinuousClock.now - started < .seconds(3), "calls fail fast while the database is away")
      let failed = await rpcError { try await server.create("eve", prompt: "during") }
      #expect(failed?.code == .unavailable && failed?.message.contains("database") == true)
      try await waitUntil { try await server.health.check(.init()).status == .notServing }

      logger.notice("test: the server answered UNAVAILABLE and NOT_SERVING; restoring the database")
      try proxy.send("restore")  // it is back
      try await waitUntil { (try? await server.get("eve", task.id)) != nil }
      logger.notice("test: the server reads again; running a task")
      let after = try await server.create("eve", prompt: "after")
      #expect(try await server.finished("eve", after.id).status == .completed)
      #expect(try await server.balance("eve").balance == 30)
      logger.notice("test: done; shutting down")
    }
  }
}

extension MultiNodeTests {
  /// A worker node (an `easeld` process, with `workerEnvironment` added) that runs tasks slowly,
  /// and an API server in this process on the same database, which it reaches through a proxy the
  /// test can cut.
  static func withWorkerAndCuttableServer(
    workerEnvironment: [String: String] = [:],
    _ body: (_ server: TestServer, _ proxy: PythonFixture, _ database: String) async throws -> Void
  ) async throws {
    let s3 = try S3Server()
    let shared = try await Self.sharedEnvironment(s3)
    let database = try #require(shared["EASEL_DATABASE_URL"])
    let worker = try EaseldProcess(
      data: TestServer.temporaryDirectory(), workers: 1,
      environment: shared.merging(["EASEL_PROCEDURAL_DELAY_MS": "1500"].merging(workerEnvironment) { $1 }) { $1 })
    try await worker.start()
    defer { worker.kill(SIGKILL) }
    var direct = try #require(URLComponents(string: database))
    let proxy = try PythonFixture("tcp_proxy.py", arguments: [String(try #require(direct.port))])
    direct.port = Int(proxy.readyLine)
    let proxied = try DatabaseURL(try #require(direct.string))
    try await withTestServer(workers: 0, configure: {
      $0.databaseURL = proxied
      $0.s3 = s3.settings()
    }) { server in try await body(server, proxy, database) }
  }

  @Test func updatesMadeWhileANodeWasCutOffReachItsStreamsAfterward() async throws {
    try await Self.withWorkerAndCuttableServer { server, proxy, database in
      try await server.grant("ivo", 10)
      let task = try await server.create("ivo", prompt: "while away")
      // A stream on this node, open (its first message seen) before the cut.
      let (opened, open) = AsyncStream.makeStream(of: Void.self)
      let request = Easel_V1_StreamTaskUpdatesRequest.with {
        $0.userID = "ivo"
        $0.taskID = task.id
      }
      async let streamed = server.tasks.streamTaskUpdates(request) { response in
        var statuses: [Easel_V1_TaskStatus] = []
        for try await update in response.messages {
          statuses.append(update.task.status)
          open.yield()
        }
        return statuses
      }
      for await _ in opened { break }
      let status = { try await runTool("psql", [database, "-tAc", "SELECT status FROM tasks WHERE id = '\(task.id)'"]).stdout }
      try await waitUntil { try await status().contains("PROCESSING") }
      try proxy.send("cut")  // cut off while the other node finishes the task
      try await waitUntil { try await status().contains("COMPLETED") }
      try proxy.send("restore")
      // The stream stayed open; the missed updates come from the log once the node is back.
      let updates = try await streamed
      #expect(updates.last == .completed, "\(updates)")
    }
  }
}

extension MultiNodeTests {
  @Test func aNodeCutOffPastTheLogsRetentionEndsItsStreamsWithOutOfRange() async throws {
    // The worker node runs the task and trims the log a second after each change.
    try await Self.withWorkerAndCuttableServer(workerEnvironment: ["EASEL_UPDATE_LOG_RETENTION": "1s"]) {
      server, proxy, database in
      try await server.grant("uma", 10)
      let task = try await server.create("uma", prompt: "while away for long")
      let (opened, open) = AsyncStream.makeStream(of: Void.self)
      let request = Easel_V1_StreamTaskUpdatesRequest.with {
        $0.userID = "uma"
        $0.taskID = task.id
      }
      async let streamed: RPCError? = {
        do {
          try await server.tasks.streamTaskUpdates(request) { response in
            for try await _ in response.messages { open.yield() }
          }
          return nil
        } catch {
          return error as? RPCError
        }
      }()
      for await _ in opened { break }
      let psql = { (query: String) in try await runTool("psql", [database, "-tAc", query]).stdout }
      try await waitUntil { try await psql("SELECT status FROM tasks WHERE id = '\(task.id)'").contains("PROCESSING") }
      try proxy.send("cut")
      // The task completes, and every change of it leaves the log, while this node can't read it.
      try await waitUntil { try await psql("SELECT status FROM tasks WHERE id = '\(task.id)'").contains("COMPLETED") }
      try await waitUntil(within: .seconds(10)) {
        try await psql("SELECT COUNT(*) FROM task_updates WHERE task_id = '\(task.id)'").hasPrefix("0")
      }
      try proxy.send("restore")
      // The stream can't be told what it missed: it ends, and says how to go on.
      let ended = try await streamed
      #expect(ended?.code == .outOfRange && ended?.message.contains("EASEL_UPDATE_LOG_RETENTION") == true, "\(String(describing: ended))")
      // A new stream starts from the task's current state.
      let fresh = try await server.stream(request) { _ in true }
      #expect(fresh.first?.task.status == .completed)
    }
  }
}

/// A `TestServer` view of an `easeld` process: gRPC clients on its Unix socket.
func withNode<T: Sendable>(_ node: EaseldProcess, _ body: (TestServer) async throws -> T) async throws -> T {
  try await withUnixClient(node.socketPath) { client in
    try await body(
      TestServer(
        directory: node.data, endpoints: .init(unixSocketPath: node.socketPath), tasks: .init(wrapping: client),
        templates: .init(wrapping: client), credits: .init(wrapping: client), health: .init(wrapping: client),
        admin: .init(wrapping: client)))
  }
}
