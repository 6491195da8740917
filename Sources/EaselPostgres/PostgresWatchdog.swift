import EaselCore
import Synchronization

/// Ends the store's operations in flight when the database becomes unreachable (the change feed's
/// connection is down) or when one outlives its timeout (a database that stopped answering
/// without closing connections): one sweep every `interval` for all of them, rather than a timer
/// and a task for each operation.
final class PostgresWatchdog: Sendable {
  static let interval: Duration = .milliseconds(100)

  private struct Watched {
    var deadline: ContinuousClock.Instant
    var timeout: Duration
    var abort: @Sendable (any Error) -> Void
  }

  private let watched = Mutex((next: 0, all: [Int: Watched]()))

  /// Watches an operation until `release`; `abort` ends it with the reason.
  func watch(timeout: Duration, abort: @escaping @Sendable (any Error) -> Void) -> Int {
    watched.withLock { state in
      state.next += 1
      state.all[state.next] = Watched(deadline: .now + timeout, timeout: timeout, abort: abort)
      return state.next
    }
  }

  func release(_ id: Int) {
    _ = watched.withLock { $0.all.removeValue(forKey: id) }
  }

  /// Aborts every operation while the database is unreachable, and those past their deadline.
  func sweep(connected: Bool, now: ContinuousClock.Instant = .now) {
    let ended = watched.withLock { state in
      let ended = state.all.filter { !connected || $0.value.deadline <= now }
      for id in ended.keys { state.all.removeValue(forKey: id) }
      return ended.values
    }
    for operation in ended {
      operation.abort(
        connected
          ? EaselError(.unavailable, "the database did not answer within \(operation.timeout); try again shortly")
          : PostgresFailure.unavailable)
    }
  }

  /// Sweeps until canceled.
  func run(connected: @Sendable () -> Bool) async {
    while !Task.isCancelled {
      try? await Task.sleep(for: Self.interval)
      sweep(connected: connected())
    }
  }
}
