import EaselPostgres
import EaselRPC
import EaselServer
import Foundation

/// The PostgreSQL store: CreateTask against raw PostgreSQL writing the same rows, one node against
/// two, GetTask and the pipeline against the same figures on SQLite in the same run.
struct PostgresBench {
  struct Figures {
    /// PostgresBaseline: the same rows, one transaction each, over `accounts` accounts.
    var raw: Double
    /// The database's CPU milliseconds per create: the reference's, and Easel's over `accounts`.
    var rawDatabaseMs: Double
    var databaseMs: Double
    var create: H2Load.Result
    /// The same load spread over `accounts` accounts: an account's changes wait for each other
    /// (its row is locked until commit), different accounts' do not.
    var createManyAccounts: H2Load.Result
    /// The same, half the accounts on each of two nodes on one database.
    var createTwoNodes: H2Load.Result
    /// Two nodes' rate over one node's, each run twice in turn (one, two, one, two) so that a
    /// slower minute of this shared machine weighs on both: the two rounds' rates, summed.
    var twoNodesOverOne: Double
    /// Create on one node → its update on a stream at the other, during `createTwoNodes`.
    var liveAcrossNodes: Latencies
    /// The same while the two nodes take half of `createTwoNodes`' rate: a busy deployment, not a
    /// saturated one.
    var liveAcrossNodesAtHalfRate: Latencies
    var get: H2Load.Result
    var pipeline: PipelineBench.Figures
    var pipelineTwoNodes: PipelineBench.Figures
    var rss: Int
  }

  let easeld: URL
  let url: String
  let folder: URL
  let h2load: H2Load
  let creates: Int
  let gets: Int
  let pipelineTasks: Int
  static let accounts = 16

  /// A new, empty database on the server at `url`; its URL.
  static func freshDatabaseURL(url: String, name: String) throws -> String {
    let name = "easel_bench_\(name)_\(UInt32.random(in: 0...UInt32.max))"
    try shell("psql", [url, "-qc", "CREATE DATABASE \(name)"])
    guard var components = URLComponents(string: url) else { throw BenchError("bad --postgres URL") }
    components.path = "/" + name
    return components.string ?? url
  }

  /// A new, empty database, as a store location (a pool of 4, as one node's workers use).
  static func freshDatabase(url: String, name: String) throws -> StoreLocation {
    .postgres(try DatabaseURL(try freshDatabaseURL(url: url, name: name)), poolSize: 4)
  }

