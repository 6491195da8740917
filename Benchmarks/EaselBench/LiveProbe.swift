import EaselRPC
import Foundation
import GRPCCore

/// Live-update latency across nodes under load: while another load runs, a task is created on
/// `creator` every 20 ms and a user stream on `subscriber` (another node) times its first update,
/// from the create's answer (the commit) to the update's arrival.
struct LiveProbe: Sendable {
  let subscriber: ServerProcess
  let creator: ServerProcess
  /// A user of its own for each probe: a user stream starts with the user's open tasks, which an
  /// earlier probe's would be.
  var user = "live-probe"

  /// Probes until `stop` is set; the latencies.
  func run(until stop: Locked<Bool>) async throws -> Latencies {
    try await withClients([subscriber, creator][...]) { clients in
      _ = try await Easel_V1_CreditService.Client(wrapping: clients[1]).grantCredits(.with {
        $0.userID = user
        $0.amount = 1 << 40
        $0.reason = "benchmark"
      })
      let created = Locked<[String: ContinuousClock.Instant]>([:])
      let latency = Locked(Latencies())
      let watching = Task {
        try await Easel_V1_TaskService.Client(wrapping: clients[0]).streamTaskUpdates(.with { $0.userID = user }) { response in
          for try await update in response.messages where update.task.status == .pending {
            let now = ContinuousClock.now
            // The create's answer may come after the update: wait for it.
            while !Task.isCancelled {
              if let start = created.withLock({ $0.removeValue(forKey: update.task.id) }) {
                latency.withLock { $0.add(max(.zero, now - start)) }
                break
              }
              try await Task.sleep(for: .milliseconds(1))
            }
          }
        }
      }
      defer { watching.cancel() }
      try await Task.sleep(for: .milliseconds(300))  // the stream is open
      let tasks = Easel_V1_TaskService.Client(wrapping: clients[1])
      while !stop.withLock({ $0 }) {
        var request = RPCBench.create
        request.userID = user
        let task = try await tasks.createTask(request)
        created.withLock { $0[task.id] = .now }
        try await Task.sleep(for: .milliseconds(20))
      }
      try await Task.sleep(for: .milliseconds(500))  // the last ones arrive
      return latency.withLock { $0 }
    }
  }
}
