import EaselRPC
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Synchronization

/// Figure 4: many concurrent StreamTaskUpdates subscribers on one server: resident memory per
/// subscriber, and the time from a stored change (the task's updated_at) to its delivery.
struct FanOutBench: Sendable {
  struct Figures: Sendable {
    var subscribers: Int
    var bytesPerSubscriber: Int
    /// The same once each has received its three updates: what a subscriber costs for as long as
    /// it stays open (a stream keeps the memory its deepest moment needed).
    var bytesPerSubscriberAfterDeliveries: Int
    var rssWithSubscribers: Int
    var delivery: Latencies
    /// One Health/Check round trip on the same server at the same moment, for scale.
    var healthRoundTrip: Latencies
  }

  let server: ServerProcess
  let metricsPort: Int
  let subscribers: Int
  let users = 100
  let streamsPerConnection = 500

  func run() async throws -> Figures {
    let before = server.rss
    let deliveries = Locked(Latencies())
    let received = Locked(0)
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        try await openStreams(socket: server.socket, count: subscribers, perConnection: streamsPerConnection) { client, index in
          try await Easel_V1_TaskService.Client(wrapping: client).streamTaskUpdates(.with { $0.userID = "fan\(index % users)" }) {
            response in
            for try await update in response.messages {
              let sentAt = update.task.updatedAt.date
              deliveries.withLock { $0.add(Date().timeIntervalSince(sentAt) * 1000) }
              received.withLock { $0 += 1 }
            }
          }
        }
      }
      try await waitForSubscribers(subscribers)
      let rss = server.rss
      let health = try await healthRoundTrips()
      // One task per user: every subscriber sees its user's task go PENDING → PROCESSING → COMPLETED.
      try await server.withUnix { client in
        let tasks = Easel_V1_TaskService.Client(wrapping: client)
        let credits = Easel_V1_CreditService.Client(wrapping: client)
        for user in 0..<users {
          _ = try await credits.grantCredits(.with {
            $0.userID = "fan\(user)"
            $0.amount = 1000
            $0.reason = "benchmark"
          })
          var request = RPCBench.create
          request.userID = "fan\(user)"
          _ = try await tasks.createTask(request)
        }
      }
      let expected = subscribers * 3
      for _ in 0..<1200 where received.withLock({ $0 }) < expected {
        try await Task.sleep(for: .milliseconds(50))
      }
      let rssAfterDeliveries = server.rss
      group.cancelAll()
      return Figures(
        subscribers: subscribers, bytesPerSubscriber: (rss - before) / subscribers,
        bytesPerSubscriberAfterDeliveries: (rssAfterDeliveries - before) / subscribers,
        rssWithSubscribers: max(rss, rssAfterDeliveries),
        delivery: deliveries.withLock { $0 }, healthRoundTrip: health)
    }
  }

  /// Waits until the server's own gauge counts every stream as open.
  private func waitForSubscribers(_ count: Int) async throws {
    for _ in 0..<1200 {
      let url = URL(string: "http://127.0.0.1:\(metricsPort)/metrics")!
      let text = (try? await URLSession.shared.data(from: url)).map { String(decoding: $0.0, as: UTF8.self) } ?? ""
      let line = text.split(separator: "\n").first { $0.hasPrefix("easel_subscribers ") }
      if let value = line?.split(separator: " ").last.flatMap({ Double($0) }), Int(value) >= count { return }
      try await Task.sleep(for: .milliseconds(100))
    }
    throw BenchError("not every subscriber connected")
  }

  private func healthRoundTrips() async throws -> Latencies {
    try await server.withUnix { client in
      let health = Grpc_Health_V1_Health.Client(wrapping: client)
      var latency = Latencies()
      for _ in 0..<200 {
        let start = ContinuousClock.now
        _ = try await health.check(.init())
        latency.add(.now - start)
      }
      return latency
    }
  }
}

/// Opens `count` server streams at once over connections of `perConnection` streams each, as many
/// long-lived callers would; `call` runs the stream numbered `index` to its end.
func openStreams(
  socket: String, count: Int, perConnection: Int,
  _ call: @escaping @Sendable (GRPCClient<HTTP2ClientTransport.Posix>, _ index: Int) async throws -> Void
) async throws {
  try await withThrowingDiscardingTaskGroup { connections in
    for first in stride(from: 0, to: count, by: perConnection) {
      connections.addTask {
        try await withGRPCClient(
          transport: try .http2NIOPosix(target: .unixDomainSocket(path: socket), transportSecurity: .plaintext)
        ) { client in
          try await withThrowingDiscardingTaskGroup { streams in
            for index in first..<min(first + perConnection, count) {
              streams.addTask { try await call(client, index) }
            }
          }
        }
      }
    }
  }
}
