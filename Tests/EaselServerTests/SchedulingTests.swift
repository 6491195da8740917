import EaselCore
import EaselImaging
import EaselRPC
import EaselServer
import Foundation
import GRPCCore
import SwiftProtobuf
import Synchronization
import Testing

/// The fair queue (FairQueue): tasks are created through gRPC on a server without workers, then
/// claimed straight from its store (SQLite, or PostgreSQL with EASEL_TEST_DATABASE_URL), so every
/// dispatch is counted.
@Suite(.timeLimit(.minutes(3))) struct SchedulingTests {
  /// Claims up to `count` tasks in order, as workers would; their users (and ids).
  static func dispatch(_ count: Int, from directory: URL) async throws -> [(user: String, id: String)] {
    try await TestDatabase.withStore(directory) { store in try await dispatch(count, from: store) }
  }

  static func dispatch(_ count: Int, from store: any TaskStore) async throws -> [(user: String, id: String)] {
    var claimed: [(String, String)] = []
    for _ in 0..<count {
      let lease = Lease(owner: "scheduler-test", expires: Date().addingTimeInterval(60))
      guard let task = try await store.claimNextTask(lease: lease, among: nil, aging: FairQueue.defaultAging, now: Date()) else { break }
      claimed.append((task.account.userID, task.id))
    }
    return claimed
  }

  static func create(_ server: TestServer, _ user: String, priority: Int, prompt: String = "work") async throws
    -> Easel_V1_Task
  {
    try await server.tasks.createTask(.with {
      $0.userID = user
      $0.templateCode = "txt2img"
      $0.parameters.fields["prompt"] = Google_Protobuf_Value(stringValue: prompt)
      $0.priority = Int32(priority)
    })
  }

  @Test func aUserWithOneTaskIsNotStuckBehindAUserWithTwoHundred() async throws {
    let directory = try TestServer.temporaryDirectory()
    try await withTestServer(directory: directory, workers: 0) { server in
      for user in ["ann", "bob"] { try await server.grant(user, 10_000) }
      for index in 0..<200 { _ = try await server.create("ann", prompt: "ann \(index)") }
      let bob = try await server.create("bob", prompt: "bob")
      let first = try await Self.dispatch(2, from: directory)
      #expect(first.map(\.id).contains(bob.id), "bob starts within 2 dispatches: \(first.map(\.user))")
      // Later on too: after 50 of ann's, a new task of bob's is again within the next 2.
      _ = try await Self.dispatch(50, from: directory)
      let again = try await server.create("bob", prompt: "bob again")
      #expect(try await Self.dispatch(2, from: directory).map(\.id).contains(again.id))
    }
  }

  @Test func fiveUsersShareTheDispatchesEvenly() async throws {
    let directory = try TestServer.temporaryDirectory()
    let users = ["u1", "u2", "u3", "u4", "u5"]
    try await withTestServer(directory: directory, workers: 0) { server in
      for user in users { try await server.grant(user, 10_000) }
      // Bursts of random sizes, in turns, until each user has queued 80.
      var queued = Dictionary(uniqueKeysWithValues: users.map { ($0, 0) })
      var generator = SystemRandomNumberGenerator()
      while queued.values.contains(where: { $0 < 80 }) {
        for user in users where queued[user, default: 0] < 80 {
          let burst = min(Int.random(in: 1...25, using: &generator), 80 - queued[user, default: 0])
          for _ in 0..<burst { _ = try await server.create(user, prompt: "work") }
          queued[user, default: 0] += burst
        }
      }
      let order = try await Self.dispatch(400, from: directory).map(\.user)
      #expect(order.count == 400)
      for start in 0...(order.count - 100) {
        let window = order[start..<(start + 100)]
        for user in users {
          let count = window.filter { $0 == user }.count
          #expect((18...22).contains(count), "\(user) had \(count) of the 100 dispatches from \(start)")
        }
      }
    }
  }

  @Test func priorityLevelsAreStrict() async throws {
    let directory = try TestServer.temporaryDirectory()
    try await withTestServer(directory: directory, workers: 0) { server in
      for user in ["ann", "vip"] { try await server.grant(user, 100_000) }
      for index in 0..<100 { _ = try await server.create("ann", prompt: "normal \(index)") }
      let urgent = try await Self.create(server, "vip", priority: 9, prompt: "urgent")
      #expect(urgent.priority == 9)
      #expect(try await Self.dispatch(1, from: directory).first?.id == urgent.id, "priority 9 overtakes 100 queued at 5")
      // A whole backlog of priority 9, queued after and between priority-5 work, goes first.
      var backlog: [String] = []
      for index in 0..<30 {
        backlog.append(try await Self.create(server, "vip", priority: 9, prompt: "vip \(index)").id)
        _ = try await server.create("ann", prompt: "more \(index)")
      }
      let low = try await Self.create(server, "ann", priority: 4, prompt: "below")
      #expect(try await server.get("ann", low.id).queuePosition == 160, "its position counts every higher level")
      let order = try await Self.dispatch(200, from: directory).map(\.id)
      #expect(Array(order.prefix(30)) == backlog, "the priority-9 backlog, in its order, before any priority-5 task")
      #expect(order.count == 161 && order.last == low.id, "priority 4 after every priority-5 task")
    }
  }

  /// Claims with a simulated clock, 6 s a dispatch (aging 30 s a level): a priority-0 task under a
  /// constant stream of priority-9 tasks from ever new users starts once its level has aged to 9.
  @Test func agingBoundsTheWaitOfALowPriorityTask() async throws {
    let directory = try TestServer.temporaryDirectory()
    try await withTestServer(directory: directory, workers: 0) { server in
      try await server.grant("low", 100)
      let patient = try await Self.create(server, "low", priority: 0, prompt: "patient")
      let start = Date()
      let waited = try await TestDatabase.withStore(directory) { store in
        var waited = 0
        while waited < 200 {
          try await server.grant("s\(waited)", 100)
          _ = try await Self.create(server, "s\(waited)", priority: 9, prompt: "stream")
          waited += 1
          let lease = Lease(owner: "scheduler-test", expires: Date().addingTimeInterval(600))
          let now = start.addingTimeInterval(Double(waited) * 6)
          let task = try await store.claimNextTask(lease: lease, among: nil, aging: .seconds(30), now: now)
          if task?.id == patient.id { break }
        }
        return waited
      }
      #expect((9 * 5)...(9 * 5 + 1) ~= waited, "9 levels at 30 s each: it started after \(waited * 6) s")
    }
  }

  /// The worker pool claims with its aging setting: with 100 ms a level, a priority-0 task queued
  /// a second before a priority-9 one has aged level with it, and goes first as the older.
  @Test func thePoolAgesLevelsWithItsSetting() async throws {
    try await withTestServer(workers: 1, proceduralDelay: .milliseconds(1500), configure: {
      $0.scheduling.priorityAging = .milliseconds(100)
    }) { server in
      for user in ["busy", "low", "vip"] { try await server.grant(user, 100) }
      let blocker = try await server.create("busy")
      let patient = try await Self.create(server, "low", priority: 0)
      let urgent = try await Self.create(server, "vip", priority: 9)
      _ = try await server.finished("busy", blocker.id)
      let (low, high) = (try await server.finished("low", patient.id), try await server.finished("vip", urgent.id))
      #expect(low.startedAt.date < high.startedAt.date, "the aged priority-0 task started first")
    }
  }

  @Test func aKeyGrantsPriorityUpToItsMaximum() async throws {
    try await withTestServer(workers: 0) { server in
      let plain = try await server.createKey(platform: "web", scope: .tasks)
      let premium = try await server.createKey(platform: "web", scope: .tasks, maxPriority: 9)
      try await server.grant("pat", 100, platform: "web")
      try await server.withTCPClient { client in
        let tasks = Easel_V1_TaskService.Client(wrapping: client)
        func request(_ priority: Int32?) -> Easel_V1_CreateTaskRequest {
          .with {
            $0.userID = "pat"
            $0.templateCode = "txt2img"
            $0.parameters.fields["prompt"] = Google_Protobuf_Value(stringValue: "p")
            if let priority { $0.priority = priority }
          }
        }
        let normal = try await tasks.createTask(request(nil), metadata: bearer(plain.secret))
        #expect(normal.priority == 5, "5 by default")
        let denied = await rpcError { try await tasks.createTask(request(6), metadata: bearer(plain.secret)) }
        #expect(denied?.code == .permissionDenied && denied?.message.contains("maximum of 5") == true, "\(String(describing: denied))")
        let high = try await tasks.createTask(request(9), metadata: bearer(premium.secret))
        #expect(high.priority == 9)
        let invalid = await rpcError { try await tasks.createTask(request(10), metadata: bearer(premium.secret)) }
        #expect(invalid?.code == .invalidArgument)
      }
    }
  }
}

