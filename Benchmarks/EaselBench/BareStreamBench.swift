import EaselRPC
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix

/// The fan-out figure's memory reference: what gRPC itself keeps for an open server stream. A
/// fresh `easeld` holds `streams` open `grpc.health.v1.Health/Watch` calls, laid out over
/// connections as the subscribers are; each has received its first answer and waits. Its handler
/// is a dozen lines around an AsyncStream, so what one costs is grpc-swift's and NIO's stream.
struct BareStreamBench: Sendable {
  let easeld: URL
  let folder: URL
  let streams: Int
  let streamsPerConnection = 500

  /// Resident bytes per open stream.
  func run() async throws -> Int {
    let server = try ServerProcess(easeld: easeld, data: folder.appendingPathComponent("bare-streams"), workers: 0)
    try await server.start()
    let before = server.rss
    let answered = Locked(0)
    let bytes = try await withThrowingTaskGroup(of: Int?.self) { group in
      group.addTask {
        try await openStreams(socket: server.socket, count: streams, perConnection: streamsPerConnection) { client, _ in
          try await Grpc_Health_V1_Health.Client(wrapping: client).watch(.init()) { response in
            for try await _ in response.messages { answered.withLock { $0 += 1 } }
          }
        }
        return nil
      }
      group.addTask {
        for _ in 0..<1200 where answered.withLock { $0 } < streams {
          try await Task.sleep(for: .milliseconds(50))
        }
        guard answered.withLock { $0 } >= streams else { throw BenchError("not every Health/Watch stream answered") }
        return (server.rss - before) / streams
      }
      for try await case let bytes? in group {
        group.cancelAll()
        return bytes
      }
      throw BenchError("the Health/Watch streams ended early")
    }
    await server.stop()
    return bytes
  }
}
