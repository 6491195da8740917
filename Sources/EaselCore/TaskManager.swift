import Foundation
import Logging

/// The use cases behind the RPCs: create, read, cancel tasks; read and grant credits.
/// Every rule lives in the domain types; this type orders the calls to the adapters.
public struct TaskManager: Sendable {
  let store: any TaskRecords & CreditLedger & UpdateLog & QueueInsight & BatchRecords
  public let templates: TemplateCatalog
  public let pricing: Pricing
  public let imaging: any ImageProcessor
  public let artifacts: any ArtifactStore
  public let updates: TaskUpdateHub
  let limits: UsageLimits
  let scheduling: SchedulingSettings
  let retention: RetentionSettings
  let estimates = QueueEstimateCache()
  private let userCreates: RateLimiter
  private let keyCreates: RateLimiter
  /// Checks webhook URLs; nil refuses tasks that ask for one.
  let webhookGuard: (any WebhookGuard)?
  /// The content policy; nil lets every prompt through.
  let contentScreen: (any ContentScreen)?
  let blocking: any BlockingExecutor
  let logger: Logger

  public init(
    store: any TaskRecords & CreditLedger & UpdateLog & QueueInsight & BatchRecords, templates: TemplateCatalog, pricing: Pricing, imaging: any ImageProcessor,
    artifacts: any ArtifactStore, updates: TaskUpdateHub, limits: UsageLimits = UsageLimits(),
    webhookGuard: (any WebhookGuard)? = nil, scheduling: SchedulingSettings = SchedulingSettings(),
    retention: RetentionSettings = RetentionSettings(), contentScreen: (any ContentScreen)? = nil,
    blocking: any BlockingExecutor, logger: Logger = Logger(label: "easel")
  ) {
    self.contentScreen = contentScreen
    self.retention = retention
    self.scheduling = scheduling
    self.blocking = blocking
    self.logger = logger
    self.webhookGuard = webhookGuard
    self.limits = limits
    userCreates = RateLimiter(perMinute: limits.userCreatesPerMinute)
    keyCreates = RateLimiter(perMinute: limits.keyCreatesPerMinute)
    self.store = store
    self.templates = templates
    self.pricing = pricing
    self.imaging = imaging
    self.artifacts = artifacts
    self.updates = updates
  }

  public func createTask(_ order: TaskOrder, caller: Caller = .local) async throws -> GenerationTask {
    try checkCreateRate(order.account, caller: caller)
    if let webhook = order.webhook {
      guard let webhookGuard else { throw EaselError(.failedPrecondition, "webhooks are not enabled on this server") }
      try await webhookGuard.check(webhook.url)
    }
    let prepared = try await prepare(order, caller: caller)
    let account = order.account
    if let maxWaitMs = order.maxWaitMs, maxWaitMs > 0 {
      try await checkWait(of: prepared, account: account, maxWaitMs: maxWaitMs)
    }
    if order.inputImage != nil {
      // A retry, or a request that cannot be paid for, is answered before any image work: the
      // store checks both again when it creates the task, in one transaction. (Without an image
      // there is nothing to save, and those reads would only slow the common case down.)
      if let idempotency = prepared.idempotency, let earlier = try await store.task(createdWith: idempotency, account: account) {
        return earlier
      }
      try await store.balance(of: account).checkCanHold(prepared.creditCost)
    }
    let id = UUID().uuidString.lowercased()
    let inputKey = try await order.inputImage.asyncMap { try await storeInput($0, taskID: id, account: account) }
    let new = newTask(id: id, order: order, prepared: prepared, inputKey: inputKey)
    let result: (task: GenerationTask, created: Bool)
    do {
      result = try await store.createTask(new, now: Date())
    } catch {
      if let inputKey { await deleteInput(inputKey, taskID: id) }
      throw error
    }
    // A new task wakes the workers through the store's change feed, on this node and the others.
    if !result.created, let inputKey {
      await deleteInput(inputKey, taskID: id)  // a concurrent retry won: the first request's input is the one kept
    }
    return result.task
  }

  /// The task to store for a checked order.
  func newTask(id: String, order: TaskOrder, prepared: PreparedTask, inputKey: String?, batchID: String? = nil) -> NewTask {
    var new = NewTask(
      id: id, account: order.account, template: prepared.template, request: prepared.request,
      creditCost: prepared.creditCost, inputImageKey: inputKey, idempotency: prepared.idempotency,
      maxActiveTasks: limits.maxActiveTasksPerUser, webhook: order.webhook)
    new.priority = prepared.priority
    new.fairnessWeight = scheduling.weight(of: order.account.platform)
    new.startWithin = prepared.startWithin
    new.retention = prepared.retention
    new.numOutputs = prepared.numOutputs
    new.batchID = batchID
    new.traceParent = TaskTrace.currentParent()
    return new
  }

  /// The input image, validated, rotated, stripped and fitted, stored under its content hash.
  func storeInput(_ image: [UInt8], taskID: String, account: Account) async throws -> String {
    let normalized = try await blocking.run { [imaging] in try imaging.normalizeInput(image) }
    let key = ArtifactKeys.key(for: .input, taskID: taskID, account: account, contentType: "image/jpeg", bytes: normalized)
    try await artifacts.write(normalized, key: key)
    return key
  }

  func deleteInput(_ key: String, taskID: String) async {
    do {
      try await artifacts.delete(key: key)
    } catch {
      logger.warning(
        "could not delete the input of a task that was not created",
        metadata: ["task.id": "\(taskID)", "key": "\(key)", "error": "\(error)"])
    }
  }