extension SchedulingTests {
  /// Two nodes' stores claiming at once from one fair queue: every task is claimed once.
  @Test func twoClaimersTakeEachTaskOnce() async throws {
    let directory = try TestServer.temporaryDirectory()
    try await withTestServer(directory: directory, workers: 0) { server in
      for user in ["ann", "bob", "cy"] {
        try await server.grant(user, 10_000)
        for _ in 0..<40 { _ = try await server.create(user, prompt: "shared") }
      }
    }
    let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
      for node in ["node-a", "node-b"] {
        group.addTask {
          try await TestDatabase.withStore(directory) { store in
            var ids: [String] = []
            let lease = Lease(owner: node, expires: Date().addingTimeInterval(60))
            while let task = try await store.claimNextTask(lease: lease, among: nil, aging: FairQueue.defaultAging, now: Date()) {
              ids.append(task.id)
            }
            return ids
          }
        }
      }
      return try await group.reduce(into: []) { $0 += $1 }
    }
    #expect(claimed.count == 120 && Set(claimed).count == 120)
  }
}

extension SchedulingTests {
  @Test func aPlatformWeightGivesItsUsersMoreTurns() async throws {
    let directory = try TestServer.temporaryDirectory()
    let weighted: (inout ServerConfiguration) -> Void = { $0.scheduling = SchedulingSettings(platformWeights: ["web": 3]) }
    try await withTestServer(directory: directory, workers: 0, configure: weighted) { server in
      for platform in ["web", "bot"] {
        try await server.grant("\(platform)-user", 10_000, platform: platform)
        for _ in 0..<80 { _ = try await server.create("\(platform)-user", prompt: "p", platform: platform) }
      }
      let order = try await Self.dispatch(80, from: directory).map(\.user)
      #expect(order.filter { $0 == "web-user" }.count == 60, "3 turns for 1: \(order.filter { $0 == "web-user" }.count)")
    }
    let bad = try await runTool("easeld", ["config", "print"], environment: ["EASEL_PLATFORM_WEIGHTS": "web=0"])
    #expect(bad.status == 1 && bad.stderr.contains("PLATFORM=WEIGHT"), "\(bad.stderr)")
  }
}

