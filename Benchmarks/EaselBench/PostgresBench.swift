import EaselPostgres
import EaselRPC
import EaselServer
import Foundation

/// CreateTask and GetTask on the PostgreSQL store, each against the same figure on SQLite in
/// the same run: what a shared database costs a node.
struct PostgresBench {
  struct Figures {
    var create: H2Load.Result
    /// The same load spread over `accounts` accounts: an account's changes wait for each other
    /// (its row is locked until commit), different accounts' do not.
    var createManyAccounts: H2Load.Result
    var get: H2Load.Result
    var rss: Int
  }

  let easeld: URL
  let url: String
  let folder: URL
  let h2load: H2Load
  let creates: Int
  let gets: Int
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
    let databaseURL = try Self.freshDatabaseURL(url: url, name: "rpc")
    let server = try ServerProcess(
      easeld: easeld, data: folder.appendingPathComponent("postgres"), workers: 0,
      environment: ["EASEL_DATABASE_URL": databaseURL, "EASEL_DATABASE_POOL_SIZE": "16"])
    try await server.start()
    let key = try await server.adminKey()
    let taskID = try await server.withUnix { client in
      _ = try await Easel_V1_CreditService.Client(wrapping: client).grantCredits(.with {
        $0.userID = "bench"
        $0.amount = 1 << 50
        $0.reason = "benchmark"
      })
      for account in 0..<Self.accounts {
        _ = try await Easel_V1_CreditService.Client(wrapping: client).grantCredits(.with {
          $0.userID = "bench-\(account)"
          $0.amount = 1 << 50
          $0.reason = "benchmark"
        })
      }
      let tasks = Easel_V1_TaskService.Client(wrapping: client)
      let id = try await tasks.createTask(RPCBench.create).id
      _ = try await tasks.getTask(.with { $0.userID = "bench"; $0.taskID = id })  // h2load can't see gRPC errors
      return id
    }
    let create = try h2load.run(
      "easel.v1.TaskService/CreateTask", body: try h2load.frame("pg-create", RPCBench.create),
      target: .tcp(port: server.port), requests: creates, clients: 16, streams: 16, key: key)
    let accountBodies = try (0..<Self.accounts).map { account in
      var request = RPCBench.create
      request.userID = "bench-\(account)"
      return try h2load.frame("pg-create-\(account)", request)
    }
    let createManyAccounts = try h2load.run(
      "easel.v1.TaskService/CreateTask", bodies: accountBodies, target: .tcp(port: server.port),
      requestsEach: creates / Self.accounts, clients: 1, streams: 256 / Self.accounts, key: key)
    let getBody = try h2load.frame("pg-get", Easel_V1_GetTaskRequest.with {
      $0.userID = "bench"
      $0.taskID = taskID
    })
    _ = try h2load.run("easel.v1.TaskService/GetTask", body: getBody, target: .unix(path: server.socket), requests: gets / 10, clients: 4, streams: 4)
    let get = try h2load.run(
      "easel.v1.TaskService/GetTask", body: getBody, target: .unix(path: server.socket), requests: gets, clients: 16, streams: 16)
    let rss = server.rss
    await server.stop()
    return Figures(create: create, createManyAccounts: createManyAccounts, get: get, rss: rss)
  }
}
