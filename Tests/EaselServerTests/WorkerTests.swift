import EaselCore
import EaselImaging
import EaselRPC
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

/// Reports progress in steps, then returns a tiny PNG.
struct SteppingBackend: ModelBackend {
  func generate(_ job: GenerationJob, progress: @escaping @Sendable (Double) async -> Void) async throws -> GeneratedMedia {
    for step in [0.3, 0.6, 0.9] {
      try await Task.sleep(for: .milliseconds(300))
      await progress(step)
    }
    return GeneratedMedia(bytes: try VipsImageProcessor().png(rgb: [9, 9, 9], width: 1, height: 1), contentType: "image/png")
  }
}

@Suite(.timeLimit(.minutes(2))) struct WorkerTests {
  @Test func cancelingAProcessingTaskInterruptsOnlyThatTask() async throws {
    let gate = GatedBackend()
    try await withTestServer(workers: 2, backends: ["procedural": gate]) { server in
      try await server.grant("uma", 100)
      let first = try await server.create("uma", prompt: "first")
      let second = try await server.create("uma", prompt: "second")
      for task in [first, second] {
        while try await server.get("uma", task.id).status != .processing { try await Task.sleep(for: .milliseconds(10)) }
      }
      let canceled = try await server.tasks.cancelTask(.with {
        $0.userID = "uma"
        $0.taskID = first.id
      })
      #expect(canceled.status == .canceled)
      #expect(try await server.get("uma", second.id).status == .processing, "the other task runs on")
      gate.open()
      #expect(try await server.finished("uma", second.id).status == .completed)
      let ledger = try await server.ledger("uma").filter { $0.taskID == first.id }
      #expect(ledger.map(\.kind) == ["RELEASE", "HOLD"] && ledger.first?.reason == "ai_generation_canceled")
      #expect(try await server.balance("uma").balance == 90)
    }
  }

  @Test func aGenerationPastItsDeadlineFailsAndRefunds() async throws {
    let folder = try TestServer.temporaryDirectory()
    try """
      code: quick
      name: Quick
      version: 1
      category: test
      kind: image
      backend: procedural
      timeout_seconds: 1
      parameters:
        prompt: {type: string, required: true}
      """.write(to: folder.appendingPathComponent("quick.yaml"), atomically: true, encoding: .utf8)
    try await withTestServer(templates: folder, backends: ["procedural": GatedBackend()]) { server in
      try await server.grant("vic", 10)
      let task = try await server.create("vic", template: "quick")
      let done = try await server.finished("vic", task.id)
      #expect(done.status == .failed && done.errorCode == "deadline_exceeded")
      #expect(done.errorMessage == "generation took longer than 1 s")
      #expect(try await server.balance("vic").available == 10)
    }
  }

  @Test func progressReachesSubscribers() async throws {
    try await withTestServer(backends: ["procedural": SteppingBackend()]) { server in
      try await server.grant("wes", 10)
      let task = try await server.create("wes")
      let updates = try await server.updates("wes", task.id)
      let midway = updates.filter { $0.task.status == .processing && $0.task.progress > 0 }.map(\.task.progress)
      #expect(!midway.isEmpty && midway == midway.sorted(), "\(updates.map(\.task.progress))")
      #expect(updates.last?.task.progress == 1)
    }
  }
}