/// Queue deadlines: a task that can't start in time ends EXPIRED, uncharged.
@Suite(.timeLimit(.minutes(2))) struct QueueDeadlineTests {
  @Test func aTaskThatCannotStartInTimeExpiresUncharged() async throws {
    let receiver = try FakeModelServer()
    try await receiver.script("/hooks/easel", [.init(status: 204)])
    try await withTestServer(workers: 1, proceduralDelay: .seconds(3), configure: WebhookTests.allowingLoopback) { server in
      try await server.grant("eve", 100)
      let busy = try await server.create("eve", prompt: "takes the only worker")
      try await waitUntil { try await server.get("eve", busy.id).status == .processing }
      let late = try await server.tasks.createTask(.with {
        $0.userID = "eve"
        $0.templateCode = "txt2img"
        $0.parameters.fields["prompt"] = Google_Protobuf_Value(stringValue: "in a hurry")
        $0.startWithinMs = 500
        $0.webhookURL = receiver.url + "/hooks/easel"
      })
      #expect(late.status == .pending && late.creditCost == 10, "held like any task until it expires")
      let updates = try await server.updates("eve", late.id)
      let final = try #require(updates.last).task
      #expect(final.status == .expired && final.errorCode == "start_deadline_exceeded", "\(final.status) \(final.errorMessage)")
      #expect(!final.hasStartedAt && final.attempts == 0)
      try await waitUntil { try await receiver.requests("/hooks/easel").count == 1 }
      #expect(try await receiver.requests("/hooks/easel").first?.json?["type"] == .string("task.expired"))
      #expect(try await server.finished("eve", busy.id).status == .completed)
      let balance = try await server.balance("eve")
      #expect(balance.available == 90 && balance.held == 0, "only the task that ran is charged")
      let ledger = try await server.ledger("eve")
      #expect(ledger.contains { $0.taskID == late.id && $0.kind == "HOLD" })
      #expect(ledger.contains { $0.taskID == late.id && $0.reason == "ai_generation_expired" })
      #expect(try await TestDatabase.withStore(server.directory) { try await $0.auditCredits() }.isEmpty)
    }
  }

  @Test func aTemplateDefaultAppliesAndBadValuesAreRefused() async throws {
    let folder = try TestServer.temporaryDirectory()
    try TemplateTests.poster(version: "1", extra: "start_within_ms: 300\n")
      .write(to: folder.appendingPathComponent("poster.yaml"), atomically: true, encoding: .utf8)
    try await withTestServer(workers: 0, templates: folder) { server in
      try await server.grant("deb", 100)
      let task = try await server.create("deb", template: "poster", prompt: nil, parameters: ["event": Google_Protobuf_Value(stringValue: "x")])
      try await waitUntil(within: .seconds(20)) { try await server.get("deb", task.id).status == .expired }  // no worker: it never starts
      let negative = await rpcError {
        try await server.tasks.createTask(.with {
          $0.userID = "deb"
          $0.templateCode = "poster"
          $0.startWithinMs = -1
        })
      }
      #expect(negative?.code == .invalidArgument)
    }
  }
}

