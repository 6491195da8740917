import Synchronization

/// The tasks this process is generating, so `CancelTask` can interrupt exactly one of them.
/// A cancel that arrives between the claim and the start of the run is remembered, not lost.
public final class RunningTasks: Sendable {
  private struct State {
    var running: [String: AsyncStream<Void>.Continuation] = [:]
    var canceledEarly: Set<String> = []
  }

  private let state = Mutex(State())

  public init() {}

  /// Marks `taskID` as running here; the stream yields once if the task is canceled.
  func start(_ taskID: String) -> AsyncStream<Void> {
    let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    let early = state.withLock { state in
      state.running[taskID] = continuation
      return state.canceledEarly.remove(taskID) != nil
    }
    if early { continuation.yield() }
    return stream
  }

  func finish(_ taskID: String) {
    state.withLock { $0.running.removeValue(forKey: taskID) }?.finish()
  }

  /// Asks the run of `taskID` to stop; remembered if the run has not started yet.
  public func cancel(_ taskID: String) {
    let continuation = state.withLock { state in
      guard let continuation = state.running[taskID] else {
        state.canceledEarly.insert(taskID)
        return nil as AsyncStream<Void>.Continuation?
      }
      return continuation
    }
    continuation?.yield()
  }
}
