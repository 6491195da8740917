import EaselCore
import EaselPostgres
import EaselRPC
import EaselServer
import Foundation
import GRPCCore
import Logging
import Synchronization
import Testing

/// What a run does when something other than the generation goes wrong, and cancels that must
/// reach the node running a task.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RunFailureTests {
  /// Issue 16, bug 1: CancelTask on an API node stops a generation running on a workers-only node.
  @Test(.enabled(if: TestDatabase.isPostgres))
  func cancelOnTheAPINodeStopsTheRunOnTheWorkerNode() async throws {
    let s3 = try S3Server()
    let shared = try await MultiNodeTests.sharedEnvironment(s3)
    let api = try EaseldProcess(data: TestServer.temporaryDirectory(), workers: 0, environment: shared)
    let worker = try EaseldProcess(
      data: TestServer.temporaryDirectory(), workers: 1, arguments: ["--no-api"],
      environment: shared.merging(["EASEL_PROCEDURAL_DELAY_MS": "60000"]) { $1 })
    try await api.start()
    try await worker.start()
    defer {
      api.kill(SIGKILL)
      worker.kill(SIGKILL)
    }
    try await withNode(api) { node in
      try await node.grant("noa", 10)
      let task = try await node.create("noa", prompt: "a long one")
      try await waitUntil { try await node.get("noa", task.id).status == .processing }
      let started = ContinuousClock.now
      let canceled = try await node.tasks.cancelTask(.with {
        $0.userID = "noa"
        $0.taskID = task.id
      })
      #expect(canceled.status == .canceled)
      #expect(ContinuousClock.now - started < .seconds(2), "the cancel took \(ContinuousClock.now - started)")
      let balance = try await node.balance("noa")
      #expect(balance.balance == 10 && balance.held == 0, "\(balance)")
    }
    let audit = try await runTool("easeld", ["check-ledger"], environment: shared)
    #expect(audit.status == 0, "\(audit.stdout)\(audit.stderr)")
  }

  /// Issue 16, bug 2: a short database outage while a task generates is a store failure, not bad
  /// output. The lease renewals that fail are retried, and the task completes, charged once.
  @Test(.enabled(if: TestDatabase.isPostgres))
  func aShortOutageDuringAGenerationDoesNotFailTheTask() async throws {
    let directory = try TestServer.temporaryDirectory()
    let directURL = try #require(try await TestDatabase.url(for: directory))
    var direct = try #require(URLComponents(string: directURL))
    let proxy = try PythonFixture("tcp_proxy.py", arguments: [String(try #require(direct.port))])
    direct.port = Int(proxy.readyLine)
    let proxied = try DatabaseURL(try #require(direct.string))
    let logs = CapturedLogs()
    // Renewals every 2 s; the generation takes 6 s and the database is away for 2.5 of them,
    // less than the lease (6 s), so the run goes on and nothing needs rescuing.
    let settings = WorkerSettings(leaseDuration: .seconds(6), retryBase: .milliseconds(50))
    try await withTestServer(
      directory: directory, workers: 1, proceduralDelay: .seconds(6), workerSettings: settings,
      configure: { $0.databaseURL = proxied }, logger: logs.logger
    ) { server in
      try await server.grant("oli", 10)
      let task = try await server.create("oli", prompt: "through an outage")
      try await waitUntil { try await server.get("oli", task.id).status == .processing }
      try proxy.send("cut")
      try await Task.sleep(for: .milliseconds(2500))
      try proxy.send("restore")
      try await waitUntil { (try? await server.get("oli", task.id))?.status.isTerminalForTest == true }
      let done = try await server.get("oli", task.id)
      #expect(done.status == .completed, "\(done.status) \(done.errorCode): \(done.errorMessage)")
      #expect(try await server.balance("oli").balance == 0)
    }
    #expect(logs.lines.contains { $0.contains("could not renew") && $0.contains("task.id") }, "\(logs.lines)")
  }

  /// Issue 16, bug 4: a request that cannot be paid for is refused before its input image is
  /// processed: a broken image from a user without credits is answered FAILED_PRECONDITION.
  @Test func fundsAreCheckedBeforeTheInputImageIsProcessed() async throws {
    try await withTestServer { server in
      let broke = await rpcError {
        try await server.create("pia", template: "img2img", inputImage: Array("not an image".utf8))
      }
      #expect(broke?.code == .failedPrecondition, "\(String(describing: broke))")
    }
  }
}

extension Easel_V1_TaskStatus {
  var isTerminalForTest: Bool { [.completed, .failed, .canceled].contains(self) }
}

/// Log lines a server wrote, for tests that check what was logged.
final class CapturedLogs: Sendable {
  fileprivate let storage = Mutex<[String]>([])

  var lines: [String] { storage.withLock { $0 } }

  var logger: Logger {
    Logger(label: "captured") { _ in Handler(logs: self) }
  }

  private struct Handler: LogHandler {
    let logs: CapturedLogs
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
      get { metadata[key] }
      set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
      let fields = metadata.merging(event.metadata ?? [:]) { $1 }.map { "\($0.key)=\($0.value)" }.sorted()
      let line = "\(event.level) \(event.message) \(fields.joined(separator: " "))"
      logs.storage.withLock { $0.append(line) }
    }
  }
}
