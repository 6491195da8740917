import Foundation

/// The state changes a store applies inside its transactions. Both stores share them, so a task
/// moves the same way whichever database keeps it; the store adds the sequence number and saves.
extension GenerationTask {
  /// A task as `CreateTask` stores it: PENDING, sequence 1.
  public init(new: NewTask, now: Date) {
    self.init(
      id: new.id, account: new.account, kind: new.template.kind, status: .pending, prompt: new.request.prompt,
      parameters: new.request.parameters, template: new.template.ref, backend: new.template.backend,
      backendOptions: new.template.backendOptions, creditCost: new.creditCost,
      timeoutMs: new.template.timeout.milliseconds, inputImageKey: new.inputImageKey, createdAt: now, updatedAt: now,
      webhook: new.webhook)
    priority = new.priority
    startBy = new.startWithin.map { now.addingTimeInterval($0.seconds) }
    retentionMs = new.retention?.milliseconds
    numOutputs = new.numOutputs
    batchID = new.batchID
    traceParent = new.traceParent
    retryOf = new.retryOf
  }

  /// A worker took it: PROCESSING, one more attempt.
  public mutating func claim(now: Date, by owner: String? = nil) {
    leaseOwner = owner
    status = .processing
    attempts += 1
    startedAt = now
    progress = 0
  }

  /// Back in the queue (a transient failure, or a lost lease); `failure` is kept as the last error.
  public mutating func requeue(after failure: BackendFailure? = nil) {
    leaseOwner = nil
    status = .pending
    progress = 0
    if let failure {
      errorCode = failure.code
      errorMessage = failure.message
    }
  }

  /// The terminal status the outcome says, with its results or error.
  public mutating func end(_ outcome: TaskOutcome, now: Date) {
    status = outcome.status
    finished(at: now)
    if !keepsPreview { preview = nil }
    switch outcome {
    case .completed(let outputs, let processingTimeMs):
      self.outputs = outputs
      output = outputs.first?.output
      thumbnail = outputs.first?.thumbnail
      self.processingTimeMs = processingTimeMs
      progress = 1
      errorCode = ""
      errorMessage = ""
    case .failed(let code, let message):
      errorCode = code
      errorMessage = message
    case .canceled:
      break
    }
  }

  /// What a rescued task becomes: CANCELED if a cancel was asked for, requeued, or FAILED once it
  /// has had `maxAttempts`.
  public mutating func rescue(maxAttempts: Int, now: Date) {
    if cancelRequestedAt != nil { return end(.canceled, now: now) }
    guard attempts >= maxAttempts else { return requeue() }
    let message = "the task was interrupted \(attempts) times (worker crash or lost lease); giving up"
    end(.failed(code: "attempts_exhausted", message: message), now: now)
  }

  /// After a transient failure: CANCELED if a cancel was asked for, back to PENDING while attempts
  /// remain, else FAILED with the failure. The store then saves it (and settles a terminal one).
  public mutating func retry(after failure: BackendFailure, maxAttempts: Int, now: Date) {
    if cancelRequestedAt != nil { return end(.canceled, now: now) }
    guard attempts < maxAttempts else { return end(.failed(code: failure.code, message: failure.message), now: now) }
    requeue(after: failure)
  }

  /// What CancelTask does to the stored task: a PENDING one ends CANCELED at once; a PROCESSING one
  /// is marked, and the node running it stops it when the change reaches it. Returns false when
  /// nothing changed (already ended, or already asked).
  public mutating func cancel(now: Date) -> Bool {
    switch status {
    case .pending:
      end(.canceled, now: now)
      return true
    case .processing where cancelRequestedAt == nil:
      cancelRequestedAt = now
      return true
    default:
      return false
    }
  }

  /// A PENDING task whose start deadline passed: EXPIRED, its hold released in full. False (and
  /// nothing changed) unless it was PENDING with a deadline before `now`.
  public mutating func expire(now: Date) -> Bool {
    guard status == .pending, let startBy, startBy < now else { return false }
    let waited = Int64((startBy.timeIntervalSince(createdAt) * 1000).rounded())
    status = .expired
    finished(at: now)
    errorCode = "start_deadline_exceeded"
    errorMessage = "the task did not start within \(waited) ms (start_within_ms); nothing was charged"
    return true
  }

  /// Ended now: its retention starts.
  private mutating func finished(at now: Date) {
    leaseOwner = nil
    finishedAt = now
    expiresAt = retentionMs.map { now.addingTimeInterval(Double($0) / 1000) }
  }

  /// A progress report, kept within 0...1.
  public mutating func report(progress value: Double) {
    progress = min(max(value, 0), 1)
  }

  /// A new intermediate picture replaces the last one.
  public mutating func show(preview artifact: Artifact) {
    preview = artifact
    previewStep += 1
  }
}

extension NewTask {
  /// RESOURCE_EXHAUSTED when the account already has its most unfinished tasks.
  public func checkActiveLimit(active: Int) throws(EaselError) {
    guard active < maxActiveTasks else {
      throw EaselError(
        .resourceExhausted,
        "user \(account.userID) already has \(active) tasks pending or processing (the limit is \(maxActiveTasks)); "
          + "wait for one to finish")
    }
  }
}