  /// RESOURCE_EXHAUSTED when the user, or the API key, creates faster than allowed.
  /// A batch of `count` tasks counts as `count` creates.
  func checkCreateRate(_ account: Account, caller: Caller, count: Int = 1) throws(EaselError) {
    guard userCreates.allow(account.description, cost: count) else {
      throw EaselError(
        .resourceExhausted,
        "user \(account.userID) creates more than \(limits.userCreatesPerMinute) tasks a minute; slow down and retry")
    }
    if let key = caller.keyID, !keyCreates.allow(key, cost: count) {
      throw EaselError(
        .resourceExhausted, "API key \(key) creates more than \(limits.keyCreatesPerMinute) tasks a minute; slow down and retry")
    }
  }

  public func task(id: String, account: Account) async throws -> GenerationTask {
    guard let task = try await store.task(id: id, account: account) else { throw EaselError.taskNotFound(id) }
    return task
  }

  public func tasks(of account: Account, status: TaskStatus?, page: PageRequest) async throws -> Page<GenerationTask> {
    try await store.tasks(of: account, status: status, page: page)
  }

  /// Cancels a task and releases its credits: a PENDING one at once; a PROCESSING one by storing
  /// the request, which the change feed carries to the node running it (this one or another),
  /// then waiting up to `interruptWait` for the run to end. A finished task is returned as it is.
  public func cancelTask(id: String, account: Account, interruptWait: Duration = .seconds(10)) async throws
    -> GenerationTask
  {
    // Subscribed first, so the end of the run cannot slip between the request and the wait.
    let changes = updates.subscribe(.init(scope: .account(account), taskID: id))
    guard let current = try await store.cancelTask(id: id, account: account, now: Date()) else {
      throw EaselError.taskNotFound(id)
    }
    guard current.status == .processing else { return current }
    return try await withThrowingTaskGroup(of: GenerationTask?.self) { group in
      group.addTask {
        for try await change in changes where change.task.status.isTerminal { return change.task }
        return nil
      }
      group.addTask {
        try await Task.sleep(for: interruptWait)
        return nil
      }
      let ended = try await group.next() ?? nil
      group.cancelAll()
      if let ended { return ended }
      return try await task(id: id, account: account)
    }
  }

  /// PinTask (`pinned`) and UnpinTask: exempts the task from the retention sweep, or puts it back under it.
  public func pinTask(id: String, account: Account, pinned: Bool) async throws -> GenerationTask {
    guard let task = try await store.pinTask(id: id, account: account, pinned: pinned, now: Date()) else {
      throw EaselError.taskNotFound(id)
    }
    return task
  }

  /// The bytes and content type of one of the task's artifacts.
  /// The bytes and content type of one of the task's artifacts; `index` picks one of several
  /// outputs (or their thumbnails), 0 being the first.
  public func artifact(_ kind: ArtifactKind, index: Int = 0, taskID: String, account: Account) async throws
    -> (bytes: [UInt8], contentType: String)
  {
    do {
      return try await storedArtifact(kind, index: index, taskID: taskID, account: account)
    } catch where kind == .preview {
      // A newer preview replaced (and deleted) the one just read of: the task names the newer one.
      return try await storedArtifact(kind, index: index, taskID: taskID, account: account)
    }
  }

  private func storedArtifact(_ kind: ArtifactKind, index: Int, taskID: String, account: Account) async throws
    -> (bytes: [UInt8], contentType: String)
  {
    let task = try await task(id: taskID, account: account)
    if let deleted = task.artifactsExpiredAt {
      throw EaselError.notFound(
        "the artifacts of task \(taskID) were deleted on \(deleted.formatted(.iso8601)) when its retention ended; "
          + "PinTask keeps a task's artifacts")
    }
    if index != 0 {
      guard kind == .output || kind == .thumbnail else {
        throw EaselError.invalidArgument("output_index is for OUTPUT and THUMBNAIL artifacts only")
      }
      guard task.outputs.indices.contains(index) else {
        throw EaselError.notFound(
          "task \(taskID) has \(task.outputs.count) output(s) (status \(task.status.rawValue)); output_index \(index) is not one")
      }
    }
    let artifact: Artifact? =
      switch kind {
      case .output: index == 0 ? task.output : task.outputs[index].output
      case .thumbnail: index == 0 ? task.thumbnail : task.outputs[index].thumbnail
      case .preview: task.preview
      case .input: task.inputImageKey.map { Artifact(key: $0, contentType: "image/jpeg") }
      }
    guard let artifact else {
      throw EaselError.notFound("task \(taskID) has no \(kind.rawValue) artifact (status \(task.status.rawValue))")
    }
    return (try await artifacts.read(key: artifact.key), artifact.contentType)
  }

  /// A direct download URL for an artifact, when the artifact store has them.
  public func downloadURL(key: String) -> String? { artifacts.downloadURL(key: key) }

  /// Follows a task, or every task of an account or platform: what StreamTaskUpdates sends.
  public func updateStream(
    scope: UpdateScope, taskID: String?, afterSequence: UInt64, resumeToken: TaskUpdateStream.ResumeToken?
  ) -> TaskUpdateStream {
    TaskUpdateStream(
      store: store, updates: updates, scope: scope, taskID: taskID, afterSequence: afterSequence, resumeToken: resumeToken)
  }
}

extension EaselError {
  /// The same answer whether the task does not exist or belongs to someone else.
  public static func taskNotFound(_ id: String) -> EaselError { .notFound("task \(id) does not exist") }
}
