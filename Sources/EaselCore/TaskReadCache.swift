import Synchronization

/// Tasks recently read by id, so that polling a task (GetTask, the commonest call) skips the
/// database: that read — GRDB's reader pool, a dispatch queue, decoding 30 columns — cost more
/// than the rest of the call (see docs/performance.md).
///
/// Every commit that changes a task drops its entry and bumps `generation`, and a read only fills
/// the cache if no commit happened while it read; so an entry is never older than the database
/// as this process wrote it. Entries also expire after `lifetime`, which bounds how long a change
/// made by another process (`easeld purge`) goes unseen. With PostgreSQL, other nodes' changes
/// drop entries as the change feed brings them.
public final class TaskReadCache: Sendable {
  private struct State {
    var entries: ExpiringEntries<GenerationTask>
    var generation: UInt64 = 0
  }

  private let lifetime: Duration
  private let state: Mutex<State>

  public init(capacity: Int = 10_000, lifetime: Duration = .seconds(1)) {
    self.lifetime = lifetime
    state = Mutex(State(entries: ExpiringEntries(capacity: capacity)))
  }

  /// The task if cached, else what `read` returns (remembered if nothing changed meanwhile).
  public func task(id: String, now: ContinuousClock.Instant = .now, read: () async throws -> GenerationTask?)
    async rethrows -> GenerationTask?
  {
    let cached = state.withLock { state in (task: state.entries.value(for: id, now: now), generation: state.generation) }
    if let task = cached.task { return task }
    guard let task = try await read() else { return nil }
    state.withLock { state in
      guard state.generation == cached.generation else { return }
      state.entries.insert(task, for: id, lifetime: lifetime, now: now)
    }
    return task
  }

  /// A commit changed these tasks (nil: any task).
  public func invalidate(_ id: String?) {
    state.withLock { state in
      state.generation &+= 1
      if let id { state.entries.remove(id) } else { state.entries.removeAll() }
    }
  }
}
