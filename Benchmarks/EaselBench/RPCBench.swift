import EaselRPC
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import SwiftProtobuf

/// Figure 1 and the chart: unary RPC throughput and latency under h2load, against Health/Check on
/// the same server (the gRPC stack's own cost).
struct RPCBench {
  struct Figures {
    var byTransport: [(transport: String, method: String, result: H2Load.Result)] = []
    /// Concurrency (streams in flight) → GetTask and CreateTask results, for the chart.
    var curve: [(concurrency: Int, get: H2Load.Result, create: H2Load.Result)] = []
  }

  let server: ServerProcess
  let h2load: H2Load
  let requests: Int

  func run() async throws -> Figures {
    let key = try await server.adminKey()
    let taskID = try await server.withUnix { client in
      let credits = Easel_V1_CreditService.Client(wrapping: client)
      _ = try await credits.grantCredits(.with {
        $0.userID = "bench"
        $0.amount = 1 << 50
        $0.reason = "benchmark"
      })
      return try await Easel_V1_TaskService.Client(wrapping: client).createTask(Self.create).id
    }
    let health = try h2load.frame("health", Grpc_Health_V1_HealthCheckRequest())
    let get = try h2load.frame("get", Easel_V1_GetTaskRequest.with {
      $0.userID = "bench"
      $0.taskID = taskID
    })
    let list = try h2load.frame("list", Easel_V1_ListTasksRequest.with {
      $0.userID = "bench"
      $0.limit = 10
    })
    let create = try h2load.frame("create", Self.create)

    // h2load counts any HTTP 200 as a success, even with a gRPC error in the trailers: check each
    // request once with a real client over TCP first, with the same key.
    try await withGRPCClient(
      transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: server.port), transportSecurity: .plaintext)
    ) { client in
      let metadata: Metadata = ["authorization": "Bearer \(key)"]
      let tasks = Easel_V1_TaskService.Client(wrapping: client)
      _ = try await tasks.getTask(.with { $0.userID = "bench"; $0.taskID = taskID }, metadata: metadata)
      _ = try await tasks.listTasks(.with { $0.userID = "bench"; $0.limit = 10 }, metadata: metadata)
    }

    var figures = Figures()
    let methods = [
      ("Health/Check", "grpc.health.v1.Health/Check", health), ("GetTask", "easel.v1.TaskService/GetTask", get),
      ("ListTasks", "easel.v1.TaskService/ListTasks", list),
    ]
    for (transport, target) in [("TCP", H2Load.Target.tcp(port: server.port)), ("Unix socket", .unix(path: server.socket))] {
      for (name, method, body) in methods {
        _ = try h2load.run(method, body: body, target: target, requests: requests / 10, clients: 4, streams: 4, key: key)  // warm up
        let result = try h2load.run(method, body: body, target: target, requests: requests, clients: 16, streams: 16, key: key)
        figures.byTransport.append((transport, name, result))
      }
    }
    for concurrency in [1, 4, 16, 64, 256] {
      let clients = min(concurrency, 16)
      let streams = concurrency / clients
      let target = H2Load.Target.tcp(port: server.port)
      let count = max(requests / 4, concurrency * 20)
      let getResult = try h2load.run("easel.v1.TaskService/GetTask", body: get, target: target, requests: count, clients: clients, streams: streams, key: key)
      let createResult = try h2load.run(
        "easel.v1.TaskService/CreateTask", body: create, target: target, requests: count, clients: clients, streams: streams,
        key: key)
      figures.curve.append((concurrency, getResult, createResult))
    }
    return figures
  }

  /// A small image task; no idempotency key, so every call creates a task.
  static let create = Easel_V1_CreateTaskRequest.with {
    $0.userID = "bench"
    $0.templateCode = "txt2img"
    $0.parameters.fields = [
      "prompt": .init(stringValue: "a benchmark"), "width": .init(numberValue: 64), "height": .init(numberValue: 64),
    ]
  }
}
