import Synchronization

/// Fans stored task changes out to live subscribers. Each subscriber has a bounded buffer; one that
/// falls behind is ended with RESOURCE_EXHAUSTED instead of slowing anyone else down.
public final class TaskUpdateHub: Sendable {
  public typealias Subscription = AsyncThrowingStream<PublishedTask, any Error>

  public struct Filter: Sendable {
    public var scope: UpdateScope
    public var taskID: String?

    public init(scope: UpdateScope, taskID: String?) {
      self.scope = scope
      self.taskID = taskID
    }

    func matches(_ change: TaskChange) -> Bool {
      scope.contains(change.account) && (taskID == nil || taskID == change.taskID)
    }
  }

  private struct Subscriber {
    var filter: Filter
    var continuation: Subscription.Continuation
  }

  /// Subscribers by the scope they follow, so a change is offered only to those of its account
  /// and its platform, not to every open stream (publishing runs on the store's writer).
  private struct Routes {
    var byScope: [UpdateScope: [Int: Subscriber]] = [:]
    /// Subscribers to every platform's changes (the operator console).
    var everywhere: [Int: Subscription.Continuation] = [:]
    var count = 0

    /// The streams `change` is offered to: those of its account and platform it matches, and every
    /// platform's.
    func subscribers(of change: TaskChange) -> [Subscription.Continuation] {
      let scoped = [UpdateScope.account(change.account), .platform(change.account.platform)].flatMap { scope in
        (byScope[scope] ?? [:]).values.filter { $0.filter.matches(change) }.map(\.continuation)
      }
      return scoped + everywhere.values
    }
  }

  private let routes = Mutex(Routes())
  private let nextID = Atomic<Int>(0)
  private let bufferSize: Int

  /// The default holds a few of the change feed's pages (PostgreSQL delivers changes a page at a
  /// time); an idle subscriber's buffer takes no memory.
  public init(bufferSize: Int = 1_024) {
    self.bufferSize = bufferSize
  }

  public var subscriberCount: Int { routes.withLock { $0.count } }

  /// A stream of every change published from now on that matches `filter`; it ends with a
  /// `CancellationError` when `departure` says the caller has gone.
  public func subscribe(_ filter: Filter, until departure: CallerDeparture? = nil)
    -> Subscription
  {
    let id = nextID.wrappingAdd(1, ordering: .relaxed).newValue
    let (stream, continuation) = AsyncThrowingStream.makeStream(
      of: PublishedTask.self, bufferingPolicy: .bufferingOldest(bufferSize))
    continuation.onTermination = { [weak self] _ in
      self?.routes.withLock { routes in
        if routes.byScope[filter.scope]?.removeValue(forKey: id) != nil { routes.count -= 1 }
        if routes.byScope[filter.scope]?.isEmpty == true { routes.byScope[filter.scope] = nil }
      }
    }
    routes.withLock { routes in
      routes.byScope[filter.scope, default: [:]][id] = Subscriber(filter: filter, continuation: continuation)
      routes.count += 1
    }
    departure?.onLeave { continuation.finish(throwing: CancellationError()) }
    return stream
  }

  /// A stream of every change of every platform published from now on.
  public func subscribeEverywhere() -> Subscription {
    let id = nextID.wrappingAdd(1, ordering: .relaxed).newValue
    let (stream, continuation) = AsyncThrowingStream.makeStream(
      of: PublishedTask.self, bufferingPolicy: .bufferingOldest(bufferSize))
    continuation.onTermination = { [weak self] _ in
      self?.routes.withLock { routes in
        if routes.everywhere.removeValue(forKey: id) != nil { routes.count -= 1 }
      }
    }
    routes.withLock { routes in
      routes.everywhere[id] = continuation
      routes.count += 1
    }
    return stream
  }

  /// Ends every subscription: at shutdown, so open streams complete and the server can stop; with
  /// an error when this node missed changes its streams needed.
  public func finishAll(throwing error: EaselError? = nil) {
    let all = routes.withLock { routes in
      defer { routes = Routes() }
      return routes.byScope.values.flatMap { $0.values.map(\.continuation) } + routes.everywhere.values
    }
    for continuation in all { continuation.finish(throwing: error) }
  }

  /// Whether any subscriber here would be offered `change`.
  public func follows(_ change: TaskChange) -> Bool {
    routes.withLock { !$0.subscribers(of: change).isEmpty }
  }

  /// Offers `change` to the subscribers it matches; the task is decoded only if there are any.
  public func publish(_ change: TaskChange) {
    let overflowed = routes.withLock { routes -> [Subscription.Continuation] in
      let matched = routes.subscribers(of: change)
      guard !matched.isEmpty, let task = change.task else { return [] }
      let published = PublishedTask(task)
      return matched.filter { continuation in
        if case .dropped = continuation.yield(published) { true } else { false }
      }
    }
    for continuation in overflowed {
      continuation.finish(
        throwing: EaselError(.resourceExhausted, "this subscriber fell too far behind; resume with after_sequence or resume_token"))
    }
  }
}

/// A task state as the hub offers it: one shared copy for every subscriber, so a buffered or
/// awaited update costs each of them a reference, not a copy of the task's 650 bytes.
public final class PublishedTask: Sendable {
  public let task: GenerationTask

  init(_ task: GenerationTask) { self.task = task }
}