  func run() async throws -> Figures {
    let (raw, rawDatabaseMs) = try await PostgresBaseline.tasksPerSecond(url: url, count: creates, accounts: Self.accounts)
    let cpu = try DatabaseCPU(url: url)

    let databaseURL = try Self.freshDatabaseURL(url: url, name: "rpc")
    let server = try node("one", databaseURL: databaseURL)
    try await server.start()
    let key = try await server.adminKey()
    try await grant(on: server)
    let taskID = try await server.withUnix { client in
      let tasks = Easel_V1_TaskService.Client(wrapping: client)
      let id = try await tasks.createTask(RPCBench.create).id
      _ = try await tasks.getTask(.with { $0.userID = "bench"; $0.taskID = id })  // h2load can't see gRPC errors
      return id
    }
    // Over 16 accounts first, on a database as fresh as the reference's.
    let accountBodies = try accountFrames()
    let cpuBefore = cpu.seconds()
    let easeldBefore = cpuSeconds(pid: server.pid)
    let oneNodeBodies = accountBodies.map { ($0, H2Load.Target.tcp(port: server.port)) }
    let createManyAccounts = try accountLoad(oneNodeBodies, key: key)
    let databaseMs = (cpu.seconds() - cpuBefore) * 1000 / Double(creates / Self.accounts * Self.accounts)
    log("one node, \(Self.accounts) accounts: PostgreSQL \(format(databaseMs, digits: 2)) ms and easeld \(format((cpuSeconds(pid: server.pid) - easeldBefore) * 1000 / Double(creates), digits: 2)) ms of CPU per create")
    let create = try h2load.run(
      "easel.v1.TaskService/CreateTask", body: try h2load.frame("pg-create", RPCBench.create),
      target: .tcp(port: server.port), requests: creates, clients: 16, streams: 16, key: key)
    let getBody = try h2load.frame("pg-get", Easel_V1_GetTaskRequest.with {
      $0.userID = "bench"
      $0.taskID = taskID
    })
    _ = try h2load.run("easel.v1.TaskService/GetTask", body: getBody, target: .unix(path: server.socket), requests: gets / 10, clients: 4, streams: 4)
    let get = try h2load.run(
      "easel.v1.TaskService/GetTask", body: getBody, target: .unix(path: server.socket), requests: gets, clients: 16, streams: 16)
    let rss = server.rss

    // Two nodes on one database, each with half of the accounts and half the pool: the database
    // sees as many connections as from one node (more only cost it more here, as the reference's
    // 64 connections show), so what is compared is whether anything serialises the nodes.
    let sharedURL = try Self.freshDatabaseURL(url: url, name: "two")
    let pair = try ["a", "b"].map { try node("two-\($0)", databaseURL: sharedURL, pool: 8) }
    for node in pair { try await node.start() }
    let pairKey = try await pair[0].adminKey()
    try await grant(on: pair[0])
    let (pairDatabaseBefore, pairBefore) = (cpu.seconds(), pair.map { cpuSeconds(pid: $0.pid) })
    let stopProbe = Locked(false)
    let probe = Task { try await LiveProbe(subscriber: pair[0], creator: pair[1]).run(until: stopProbe) }
    let pairBodies = accountBodies.enumerated().map { ($0.element, H2Load.Target.tcp(port: pair[$0.offset % 2].port)) }
    let createTwoNodes = try accountLoad(pairBodies, key: pairKey)
    stopProbe.withLock { $0 = true }
    let liveAcrossNodes = try await probe.value
    let pairEaseld = zip(pair, pairBefore).map { cpuSeconds(pid: $0.pid) - $1 }.reduce(0, +)
    log("two nodes, \(Self.accounts) accounts: PostgreSQL \(format((cpu.seconds() - pairDatabaseBefore) * 1000 / Double(creates), digits: 2)) ms and easeld \(format(pairEaseld * 1000 / Double(creates), digits: 2)) ms of CPU per create")
    // The second round, in the same order: one node, then two.
    let oneAgain = try accountLoad(oneNodeBodies, key: key)
    let twoAgain = try accountLoad(pairBodies, key: pairKey)
    log("two nodes over one, round by round: \(format(createTwoNodes.requestsPerSecond / createManyAccounts.requestsPerSecond * 100, digits: 0)) %, \(format(twoAgain.requestsPerSecond / oneAgain.requestsPerSecond * 100, digits: 0)) %")
    let twoNodesOverOne = (createTwoNodes.requestsPerSecond + twoAgain.requestsPerSecond)
      / (createManyAccounts.requestsPerSecond + oneAgain.requestsPerSecond)
    let stopHalfProbe = Locked(false)
    let halfProbe = Task { try await LiveProbe(subscriber: pair[0], creator: pair[1], user: "live-probe-half").run(until: stopHalfProbe) }
    let perAccount = max(1, Int(createTwoNodes.requestsPerSecond / 2) / Self.accounts)
    _ = try accountLoad(pairBodies, key: pairKey, requestsEach: perAccount * 10, perSecond: perAccount)  // 10 s
    stopHalfProbe.withLock { $0 = true }
    let liveAcrossNodesAtHalfRate = try await halfProbe.value
    for node in pair { await node.stop() }
    await server.stop()

    // The pipeline, 4 workers a node.
    let pipelineURL = try Self.freshDatabaseURL(url: url, name: "pipeline")
    let single = try node("pipeline", databaseURL: pipelineURL, workers: 4)
    try await single.start()
    let pipeline = try await PipelineBench(server: single, tasks: pipelineTasks).run()
    await single.stop()
    let pairURL = try Self.freshDatabaseURL(url: url, name: "pipeline_two")
    let pipelinePair = try ["a", "b"].map { try node("pipeline-\($0)", databaseURL: pairURL, workers: 4) }
    for node in pipelinePair { try await node.start() }
    let pipelineTwoNodes = try await PipelineBench(servers: pipelinePair, tasks: pipelineTasks).run()
    for node in pipelinePair { await node.stop() }

    return Figures(
      raw: raw, rawDatabaseMs: rawDatabaseMs, databaseMs: databaseMs, create: create, createManyAccounts: createManyAccounts, createTwoNodes: createTwoNodes, twoNodesOverOne: twoNodesOverOne, liveAcrossNodes: liveAcrossNodes,
      liveAcrossNodesAtHalfRate: liveAcrossNodesAtHalfRate, get: get,
      pipeline: pipeline, pipelineTwoNodes: pipelineTwoNodes, rss: rss)
  }

  /// CreateTask from one h2load per account, 256 calls in flight in all (the same figure as
  /// the single-account load), `creates` in all unless `requestsEach` says otherwise.
  private func accountLoad(
    _ bodies: [(URL, H2Load.Target)], key: String, requestsEach: Int? = nil, perSecond: Int? = nil
  ) throws -> H2Load.Result {
    try h2load.run(
      "easel.v1.TaskService/CreateTask", bodies: bodies, requestsEach: requestsEach ?? creates / Self.accounts,
      clients: 1, streams: 256 / Self.accounts, key: key, perSecond: perSecond)
  }

  private func node(_ name: String, databaseURL: String, workers: Int = 0, pool: Int = 16) throws -> ServerProcess {
    try ServerProcess(
      easeld: easeld, data: folder.appendingPathComponent("postgres-\(name)"), workers: workers,
      environment: ["EASEL_DATABASE_URL": databaseURL, "EASEL_DATABASE_POOL_SIZE": String(pool)])
  }

  /// Credits for "bench" and the `accounts` accounts "bench-N".
  private func grant(on server: ServerProcess) async throws {
    try await server.withUnix { client in
      let credits = Easel_V1_CreditService.Client(wrapping: client)
      for user in ["bench"] + (0..<Self.accounts).map({ "bench-\($0)" }) {
        _ = try await credits.grantCredits(.with {
          $0.userID = user
          $0.amount = 1 << 50
          $0.reason = "benchmark"
        })
      }
    }
  }

  private func accountFrames() throws -> [URL] {
    try (0..<Self.accounts).map { account in
      var request = RPCBench.create
      request.userID = "bench-\(account)"
      return try h2load.frame("pg-create-\(account)", request)
    }
  }
}

private func log(_ text: String) {
  FileHandle.standardError.write(Data("easel-bench: \(text)\n".utf8))
}
