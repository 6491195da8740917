import EaselCore
import EaselImaging
import EaselRPC
import Foundation
import GRPCCore
import SwiftProtobuf
import Synchronization
import Testing

/// Reports progress in steps, then returns a tiny PNG.
struct SteppingBackend: ModelBackend {
  func generate(_ job: GenerationJob, progress: @escaping ProgressHandler) async throws -> GeneratedMedia {
    for step in [0.3, 0.6, 0.9] {
      try await Task.sleep(for: .milliseconds(300))
      await progress(GenerationProgress(step))
    }
    return GeneratedMedia(bytes: try VipsImageProcessor().png(rgb: [9, 9, 9], width: 1, height: 1), contentType: "image/png")
  }
}

@Suite(.timeLimit(.minutes(2))) struct WorkerTests {
  @Test func cancelingAProcessingTaskInterruptsOnlyThatTask() async throws {
    let gate = GatedBackend()
    try await withTestServer(workers: 2, backends: ["default-image": gate]) { server in
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
    try await withTestServer(backends: ["default-image": SteppingBackend()]) { server in
      try await server.grant("wes", 10)
      let task = try await server.create("wes")
      let updates = try await server.updates("wes", task.id)
      let midway = updates.filter { $0.task.status == .processing && $0.task.progress > 0 }.map(\.task.progress)
      #expect(!midway.isEmpty && midway == midway.sorted(), "\(updates.map(\.task.progress))")
      #expect(updates.last?.task.progress == 1)
    }
  }
}

/// Fails with a transient error `failures` times, then succeeds.
final class FlakyBackend: ModelBackend {
  private let remaining: Mutex<Int>
  init(failures: Int) { remaining = Mutex(failures) }

  func generate(_ job: GenerationJob, progress: @escaping ProgressHandler) async throws -> GeneratedMedia {
    let fail = remaining.withLock { count in
      defer { count -= 1 }
      return count > 0
    }
    if fail { throw BackendFailure(code: "model_unavailable", message: "HTTP 503 from the model", isTransient: true) }
    return GeneratedMedia(bytes: try VipsImageProcessor().png(rgb: [1, 2, 3], width: 1, height: 1), contentType: "image/png")
  }
}

@Suite(.timeLimit(.minutes(2))) struct RetryAndLeaseTests {
  @Test func aTransientFailureIsRetriedAndChargedOnce() async throws {
    try await withTestServer(backends: ["default-image": FlakyBackend(failures: 1)]) { server in
      try await server.grant("xia", 10)
      let task = try await server.create("xia")
      let updates = try await server.updates("xia", task.id)
      let done = try #require(updates.last).task
      #expect(done.status == .completed && done.attempts == 2 && done.errorCode.isEmpty)
      #expect(try await server.ledger("xia").map(\.kind) == ["CAPTURE", "HOLD", "GRANT"])
    }
  }

  @Test func persistentTransientFailuresUseUpTheAttemptsThenRefund() async throws {
    try await withTestServer(backends: ["default-image": FlakyBackend(failures: 100)]) { server in
      try await server.grant("yan", 10)
      let task = try await server.create("yan")
      let done = try await server.finished("yan", task.id)
      #expect(done.status == .failed && done.attempts == 3)
      #expect(done.errorCode == "model_unavailable" && done.errorMessage == "HTTP 503 from the model")
      #expect(try await server.balance("yan").available == 10)
    }
  }

  @Test func permanentFailuresAreNotRetried() async throws {
    try await withTestServer(backends: ["default-image": FailingBackend()]) { server in
      try await server.grant("zed", 10)
      let done = try await server.finished("zed", try await server.create("zed").id)
      #expect(done.status == .failed && done.attempts == 1)
    }
  }

  @Test func expiredLeasesAreRescuedAndAFormerOwnerCannotFinish() async throws {
    let directory = try TestServer.temporaryDirectory()
    let ids = try await withTestServer(directory: directory, workers: 0) { server in
      try await server.grant("ama", 100)
      return [try await server.create("ama").id, try await server.create("ama").id]
    }
    try await TestDatabase.withStore(directory) { store in
      let crashed = Lease(owner: "crashed-node", expires: Date().addingTimeInterval(-1))
      let claimed = try #require(try await store.claimNextTask(lease: crashed, among: nil, aging: FairQueue.defaultAging, now: Date()))
      #expect(claimed.id == ids[0])
      // The lease has expired: another node's rescuer hands the task back.
      let rescued = try await store.rescueAbandonedTasks(.expired(before: Date(), orLeasedTo: nil), maxAttempts: 3, now: Date())
      #expect(rescued.map(\.id) == [ids[0]] && rescued.first?.status == .pending)
      let healthy = Lease(owner: "healthy-node", expires: Date().addingTimeInterval(30))
      let again = try #require(try await store.claimNextTask(lease: healthy, among: nil, aging: FairQueue.defaultAging, now: Date()))
      #expect(again.id == ids[0] && again.attempts == 2)
      // The crashed node wakes up and tries to finish: refused, nothing charged twice.
      #expect(try await store.finishTask(id: ids[0], owner: "crashed-node", outcome: .canceled, now: Date()) == nil)
      #expect(try await store.renewLease(taskID: ids[0], lease: crashed) == false)
      #expect(try await store.renewLease(taskID: ids[0], lease: healthy))
      // Past the attempt budget a rescued task fails and its credits come back.
      _ = try await store.claimNextTask(lease: crashed, among: nil, aging: FairQueue.defaultAging, now: Date())
      let exhausted = try await store.rescueAbandonedTasks(.expired(before: Date(), orLeasedTo: nil), maxAttempts: 1, now: Date())
      #expect(exhausted.map(\.id) == [ids[1]])
      #expect(exhausted.first?.status == .failed && exhausted.first?.errorCode == "attempts_exhausted")
      let balance = try await store.balance(of: try Account(platform: "", userID: "ama"))
      #expect(balance.held == 10 && balance.balance == 100)
      #expect(try await store.auditCredits().isEmpty)
    }
  }
}

@Suite(.timeLimit(.minutes(2))) struct BackendLimitTests {
  @Test func aBackendLimitKeepsExtraTasksPendingOldestFirst() async throws {
    let gate = GatedBackend()
    var settings = WorkerSettings(retryBase: .milliseconds(50))
    settings.backendLimits = ["default-image": 1]
    try await withTestServer(workers: 3, backends: ["default-image": gate], workerSettings: settings) { server in
      try await server.grant("ivo", 100)
      var ids: [String] = []
      for index in 0..<3 { ids.append(try await server.create("ivo", prompt: "picture \(index)").id) }
      while try await server.get("ivo", ids[0]).status != .processing { try await Task.sleep(for: .milliseconds(10)) }
      try await Task.sleep(for: .milliseconds(300))  // time for a wrongly started second task to show
      #expect(try await server.get("ivo", ids[1]).status == .pending)
      #expect(try await server.get("ivo", ids[2]).status == .pending)
      gate.open()
      var finishedAt: [Date] = []
      for id in ids {
        let done = try await server.finished("ivo", id)
        #expect(done.status == .completed)
        finishedAt.append(done.finishedAt.date)
      }
      #expect(finishedAt == finishedAt.sorted(), "oldest first")
    }
  }
}
