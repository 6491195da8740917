import EaselRPC
import Foundation
import GRPCCore
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
                        for try await update in response.messages { last = update.task.status }
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
        // Let every stream open and get its first message, then let the generations finish.
        try await Task.sleep(for: .seconds(2))
        gate.open()
        return try await group.reduce(0, +)
      }
      #expect(completed == users * streamsPerTask)
    }
  }
}
