import EaselCore
import EaselImaging
import EaselRPC
import EaselServer
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

/// Issue 21, the operations: AdminService through a real server, over the Unix socket and over
/// TCP with operator, admin and tasks keys.
@Suite(.timeLimit(.minutes(3))) struct AdminTests {
  func admin(_ server: TestServer) -> Easel_V1_AdminService.Client<Transport> { server.admin }

  @Test func aFailedTaskIsRetriedAsANewTaskAndTheOriginalStays() async throws {
    let photo = try VipsImageProcessor().png(rgb: [UInt8](repeating: 60, count: 16 * 16 * 3), width: 16, height: 16)
    try await withTestServer(workers: 1, backends: ["default-image": FailingBackend()]) { server in
      try await server.grant("rex", 100)
      let original = try await server.finished("rex", try await server.create("rex", template: "img2img", prompt: "a", inputImage: photo).id)
      #expect(original.status == .failed)
      let response = try await admin(server).retryTask(.with {
        $0.userID = "rex"
        $0.taskID = original.id
      })
      let retried = try #require(response.retried.first)
      #expect(retried.retryOf == original.id && retried.id != original.id && retried.status == .pending)
      #expect(retried.template == original.template && retried.parameters == original.parameters && retried.creditCost == original.creditCost)
      let (input, _, _) = try await server.artifact("rex", retried.id, .input)
      let (originalInput, _, _) = try await server.artifact("rex", original.id, .input)
      #expect(input == originalInput, "the same input, kept under the new task")
      let unchanged = try await server.get("rex", original.id)
      #expect(unchanged.status == .failed && unchanged.attempts == original.attempts && unchanged.errorCode == original.errorCode)
      #expect(abs(unchanged.updatedAt.date.timeIntervalSince(original.updatedAt.date)) < 0.001, "not touched")
      #expect(try await server.finished("rex", retried.id).status == .failed)

      let running = try await server.create("rex", prompt: "b")
      let notEnded = await rpcError { try await admin(server).retryTask(.with { $0.userID = "rex"; $0.taskID = running.id }) }
      #expect(notEnded == nil || notEnded?.code == .failedPrecondition)
    }
  }

  @Test func aBulkRetryCountsFirstThenRetriesWhatMatches() async throws {
    try await withTestServer(workers: 2, backends: ["default-image": FailingBackend()]) { server in
      try await server.grant("bulk", 1000)
      try await server.grant("other", 1000)
      for user in ["bulk", "bulk", "bulk", "other"] {
        _ = try await server.finished(user, try await server.create(user, prompt: "x").id)
      }
      var filter = Easel_V1_TaskFilter()
      filter.userID = "bulk"
      filter.errorCode = "model_error"
      filter.backend = "default-image"
      let dry = try await admin(server).retryTask(.with {
        $0.filter = filter
        $0.dryRun = true
      })
      #expect(dry.matched == 3 && dry.retried.isEmpty)
      #expect(try await server.tasks.listTasks(.with { $0.userID = "bulk" }).total == 3, "a dry run creates nothing")
      let done = try await admin(server).retryTask(.with { $0.filter = filter })
      #expect(done.matched == 3 && done.retried.count == 3 && done.failures.isEmpty)
      #expect(Set(done.retried.map(\.retryOf)).count == 3)
      filter.templateCode = "img2img"
      #expect(try await admin(server).retryTask(.with { $0.filter = filter; $0.dryRun = true }).matched == 0)
      let badStatus = await rpcError {
        try await admin(server).retryTask(.with { $0.filter.status = .completed; $0.dryRun = true })
      }
      #expect(badStatus?.code == .invalidArgument)
    }
  }

  @Test func aPausedBackendHoldsItsTasksAcrossARestartUntilResumed() async throws {
    let directory = try TestServer.temporaryDirectory()
    let waiting = try await withTestServer(directory: directory, workers: 1) { server in
      try await server.grant("pau", 100)
      let pause = try await admin(server).pauseBackend(.with {
        $0.backend = "default-image"
        $0.reason = "driver upgrade"
      })
      #expect(pause.paused && pause.reason == "driver upgrade")
      let task = try await server.create("pau", prompt: "held")
      try await Task.sleep(for: .milliseconds(1500))
      #expect(try await server.get("pau", task.id).status == .pending)
      let video = try await server.create("pau", template: "txt2video", prompt: "not paused")
      #expect(try await server.finished("pau", video.id).status == .completed, "other backends go on")
      let unknown = await rpcError { try await admin(server).pauseBackend(.with { $0.backend = "nope" }) }
      #expect(unknown?.code == .notFound)
      return task.id
    }
    try await withTestServer(directory: directory, workers: 1) { server in
      try await Task.sleep(for: .milliseconds(1500))
      #expect(try await server.get("pau", waiting).status == .pending, "the pause is stored")
      let pauses = try await admin(server).listBackendPauses(.init()).pauses
      #expect(pauses.map(\.backend) == ["default-image"])
      _ = try await admin(server).resumeBackend(.with { $0.backend = "default-image" })
      #expect(try await server.finished("pau", waiting).status == .completed)
      #expect(try await admin(server).listBackendPauses(.init()).pauses.isEmpty)
    }
  }

  @Test func aFailedWebhookIsListedAndRedelivered() async throws {
    let receiver = try FakeModelServer()
    try await receiver.script("/hooks", [.init(status: 500, body: "down")])
    try await withTestServer(workers: 1, configure: {
      WebhookTests.allowingLoopback(&$0)
      $0.webhooks.retryPeriod = .milliseconds(500)
    }) { server in
      try await server.grant("wh", 100)
      let task = try await server.create("wh", prompt: "hooked", webhookURL: receiver.url + "/hooks")
      _ = try await server.finished("wh", task.id)
      var failed: [Easel_V1_WebhookDelivery] = []
      try await waitUntil(within: .seconds(15)) {
        failed = try await admin(server).listWebhookDeliveries(.init()).deliveries
        return !failed.isEmpty
      }
      let delivery = try #require(failed.first)
      #expect(delivery.taskID == task.id && delivery.state == "FAILED" && delivery.attempts.first?.statusCode == 500)
      let history = try await admin(server).listWebhookDeliveries(.with { $0.userID = "wh"; $0.taskID = task.id }).deliveries
      #expect(history.map(\.id).contains(delivery.id))

      try await receiver.script("/hooks", [.init(status: 204)])
      let again = try await admin(server).redeliverWebhook(.with { $0.deliveryID = delivery.id })
      #expect(again.state == "PENDING")
      try await waitUntil(within: .seconds(15)) {
        try await admin(server).listWebhookDeliveries(.with { $0.userID = "wh"; $0.taskID = task.id }).deliveries
          .first { $0.id == delivery.id }?.state == "DELIVERED"
      }
      let missing = await rpcError { try await admin(server).redeliverWebhook(.with { $0.deliveryID = "nope" }) }
      #expect(missing?.code == .notFound)
    }
  }

  @Test func statsCountTheLastHourAndTodaysCredits() async throws {
    try await withTestServer(workers: 2, proceduralDelay: .milliseconds(50), backends: ["default-video": FailingBackend()]) {
      server in
      try await server.grant("st", 500)
      for _ in 0..<3 { _ = try await server.finished("st", try await server.create("st", prompt: "s").id) }
      _ = try await server.finished("st", try await server.create("st", template: "txt2video", prompt: "v").id)
      let stats = try await admin(server).getStats(.init())
      let counts = Dictionary(stats.counts.map { ("\($0.status) \($0.backend)", $0.count) }, uniquingKeysWith: +)
      #expect(counts["completed default-image"] == 3 && counts["failed default-video"] == 1, "\(counts)")
      #expect(stats.minutes.count == 60)
      #expect(stats.minutes.reduce(0) { $0 + $1.completed } == 3 && stats.minutes.reduce(0) { $0 + $1.failed } == 1)
      #expect(stats.runTimeP50Ms >= 50 && stats.runTimeP95Ms >= stats.runTimeP50Ms)
      #expect(stats.queueWaitP95Ms >= stats.queueWaitP50Ms)
      #expect(stats.capturedToday.map(\.platform) == ["default"] && stats.capturedToday.first?.captured == 30)
      #expect(try await admin(server).getStats(.with { $0.platform = "elsewhere" }).counts.isEmpty)
    }
  }

  /// An operator key acts on every platform; an admin key only on its own (and pauses nothing,
  /// since a pause stops every platform); a tasks key can't operate at all.
  @Test func operatorsActEverywhereAndAdminsOnTheirOwnPlatform() async throws {
    try await withTestServer(workers: 1, backends: ["default-image": FailingBackend()]) { server in
      try await server.grant("u", 100, platform: "web")
      let failed = try await server.create("u", prompt: "x", platform: "web")
      try await waitUntil { try await server.get("u", failed.id, platform: "web").status == .failed }
      let ops = try await server.createKey(platform: "ops", scope: .operator)
      let webAdmin = try await server.createKey(platform: "web", scope: .admin)
      let appAdmin = try await server.createKey(platform: "app", scope: .admin)
      let tasksKey = try await server.createKey(platform: "web", scope: .tasks)
      try await server.withTCPClient { client in
        let admin = Easel_V1_AdminService.Client(wrapping: client)
        let one = Easel_V1_RetryTaskRequest.with {
          $0.platform = "web"
          $0.userID = "u"
          $0.taskID = failed.id
          $0.dryRun = true
        }
        #expect(try await admin.retryTask(one, metadata: bearer(ops.secret)).matched == 1)
        #expect(try await admin.retryTask(one, metadata: bearer(webAdmin.secret)).matched == 1)
        let stranger = await rpcError { try await admin.retryTask(one, metadata: bearer(appAdmin.secret)) }
        #expect(stranger?.code == .permissionDenied)
        let everywhere = try await admin.getStats(.init(), metadata: bearer(ops.secret))
        #expect(everywhere.counts.contains { $0.status == .failed })
        #expect(try await admin.getStats(.init(), metadata: bearer(appAdmin.secret)).counts.isEmpty, "its own platform only")
        let otherPlatform = await rpcError { try await admin.getStats(.with { $0.platform = "web" }, metadata: bearer(appAdmin.secret)) }
        #expect(otherPlatform?.code == .permissionDenied)
        let pause = await rpcError {
          try await admin.pauseBackend(.with { $0.backend = "default-image" }, metadata: bearer(webAdmin.secret))
        }
        #expect(pause?.code == .permissionDenied)
        _ = try await admin.pauseBackend(.with { $0.backend = "default-image" }, metadata: bearer(ops.secret))
        _ = try await admin.resumeBackend(.with { $0.backend = "default-image" }, metadata: bearer(ops.secret))
        let tasks = await rpcError { try await admin.getStats(.init(), metadata: bearer(tasksKey.secret)) }
        #expect(tasks?.code == .permissionDenied)
        let noKey = await rpcError { try await admin.getStats(.init()) }
        #expect(noKey?.code == .unauthenticated)
      }
    }
  }

  @Test func theCLIOperates() async throws {
    try await withTestServer(workers: 1, backends: ["default-image": FailingBackend()]) { server in
      try await server.grant("cli", 100)
      let failed = try await server.finished("cli", try await server.create("cli", prompt: "x").id)
      let env = ["EASEL_SERVER": "unix:\(server.endpoints.unixSocketPath)"]
      let dry = try await runTool("easel", ["admin", "retry", "--error-code", "model_error", "--since", "1h", "--dry-run"], environment: env)
      #expect(dry.status == 0 && dry.stdout.contains("1 task(s) would be retried"), "\(dry.stdout)\(dry.stderr)")
      let one = try await runTool("easel", ["admin", "retry", failed.id, "--user", "cli"], environment: env)
      #expect(one.status == 0 && one.stdout.contains("\(failed.id) → "), "\(one.stdout)\(one.stderr)")
      let pause = try await runTool("easel", ["admin", "pause", "default-image", "--reason", "maintenance"], environment: env)
      #expect(pause.status == 0 && pause.stdout.contains("paused default-image"))
      let pauses = try await runTool("easel", ["admin", "pauses"], environment: env)
      #expect(pauses.stdout.contains("default-image") && pauses.stdout.contains("maintenance"))
      #expect(try await runTool("easel", ["admin", "resume", "default-image"], environment: env).status == 0)
      let stats = try await runTool("easel", ["admin", "stats", "--json"], environment: env)
      #expect(stats.status == 0 && stats.stdout.contains("\"queueWaitP50Ms\""), "\(stats.stdout)")
      let webhooks = try await runTool("easel", ["admin", "webhooks"], environment: env)
      #expect(webhooks.status == 0)
    }
  }
}
