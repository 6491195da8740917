import EaselCore
import EaselPostgres
import EaselServer
import Foundation

/// The fair queue's cost against its length: claims (p50/p99) and claim → finish cycles a second
/// with 100,000 PENDING tasks over 10,000 users, against the same with 100 pending over 100 users.
/// Straight on the store, as workers use it (among a default server's backends); each cycle also
/// queues one new task (not timed), so the queue keeps its length.
struct QueueBench: Sendable {
  struct Figures: Sendable {
    var claims: Latencies
    var cyclesPerSecond: Double
  }

  static let template = Template(
    code: "txt2img", name: "Text to image", version: "1", category: "images", kind: .image, description: "",
    backend: "default-image", parameters: [ParameterSpec(name: "prompt", type: .string, required: true)])

  /// What a default server's workers claim among.
  static let backends: Set<String> = ["procedural", "default-image", "default-video"]

  let cycles: Int

  /// Measures one queue length on a fresh store at `location`.
  func run(_ location: StoreLocation, pending: Int, users: Int) async throws -> Figures {
    try await OpenStore.with(location) { store in
      let now = Date()
      for user in 0..<users {
        _ = try await store.changeCredits(
          of: try Self.account(user), by: 1 << 40, kind: .grant, reason: "benchmark", idempotency: nil, now: now)
      }
      // Filled by 8 writers at once (PostgreSQL takes them side by side; SQLite one after another).
      try await withThrowingTaskGroup(of: Void.self) { group in
        for writer in 0..<8 {
          group.addTask {
            for index in stride(from: writer, to: pending, by: 8) {
              _ = try await store.createTask(try Self.task(user: index % users), now: Date())
            }
          }
        }
        try await group.waitForAll()
      }
      var claims = Latencies()
      var busy = Duration.zero
      for index in 0..<cycles {
        let lease = Lease(owner: "bench", expires: Date().addingTimeInterval(60))
        let started = ContinuousClock.now
        let claimed = try await store.claimNextTask(lease: lease, among: Self.backends, aging: FairQueue.defaultAging, now: Date())
        guard let task = claimed else { throw BenchError("the queue ran dry") }
        let claimedAt = ContinuousClock.now
        let artifact = Artifact(key: "outputs/bench/\(task.id).png", contentType: "image/png")
        _ = try await store.finishTask(
          id: task.id, owner: "bench", outcome: .completed(outputs: [TaskOutput(output: artifact, thumbnail: artifact)], processingTimeMs: 1),
          now: Date())
        busy += ContinuousClock.now - started
        claims.add(claimedAt - started)
        _ = try await store.createTask(try Self.task(user: (pending + index) % users), now: Date())
      }
      return Figures(claims: claims, cyclesPerSecond: Double(cycles) / busy.seconds)
    }
  }

  static func account(_ user: Int) throws -> Account { try Account(platform: "bench", userID: "user-\(user)") }

  static func task(user: Int) throws -> NewTask {
    let request = try template.resolve(["prompt": .string("a queued picture")], hasInputImage: false)
    return NewTask(
      id: UUID().uuidString.lowercased(), account: try account(user), template: template, request: request, creditCost: 10,
      inputImageKey: nil, idempotency: nil)
  }
}
