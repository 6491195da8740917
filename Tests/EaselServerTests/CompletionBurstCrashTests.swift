import EaselRPC
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

/// SIGKILL while tasks complete back to back (zero-latency backend, four workers): no task that was
/// reported COMPLETED is lost, each one's output and thumbnail are whole, readable images, every
/// task completes exactly once after the restart, and the ledger audit holds.
@Suite(.timeLimit(.minutes(3))) struct CompletionBurstCrashTests {
  static let tasks = 120
  static let cost: Int64 = 10

  @Test func aSIGKILLDuringACompletionBurstLosesNoCompletedTaskOrArtifact() async throws {
    let data = try TestServer.temporaryDirectory()
    let unlimited = ["EASEL_USER_CREATES_PER_MINUTE": "100000", "EASEL_MAX_ACTIVE_TASKS_PER_USER": "100000"]
    let first = try EaseldProcess(data: data, workers: 4, environment: unlimited)
    try await first.start()
    let ids = try await withUnixClient(first.socketPath) { client in
      let tasks = Easel_V1_TaskService.Client(wrapping: client)
      _ = try await Easel_V1_CreditService.Client(wrapping: client).grantCredits(.with {
        $0.userID = "burst"
        $0.amount = Self.cost * Int64(Self.tasks)
      })
      var ids: [String] = []
      for index in 0..<Self.tasks {
        ids.append(
          try await tasks.createTask(.with {
            $0.userID = "burst"
            $0.templateCode = "txt2img"
            $0.parameters.fields["prompt"] = .init(stringValue: "burst \(index)")
            $0.parameters.fields["width"] = .init(numberValue: 64)
            $0.parameters.fields["height"] = .init(numberValue: 64)
          }).id)
      }
      return ids
    }
    // Completions as the first node reports them; the kill comes while they still pour in.
    let reported = try await withUnixClient(first.socketPath) { client in
      try await Easel_V1_TaskService.Client(wrapping: client).streamTaskUpdates(.with { $0.userID = "burst"; $0.resumeToken = "u0" }) {
        response in
        var completed: [Easel_V1_Task] = []
        for try await update in response.messages where update.task.status == .completed {
          completed.append(update.task)
          if completed.count == 20 { break }
        }
        return completed
      }
    }
    first.kill(SIGKILL)
    _ = await first.exitStatus()

    let second = try EaseldProcess(data: data, workers: 4, environment: unlimited)
    try await second.start()
    try await withUnixClient(second.socketPath) { client in
      let tasks = Easel_V1_TaskService.Client(wrapping: client)
      for task in reported {
        let now = try await tasks.getTask(.with { $0.userID = "burst"; $0.taskID = task.id })
        let moved = abs(now.finishedAt.date.timeIntervalSince(task.finishedAt.date))
        #expect(now.status == .completed && moved < 0.001, "\(task.id) stays as it was reported")
        try await Self.expectWholeArtifacts(of: task.id, tasks)
      }
      var finished: [Easel_V1_Task] = []
      for id in ids {
        finished.append(
          try await tasks.streamTaskUpdates(.with { $0.userID = "burst"; $0.taskID = id }) { response in
            var last = Easel_V1_Task()
            for try await update in response.messages { last = update.task }
            return last
          })
      }
      #expect(finished.allSatisfy { $0.status == .completed }, "every task completes after the restart")
      for task in finished.filter({ task in !reported.contains { $0.id == task.id } }).prefix(20) {
        try await Self.expectWholeArtifacts(of: task.id, tasks)
      }
      let balance = try await Easel_V1_CreditService.Client(wrapping: client).getBalance(.with { $0.userID = "burst" })
      #expect(balance.balance == 0 && balance.held == 0, "each task charged exactly once: \(balance)")
    }
    second.kill(SIGTERM)
    #expect(await second.exitStatus() == 0)
    let audit = try await runTool("easeld", ["check-ledger", "--data", data.path])
    #expect(audit.status == 0 && audit.stdout.contains("ledger consistent"), "\(audit.stdout)\(audit.stderr)")
  }

  /// The task's output is a whole PNG and its thumbnail a whole JPEG.
  private static func expectWholeArtifacts(of id: String, _ tasks: Easel_V1_TaskService.Client<some ClientTransport>) async throws {
    for kind in [Easel_V1_ArtifactKind.output, .thumbnail] {
      let bytes = try await tasks.fetchArtifact(.with { $0.userID = "burst"; $0.taskID = id; $0.kind = kind }) { response in
        var bytes = Data()
        for try await chunk in response.messages { bytes.append(chunk.data) }
        return bytes
      }
      if kind == .output {
        #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) && bytes.suffix(8).starts(with: [0x49, 0x45, 0x4E, 0x44]), "\(id): a whole PNG")
      } else {
        #expect(bytes.starts(with: [0xFF, 0xD8]) && bytes.suffix(2) == Data([0xFF, 0xD9]), "\(id): a whole JPEG")
      }
    }
  }
}