/// Records the order generations start in, each taking a little while.
final class StartRecorder: ModelBackend, Sendable {
  private let started = Mutex<[String]>([])

  var order: [String] { started.withLock { $0 } }

  func generate(_ job: GenerationJob, progress: @escaping ProgressHandler) async throws -> GeneratedMedia {
    started.withLock { $0.append(job.prompt) }
    try await Task.sleep(for: .milliseconds(40))
    return GeneratedMedia(bytes: try VipsImageProcessor().png(rgb: [7, 7, 7], width: 1, height: 1), contentType: "image/png")
  }
}

extension SchedulingTests {
  /// The same through real workers: two of them, generations that take a while.
  @Test func withTwoWorkersALateUserStartsWithinTheNextDispatches() async throws {
    let recorder = StartRecorder()
    try await withTestServer(workers: 2, backends: ["default-image": recorder]) { server in
      for user in ["ann", "bob"] { try await server.grant(user, 10_000) }
      for index in 0..<200 { _ = try await server.create("ann", prompt: "ann \(index)") }
      try await waitUntil { recorder.order.count >= 20 }
      let startedBefore = recorder.order.count
      let bob = try await server.create("bob", prompt: "bob")
      _ = try await server.finished("bob", bob.id)
      let position = try #require(recorder.order.firstIndex(of: "bob"))
      // Two claims may already be under way when bob's task arrives; then it is one of the next two.
      #expect(position - startedBefore <= 3, "bob started \(position - startedBefore) starts after arriving")
    }
  }
}

extension SchedulingTests {
  /// A claim reads each wanted backend's head: tasks of a backend left out (a saturated fleet)
  /// never stand in the way, however many are ahead.
  @Test func aClaimTakesOnlyTheBackendsAskedFor() async throws {
    let directory = try TestServer.temporaryDirectory()
    try await withTestServer(directory: directory, workers: 0) { server in
      try await server.grant("mix", 10_000)
      for index in 0..<5 { _ = try await server.create("mix", prompt: "image \(index)") }
      let video = try await server.create("mix", template: "txt2video", prompt: "a clip")
      try await TestDatabase.withStore(directory) { store in
        let lease = Lease(owner: "picky", expires: Date().addingTimeInterval(60))
        #expect(try await store.claimNextTask(lease: lease, among: ["default-video"], aging: FairQueue.defaultAging, now: Date())?.id == video.id)
        #expect(try await store.claimNextTask(lease: lease, among: [], aging: FairQueue.defaultAging, now: Date()) == nil)
        #expect(try await store.claimNextTask(lease: lease, among: ["nowhere"], aging: FairQueue.defaultAging, now: Date()) == nil)
        let image = try await store.claimNextTask(lease: lease, among: ["default-image", "default-video"], aging: FairQueue.defaultAging, now: Date())
        #expect(image?.prompt == "image 0")
      }
    }
  }
}
