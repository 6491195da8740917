import Synchronization

/// A task's value if it comes within a time limit; the task itself goes on either way.
enum FirstOf {
  static func value<T: Sendable>(of task: Task<T, Never>, within limit: Duration) async -> T? {
    let waiter = Waiter<T?>()
    return await withCheckedContinuation { continuation in
      waiter.set(continuation)
      Task { waiter.resume(returning: await task.value) }
      Task {
        try? await Task.sleep(for: limit)
        waiter.resume(returning: nil)
      }
    }
  }

  /// One continuation, resumed by whichever comes first.
  private final class Waiter<Value: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<Value, Never>?>(nil)

    func set(_ continuation: CheckedContinuation<Value, Never>) { self.continuation.withLock { $0 = continuation } }

    func resume(returning value: Value) {
      continuation.withLock { $0.take() }?.resume(returning: value)
    }
  }
}
