import Synchronization

/// Something that happens once (a store migrated and listening, start-up done) and that other
/// work waits for; a failure is passed on to every waiter. A canceled waiter stops waiting.
public final class ReadySignal: Sendable {
  private struct State {
    var result: Result<Void, any Error>?
    var waiters: [Int: CheckedContinuation<Void, any Error>] = [:]
    var nextWaiter = 0
  }

  private let state = Mutex(State())

  public init() {}

  /// Ends every wait, now and later; only the first call counts.
  public func finish(_ result: Result<Void, any Error>) {
    let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
      guard state.result == nil else { return [] }
      state.result = result
      defer { state.waiters = [:] }
      return Array(state.waiters.values)
    }
    for waiter in waiters { waiter.resume(with: result) }
  }

  /// Returns once `finish(.success)` was called; throws what `finish(.failure)` was given, or
  /// CancellationError when the waiting task is canceled first.
  public func wait() async throws {
    let id = state.withLock { state in
      state.nextWaiter += 1
      return state.nextWaiter
    }
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        let ready = state.withLock { state -> Result<Void, any Error>? in
          if let result = state.result { return result }
          if Task.isCancelled { return .failure(CancellationError()) }
          state.waiters[id] = continuation
          return nil
        }
        if let ready { continuation.resume(with: ready) }
      }
    } onCancel: {
      state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
    }
  }
}
