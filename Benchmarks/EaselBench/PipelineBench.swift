import EaselRPC
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Synchronization

/// Figure 3: tasks through the whole pipeline (procedural backend, zero latency, `size`² images):
/// completed per second, and create → COMPLETED seen by a subscriber, p50/p99. With several
/// servers (nodes on one PostgreSQL database), creates alternate between them and the subscriber
/// is on the first.
struct PipelineBench: Sendable {
  struct Figures: Sendable {
    var tasksPerSecond: Double
    var latency: Latencies
  }

  let servers: [ServerProcess]
  let tasks: Int
  let size: Int
  let creators = 16

  init(server: ServerProcess, tasks: Int, size: Int = 64) { self.init(servers: [server], tasks: tasks, size: size) }

  init(servers: [ServerProcess], tasks: Int, size: Int = 64) {
    self.servers = servers
    self.tasks = tasks
    self.size = size
  }

  func run() async throws -> Figures {
    try await withClients(servers[...]) { clients in
      let services = clients.map { Easel_V1_TaskService.Client(wrapping: $0) }
      let service = services[0]
      _ = try await Easel_V1_CreditService.Client(wrapping: clients[0]).grantCredits(.with {
        $0.userID = "pipe"
        $0.amount = 1 << 50
        $0.reason = "benchmark"
      })
      let sent = Locked<[String: ContinuousClock.Instant]>([:])
      return try await withThrowingTaskGroup(of: Figures?.self) { group in
        let (opened, open) = AsyncStream.makeStream(of: Void.self)
        group.addTask {
          try await service.streamTaskUpdates(.with { $0.userID = "pipe" }) { response in
            open.yield()
            var latency = Latencies()
            var first: ContinuousClock.Instant?
            var last = ContinuousClock.now
            for try await update in response.messages where update.task.status == .completed {
              let now = ContinuousClock.now
              if let start = sent.withLock({ $0[update.task.prompt] }) {
                latency.add(now - start)
                first = first.map { min($0, start) } ?? start
                last = now
              }
              if latency.samples.count == tasks { break }
            }
            return Figures(tasksPerSecond: Double(tasks) / (last - (first ?? last)).seconds, latency: latency)
          }
        }
        // The stream is open before the first task exists: no completion can be missed.
        for await _ in opened { break }
        try await Task.sleep(for: .milliseconds(200))
        for creator in 0..<creators {
          let service = services[creator % services.count]
          group.addTask {
            for index in stride(from: creator, to: tasks, by: creators) {
              var request = RPCBench.create
              request.userID = "pipe"
              request.parameters.fields["prompt"] = .init(stringValue: "pipeline \(index)")
              request.parameters.fields["width"] = .init(numberValue: Double(size))
              request.parameters.fields["height"] = .init(numberValue: Double(size))
              sent.withLock { $0["pipeline \(index)"] = .now }
              _ = try await service.createTask(request)
            }
            return nil
          }
        }
        for try await case let figures? in group { return figures }
        throw BenchError("the pipeline stream ended early")
      }
    }
  }
}

/// A client of each server, for the duration of `body`.
func withClients<T: Sendable>(
  _ servers: ArraySlice<ServerProcess>, _ body: ([GRPCClient<HTTP2ClientTransport.Posix>]) async throws -> T
) async throws -> T {
  guard let first = servers.first else { return try await body([]) }
  return try await first.withUnix { client in
    try await withClients(servers.dropFirst()) { rest in try await body([client] + rest) }
  }
}
