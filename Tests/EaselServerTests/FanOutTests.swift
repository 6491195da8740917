import EaselRPC
import Foundation
import GRPCCore
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(3))) struct FanOutTests {
  @Test func aThousandSubscribersEachSeeTheirTaskComplete() async throws {
    let gate = GatedBackend()
    try await withTestServer(workers: 4, backends: ["default-image": gate]) { server in
      let users = 20
      var tasks: [(user: String, id: String)] = []
      for index in 0..<users {
        let user = "fan\(index)"
        try await server.grant(user, 10)
        tasks.append((user, try await server.create(user).id))
      }
      let streamsPerTask = 50  // 20 tasks × 50 = 1,000 concurrent subscribers, over 10 connections
      let followed = tasks
      let opened = Counter()  // streams that have their first message
      let completed = try await withThrowingTaskGroup(of: Int.self) { group in
        for connection in 0..<10 {
          group.addTask {
            try await withUnixClient(server.endpoints.unixSocketPath) { client in
              let service = Easel_V1_TaskService.Client(wrapping: client)
              return try await withThrowingTaskGroup(of: Bool.self) { streams in
                for (index, task) in followed.enumerated() where index % 10 == connection {
                  for _ in 0..<streamsPerTask {
                    streams.addTask {
                      try await service.streamTaskUpdates(.with {
                        $0.userID = task.user
                        $0.taskID = task.id
                      }) { response in
                        var last: Easel_V1_TaskStatus = .unspecified
                        for try await update in response.messages {
                          if last == .unspecified { opened.increment() }
                          last = update.task.status
                        }
                        return last == .completed
                      }
                    }
                  }
                }
                return try await streams.reduce(0) { $0 + ($1 ? 1 : 0) }
              }
            }
          }
        }
        // Every stream open with its first message, then the generations finish.
        try await waitUntil(within: .seconds(60)) { opened.value == users * streamsPerTask }
        gate.open()
        return try await group.reduce(0, +)
      }
      #expect(completed == users * streamsPerTask)
    }
  }
}

/// A count shared by concurrent tasks.
final class Counter: Sendable {
  private let count = Atomic(0)

  func increment() { count.add(1, ordering: .relaxed) }

  var value: Int { count.load(ordering: .relaxed) }
}
