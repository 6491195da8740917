import Foundation
import Synchronization

/// What CreateTask and QuoteTask take.
public struct TaskOrder: Sendable {
  public var account: Account
  public var templateCode: String
  public var parameters: Parameters
  public var inputImage: [UInt8]?
  public var idempotencyKey = ""
  public var webhook: WebhookRequest?
  /// 0...9; nil means the default, 5.
  public var priority: Int?
  /// The longest the task may wait to start; nil or 0 means the template's default.
  public var startWithinMs: Int64?
  /// Refuse the task when the estimated wait is longer; nil or 0: no bound.
  public var maxWaitMs: Int64?
  /// Keep the artifacts this long after the task ends, shorter than the platform's retention;
  /// nil or 0: the platform's.
  public var retentionMs: Int64?
  /// How many outputs (images, videos) to make, 1...the template's limit; 0 means 1.
  public var numOutputs = 0

  public init(account: Account, templateCode: String, parameters: Parameters, inputImage: [UInt8]? = nil) {
    self.account = account
    self.templateCode = templateCode
    self.parameters = parameters
    self.inputImage = inputImage
  }
}

/// A task as it would be created, checked.
struct PreparedTask: Sendable {
  var template: Template
  var request: ResolvedRequest
  var creditCost: Int64
  var idempotency: IdempotencyKey?
  var priority: Int
  var startWithin: Duration?
  var retention: Duration?
  var numOutputs: Int
}

/// What QuoteTask answers: the price, where the task would stand, and whether the caller can pay.
public struct TaskQuote: Hashable, Sendable {
  public var creditCost: Int64
  public var queue: QueueEstimate
  public var available: Int64
  public var covered: Bool
}

/// Recent queue estimates of PENDING tasks, and recent throughputs of backends, each kept for a
/// second: a busy stream or poller costs one count a second, and the tasks of one backend share
/// its throughput count.
final class QueueEstimateCache: Sendable {
  private let estimates = Mutex(ExpiringEntries<QueueEstimate>(capacity: 10_000))
  private let starts = Mutex(ExpiringEntries<Int>(capacity: 1_000))

  /// Tasks whose position is being counted now: one count at a time per task, however many calls
  /// ask for it at once (256 GetTasks of one task would otherwise all count when it expires).
  private let counting = Mutex<Set<String>>([])

  /// How long the last finished count took. While counts take longer than a caller would wait for
  /// one (the store is busy), waiting only delays its answer: it gets none at once instead.
  private let lastCount = Mutex<Duration>(.zero)

  func value(for taskID: String) -> QueueEstimate? { estimates.withLock { $0.value(for: taskID) } }

  func counted(in duration: Duration) { lastCount.withLock { $0 = duration } }
  func worthWaiting(atMost limit: Duration) -> Bool { lastCount.withLock { $0 } <= limit }

  /// True if this call should count the task's position; false while another one does.
  func startCounting(_ taskID: String) -> Bool { counting.withLock { $0.insert(taskID).inserted } }
  func stopCounting(_ taskID: String) { _ = counting.withLock { $0.remove(taskID) } }
  func insert(_ estimate: QueueEstimate, for taskID: String) {
    estimates.withLock { $0.insert(estimate, for: taskID, lifetime: .seconds(1)) }
  }

  func recentStarts(of backend: String) -> Int? { starts.withLock { $0.value(for: backend) } }
  func insert(recentStarts: Int, of backend: String) {
    starts.withLock { $0.insert(recentStarts, for: backend, lifetime: .seconds(1)) }
  }
}

extension TaskManager {
  /// The checks CreateTask and QuoteTask share; nothing is written.
  func prepare(_ order: TaskOrder, caller: Caller) async throws -> PreparedTask {
    if let startWithinMs = order.startWithinMs, startWithinMs < 0 {
      throw EaselError.invalidArgument("start_within_ms must be 0 (the template's default) or more; got \(startWithinMs)")
    }
    if let maxWaitMs = order.maxWaitMs, maxWaitMs < 0 {
      throw EaselError.invalidArgument("max_wait_ms must be 0 (no bound) or more; got \(maxWaitMs)")
    }
    let priority = order.priority ?? FairQueue.defaultPriority
    try FairQueue.check(priority: priority, caller: caller)
    let template = try templates.current(code: order.templateCode)
    var request = try template.resolve(order.parameters, hasInputImage: order.inputImage != nil)
    let numOutputs = try OutputCount.check(order.numOutputs, template: template)
    let idempotency = try IdempotencyKey(
      order.idempotencyKey,
      requestHash: RequestFingerprint.of(
        template: template.code, parameters: order.parameters, inputImage: order.inputImage, outputs: numOutputs))
    if template.parameters.contains(where: { $0.name == "seed" }), request.parameters["seed"] == nil {
      request.parameters["seed"] = .integer(Int64.random(in: 0...Int64(UInt32.max)))
    }
    try await contentScreen?.screen(prompt: request.prompt, account: order.account, template: template)
    try await checkQueueRoom(backend: template.backend)
    let startWithin = (order.startWithinMs.flatMap { $0 > 0 ? $0 : nil } ?? template.startWithinMs).map { Duration.milliseconds($0) }
    let retention = try retention.retention(for: order.account.platform, requestedMs: order.retentionMs)
    return PreparedTask(
      template: template, request: request,
      creditCost: pricing.cost(of: template, parameters: request.parameters, outputs: numOutputs),
      idempotency: idempotency, priority: priority, startWithin: startWithin, retention: retention, numOutputs: numOutputs)
  }

