import Synchronization

/// Tasks recently read by id, so that polling a task (GetTask, the commonest call) skips the
/// database: that read — GRDB's reader pool, a dispatch queue, decoding 30 columns — cost more
/// than the rest of the call (see docs/performance.md).
public typealias TaskReadCache = ReadCache<GenerationTask>

/// Values recently read from the store, by key (a task's id, an account).
///
/// Every commit that changes what a key covers drops its entry, and a read only fills the cache if
/// no commit changed that key (or, `invalidate(nil)`, everything) while it read; so an entry is
/// never older than the database as this process wrote it. Commits that change other keys don't
/// stop a fill: with PostgreSQL the change feed brings every node's changes, all the time. Entries
/// also expire after `lifetime`, which bounds how long a change made by another process
/// (`easeld purge`) goes unseen.
public final class ReadCache<Value: Sendable>: Sendable {
  private struct State {
    var entries: ExpiringEntries<Value>
    /// Reads in flight by key, and whether a commit changed the key since the oldest began.
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

  /// The value cached for `key` if `usable`, else what `read` returns (remembered, in place of
  /// the cached one, if nothing changed the key meanwhile).
  public func value(
    for key: String, usable: (Value) -> Bool = { _ in true }, now: ContinuousClock.Instant = .now,
    read: () async throws -> Value?
  ) async rethrows -> Value? {
    let cached = state.withLock { state -> (value: Value?, generation: UInt64) in
      if let value = state.entries.value(for: key, now: now), usable(value) { return (value, state.generation) }
      state.reading[key, default: (0, false)].readers += 1
      return (nil, state.generation)
    }
    if let value = cached.value { return value }
    let value: Value?
    do {
      value = try await read()
    } catch {
      state.withLock { _ = Self.endRead(of: key, in: &$0) }
      throw error
    }
    state.withLock { state in
      let changed = Self.endRead(of: key, in: &state)
      guard let value, !changed, state.generation == cached.generation else { return }
      state.entries.insert(value, for: key, lifetime: lifetime, now: now)
    }
    return value
  }

  /// A commit changed what this key covers (nil: anything).
  public func invalidate(_ key: String?) {
    state.withLock { state in
      guard let key else {
        state.generation &+= 1
        state.entries.removeAll()
        return
      }
      state.entries.remove(key)
      state.reading[key]?.changed = true
    }
  }

  /// Whether the key changed while this read was in flight.
  private static func endRead(of key: String, in state: inout State) -> Bool {
    guard var reading = state.reading[key] else { return false }
    reading.readers -= 1
    state.reading[key] = reading.readers == 0 ? nil : reading
    return reading.changed
  }
}

extension ReadCache where Value == GenerationTask {
  /// The task if cached, else what `read` returns.
  public func task(id: String, now: ContinuousClock.Instant = .now, read: () async throws -> GenerationTask?)
    async rethrows -> GenerationTask?
  {
    try await value(for: id, now: now, read: read)
  }
}

/// The first page of an account's tasks that ListTasks read last, so a caller polling it (a
/// dashboard, a bot) skips the database. A commit that changes any of the account's tasks drops
/// it. Small first pages only, one per account, so that the cache stays small; pages further on
/// are walked, not polled.
public struct CachedTaskPage: Sendable {
  public static let maxItems: Int32 = 20

  public static func isCached(_ request: PageRequest) -> Bool {
    request.after == nil && request.page == 1 && request.limit <= maxItems
  }

  public var account: Account
  public var status: TaskStatus?
  public var request: PageRequest
  public var page: Page<GenerationTask>

  public init(account: Account, status: TaskStatus?, request: PageRequest, page: Page<GenerationTask>) {
    self.account = account
    self.status = status
    self.request = request
    self.page = page
  }

  /// Whether this is the page asked for. The cache is keyed by the account's description, which
  /// two accounts could share ("a/b" + "c", "a" + "b/c"): the account itself is checked too.
  public func answers(_ account: Account, _ status: TaskStatus?, _ request: PageRequest) -> Bool {
    self.account == account && self.status == status && self.request == request
  }
}

/// The account's latest small first page of tasks, by `Account.description`.
public typealias TaskPageCache = ReadCache<CachedTaskPage>

