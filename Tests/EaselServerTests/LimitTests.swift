import EaselCore
import EaselRPC
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@Suite(.timeLimit(.minutes(2))) struct LimitTests {
  @Test func aUserMayHaveOnlySoManyActiveTasks() async throws {
    let limits = UsageLimits(maxActiveTasksPerUser: 2, userCreatesPerMinute: 100, keyCreatesPerMinute: 100)
    try await withTestServer(workers: 0, limits: limits) { server in
      try await server.grant("kai", 100)
      let first = try await server.create("kai")
      _ = try await server.create("kai")
      let third = await rpcError { try await server.create("kai") }
      #expect(third?.code == .resourceExhausted)
      #expect(third?.message == "user kai already has 2 tasks pending or processing (the limit is 2); wait for one to finish")
      #expect(try await server.balance("kai").held == 20, "nothing held for the refused task")
      // Another user is not affected; a finished task frees a place.
      try await server.grant("lin", 10)
      _ = try await server.create("lin")
      _ = try await server.tasks.cancelTask(.with {
        $0.userID = "kai"
        $0.taskID = first.id
      })
      _ = try await server.create("kai")
    }
  }

  @Test func creatingTooFastIsResourceExhausted() async throws {
    let limits = UsageLimits(maxActiveTasksPerUser: 100, userCreatesPerMinute: 3, keyCreatesPerMinute: 100)
    try await withTestServer(workers: 0, limits: limits) { server in
      try await server.grant("mo", 100)
      for _ in 0..<3 { _ = try await server.create("mo") }
      let fourth = await rpcError { try await server.create("mo") }
      #expect(fourth?.code == .resourceExhausted)
      #expect(fourth?.message == "user mo creates more than 3 tasks a minute; slow down and retry")
      try await server.grant("ned", 100)
      _ = try await server.create("ned")
    }
  }

  @Test func anOversizedInputImageIsRefusedAndTheServerStaysUp() async throws {
    try await withTestServer { server in
      try await server.grant("ola", 10)
      let huge = [UInt8](repeating: 0xFF, count: 5 << 20)
      let error = await rpcError { try await server.create("ola", template: "img2img", inputImage: huge) }
      #expect(error?.code == .resourceExhausted)
      #expect(error?.message == "input_image is 5242880 bytes; the limit is 4194304 bytes")
      #expect(try await server.health.check(.init()).status == .serving)
      #expect(try await server.balance("ola").available == 10)
    }
  }
}