  /// What CreateTask would charge and where the task would stand, and CreateTask's errors for a
  /// request it would refuse (too few credits is not one: `covered` says it). Creates nothing.
  public func quote(_ order: TaskOrder, caller: Caller = .local) async throws -> TaskQuote {
    let prepared = try await prepare(order, caller: caller)
    if let image = order.inputImage { _ = try await blocking.run { [imaging] in try imaging.normalizeInput(image) } }
    let balance = try await store.balance(of: order.account)
    let queue = try await estimate(forNew: prepared, account: order.account)
    return TaskQuote(
      creditCost: prepared.creditCost, queue: queue, available: balance.available,
      covered: balance.available >= prepared.creditCost)
  }

  /// Where a PENDING task stands, refreshed at most once a second; nil for other tasks (or when the
  /// store can't say right now, or another call is counting it). Without `counting`, only what
  /// is cached. With `waitingAtMost`, a count that takes longer goes on in the background (for
  /// the next call) and this one answers nil: a stream does not hold an update back for it. It
  /// doesn't wait at all while the last count took longer than `limit`.
  public func queueEstimate(of task: GenerationTask, counting: Bool = true, waitingAtMost limit: Duration? = nil) async
    -> QueueEstimate?
  {
    guard task.status == .pending else { return nil }
    if let cached = estimates.value(for: task.id) { return cached }
    // Another call counting this task's position now answers for it shortly.
    guard counting, estimates.startCounting(task.id) else { return nil }
    return await countedEstimate(of: task, waitingAtMost: limit)
  }

  /// A call of its own: most estimates come from the cache, and a stream's frames keep the size
  /// of the deepest call they made for as long as the stream is open.
  @inline(never)
  private func countedEstimate(of task: GenerationTask, waitingAtMost limit: Duration?) async -> QueueEstimate? {
    let count = Task { [self] in
      defer { estimates.stopCounting(task.id) }
      let started = ContinuousClock.now
      let estimate = await countEstimate(of: task)
      estimates.counted(in: .now - started)
      return estimate
    }
    guard let limit else { return await count.value }
    guard estimates.worthWaiting(atMost: limit) else { return nil }  // the count still fills the cache
    return await FirstOf.value(of: count, within: limit) ?? nil
  }

  private func countEstimate(of task: GenerationTask) async -> QueueEstimate? {
    do {
      guard
        let ahead = try await store.tasksAhead(
          ofTask: task.id, aging: scheduling.priorityAging, now: Date(), limit: QueueEstimate.maxCounted)
      else { return nil }
      let estimate = try await estimate(position: ahead, backend: task.backend)
      estimates.insert(estimate, for: task.id)
      return estimate
    } catch {
      logger.debug("could not estimate a task's start", metadata: ["task.id": "\(task.id)", "error": "\(error)"])
      return nil
    }
  }

  private func estimate(position: Int, backend: String) async throws -> QueueEstimate {
    let now = Date()
    var started = estimates.recentStarts(of: backend)
    if started == nil {
      let counted = try await store.startedCount(backend: backend, since: now.addingTimeInterval(-QueueEstimate.throughputWindow))
      estimates.insert(recentStarts: counted, of: backend)
      started = counted
    }
    return QueueEstimate(position: position, recentStarts: started ?? 0, now: now)
  }

  private func estimate(forNew prepared: PreparedTask, account: Account) async throws -> QueueEstimate {
    let place = try await store.prospectivePlace(
      account: account, priority: prepared.priority, weight: scheduling.weight(of: account.platform), now: Date())
    let ahead = try await store.tasksAhead(
      backend: prepared.template.backend, of: place, aging: scheduling.priorityAging, now: place.createdAt,
      limit: QueueEstimate.maxCounted)
    return try await estimate(position: ahead, backend: prepared.template.backend)
  }

  /// FAILED_PRECONDITION when the estimated wait is already longer than the caller will wait.
  func checkWait(of prepared: PreparedTask, account: Account, maxWaitMs: Int64) async throws {
    let queue = try await estimate(forNew: prepared, account: account)
    guard let wait = queue.waitMs(from: Date()), wait > maxWaitMs else { return }
    throw EaselError(
      .failedPrecondition,
      "the estimated wait is \(wait) ms (\(queue.position) tasks ahead), longer than max_wait_ms \(maxWaitMs); "
        + "try later or raise max_wait_ms")
  }

  /// RESOURCE_EXHAUSTED when the backend's queue holds as many tasks as `EASEL_MAX_QUEUE_LENGTH` allows.
  private func checkQueueRoom(backend: String) async throws {
    guard let bound = limits.maxQueueLength[backend] else { return }
    let waiting = try await store.tasksAhead(
      backend: backend, of: nil, aging: scheduling.priorityAging, now: Date(), limit: bound)
    guard waiting < bound else {
      throw EaselError(
        .resourceExhausted,
        "the queue of backend \(backend) is full (\(bound) tasks waiting, EASEL_MAX_QUEUE_LENGTH); try again later")
    }
  }
}
