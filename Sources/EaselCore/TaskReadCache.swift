import Synchronization

/// Tasks recently read by id, so that polling a task (GetTask, the commonest call) skips the
/// database: that read — GRDB's reader pool, a dispatch queue, decoding 30 columns — cost more
/// than the rest of the call (see docs/performance.md).
///
/// Every commit that changes a task drops its entry, and a read only fills the cache if no commit
/// changed that task (or, `invalidate(nil)`, every task) while it read; so an entry is never older
/// than the database as this process wrote it. Commits that change other tasks don't stop a fill:
/// with PostgreSQL the change feed brings every node's changes, all the time. Entries also expire
/// after `lifetime`, which bounds how long a change made by another process (`easeld purge`) goes
/// unseen.
public final class TaskReadCache: Sendable {
  private struct State {
    var entries: ExpiringEntries<GenerationTask>
    /// Reads in flight by task, and whether a commit changed the task since the oldest began.
    var reading: [String: (readers: Int, changed: Bool)] = [:]
    /// Bumped by `invalidate(nil)`.
    var generation: UInt64 = 0
  }

  private let lifetime: Duration
  private let state: Mutex<State>

  public init(capacity: Int = 10_000, lifetime: Duration = .seconds(1)) {
    self.lifetime = lifetime
    state = Mutex(State(entries: ExpiringEntries(capacity: capacity)))
  }

  /// The task if cached, else what `read` returns (remembered if nothing changed it meanwhile).
  public func task(id: String, now: ContinuousClock.Instant = .now, read: () async throws -> GenerationTask?)
    async rethrows -> GenerationTask?
  {
    let cached = state.withLock { state -> (task: GenerationTask?, generation: UInt64) in
      if let task = state.entries.value(for: id, now: now) { return (task, state.generation) }
      state.reading[id, default: (0, false)].readers += 1
      return (nil, state.generation)
    }
    if let task = cached.task { return task }
    let task: GenerationTask?
    do {
      task = try await read()
    } catch {
      state.withLock { _ = Self.endRead(of: id, in: &$0) }
      throw error
    }
    state.withLock { state in
      let changed = Self.endRead(of: id, in: &state)
      guard let task, !changed, state.generation == cached.generation else { return }
      state.entries.insert(task, for: id, lifetime: lifetime, now: now)
    }
    return task
  }

  /// A commit changed this task (nil: any task).
  public func invalidate(_ id: String?) {
    state.withLock { state in
      guard let id else {
        state.generation &+= 1
        state.entries.removeAll()
        return
      }
      state.entries.remove(id)
      state.reading[id]?.changed = true
    }
  }

  /// Whether the task changed while this read was in flight.
  private static func endRead(of id: String, in state: inout State) -> Bool {
    guard var reading = state.reading[id] else { return false }
    reading.readers -= 1
    state.reading[id] = reading.readers == 0 ? nil : reading
    return reading.changed
  }
}
