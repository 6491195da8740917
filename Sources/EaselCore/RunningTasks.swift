import Foundation
import Synchronization

/// The tasks this process is generating, so a cancel request (stored on the task and carried by
/// the change feed to every node) interrupts exactly the run that holds it.
/// A request that arrives between the claim and the start of the run is remembered for a while,
/// not lost; requests for tasks that never start here are forgotten after `earlyCancelMemory`.
public final class RunningTasks: Sendable {
  private struct State {
    var running: [String: AsyncStream<Void>.Continuation] = [:]
    var canceledEarly: [String: ContinuousClock.Instant] = [:]
  }

  private let state = Mutex(State())
  private let earlyCancelMemory: Duration

  public init(earlyCancelMemory: Duration = .seconds(60)) {
    self.earlyCancelMemory = earlyCancelMemory
  }

  /// Marks `taskID` as running here; the stream yields once if the task is canceled.
  func start(_ taskID: String) -> AsyncStream<Void> {
    let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    let early = state.withLock { state in
      state.running[taskID] = continuation
      return state.canceledEarly.removeValue(forKey: taskID) != nil
    }
    if early { continuation.yield() }
    return stream
  }

  func finish(_ taskID: String) {
    state.withLock { $0.running.removeValue(forKey: taskID) }?.finish()
  }

  /// Asks the run of `taskID` to stop; remembered for a while if no run of it has started here.
  public func cancel(_ taskID: String) {
    let now = ContinuousClock.now
    let continuation = state.withLock { state in
      if let continuation = state.running[taskID] { return continuation as AsyncStream<Void>.Continuation? }
      state.canceledEarly = state.canceledEarly.filter { now - $0.value < earlyCancelMemory }
      state.canceledEarly[taskID] = now
      return nil
    }
    continuation?.yield()
  }

  /// How many early cancel requests are remembered (for tests).
  var rememberedCancels: Int { state.withLock { $0.canceledEarly.count } }

  /// Hears every stored change: a PROCESSING task whose cancel was requested is stopped if it runs here.
  public func observe(_ task: GenerationTask) {
    if task.status == .processing, task.cancelRequestedAt != nil { cancel(task.id) }
  }
}
