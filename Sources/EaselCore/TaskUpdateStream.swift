/// One StreamTaskUpdates call. It subscribes to live changes first, then reads what is stored, so
/// nothing committed in between is missed; live changes already covered by the stored read are
/// skipped, so nothing is sent twice. Changes reach the hub in update-log order.
public struct TaskUpdateStream: Sendable {
  /// Where a user or platform stream resumes: the update log id of the last update received.
  public struct ResumeToken: Sendable {
    public var updateID: Int64

    public init(updateID: Int64) { self.updateID = updateID }

    public init?(_ text: String) {
      guard text.hasPrefix("u"), let id = Int64(text.dropFirst()), id >= 0 else { return nil }
      updateID = id
    }

    public var text: String { "u\(updateID)" }
  }

  static let replayPage = 500

  let store: any TaskRecords & UpdateLog
  let updates: TaskUpdateHub
  let scope: UpdateScope
  let taskID: String?
  let afterSequence: UInt64
  let resumeToken: ResumeToken?

  /// `send` gets each task state and, for user and platform streams, its resume token ("" for
  /// current-state messages but the last). It ends with a `CancellationError` once `departure`
  /// says the caller has gone.
  public func run(until departure: CallerDeparture, send: (GenerationTask, String) async throws -> Void) async throws {
    let live = updates.subscribe(.init(scope: scope, taskID: taskID), until: departure)
    // What is stored is sent first, then the live changes, by calls one after the other rather
    // than nested: a stream's frames stay allocated for as long as it is open (10,000 open streams
    // are a benchmark figure), and nested frames would add up.
    if let taskID, case .account(let account) = scope {
      guard let last = try await sendStoredStates(of: taskID, account: account, send: send) else { return }
      try await forward(live, ofOneTaskAfter: last, send: send)
    } else {
      try await forward(live, after: try await catchUp(send: send), send: send)
    }
  }

  /// Sends one task's current state, or its logged states after `afterSequence`. Returns the last
  /// sequence sent, or nil if the task has ended.
  @inline(never)
  private func sendStoredStates(
    of id: String, account: Account, send: (GenerationTask, String) async throws -> Void
  ) async throws -> UInt64? {
    if afterSequence > 0 { return try await sendLoggedStates(of: id, account: account, send: send) }
    guard let current = try await store.task(id: id, account: account) else { throw EaselError.taskNotFound(id) }
    try await send(current, "")
    return current.status.isTerminal ? nil : current.sequence
  }

  /// The current state is read first: the logged states read after it reach its sequence, unless
  /// the retention window trimmed the first of them.
  @inline(never)
  private func sendLoggedStates(
    of id: String, account: Account, send: (GenerationTask, String) async throws -> Void
  ) async throws -> UInt64? {
    guard let current = try await store.task(id: id, account: account),
      let stored = try await store.updates(ofTask: id, account: account, afterSequence: afterSequence)
    else { throw EaselError.taskNotFound(id) }
    if current.sequence > afterSequence, stored.first?.sequence != afterSequence + 1 {
      throw Self.trimmed(id, after: afterSequence)
    }
    var last = afterSequence
    var ended = false
    for task in stored where task.sequence > last {
      last = task.sequence
      ended = task.status.isTerminal
      try await send(task, "")
    }
    return ended || (current.status.isTerminal && current.sequence <= last) ? nil : last
  }

  private static func trimmed(_ id: String, after sequence: UInt64) -> EaselError {
    EaselError(
      .outOfRange,
      "the states of task \(id) after sequence \(sequence) are older than the update log's retention window; "
        + "open a new stream without after_sequence: it starts with the task's current state")
  }

  @inline(never)
  private func forward(
    _ live: TaskUpdateHub.Subscription, ofOneTaskAfter sequence: UInt64,
    send: (GenerationTask, String) async throws -> Void
  ) async throws {
    var last = sequence
    for try await update in live where update.task.sequence > last {
      last = update.task.sequence
      try await send(update.task, "")
      if update.task.status.isTerminal { return }
    }
  }

  @inline(never)
  private func forward(
    _ live: TaskUpdateHub.Subscription, after start: (last: Int64, current: [String: UInt64]),
    send: (GenerationTask, String) async throws -> Void
  ) async throws {
    var last = start.last
    for try await update in live where update.task.updateID > last {
      last = update.task.updateID
      if let sent = start.current[update.task.id], update.task.sequence <= sent { continue }
      try await send(update.task, ResumeToken(updateID: last).text)
    }
  }

  /// Sends what a user or platform stream starts with: the logged changes after its resume token,
  /// or the current state of every active task. Returns where the live changes take over and, with
  /// a sequenced log (PostgreSQL), the sequence each task was sent at: the current states may
  /// include changes positioned after the watermark, which then come live again and are skipped.
  @inline(never)
  private func catchUp(
    send: (GenerationTask, String) async throws -> Void
  ) async throws -> (last: Int64, current: [String: UInt64]) {
    if let resumeToken { return (try await replay(after: resumeToken.updateID, send: send), [:]) }
    return try await sendActiveTasks(send: send)
  }

  /// Sends the logged changes after `updateID`; returns the last one's id.
  @inline(never)
  private func replay(after updateID: Int64, send: (GenerationTask, String) async throws -> Void) async throws -> Int64 {
    var last = updateID
    while true {
      let page = try await store.updates(after: last, scope: scope, limit: Self.replayPage)
      for task in page {
        try await send(task, ResumeToken(updateID: task.updateID).text)
        last = task.updateID
      }
      if page.count < Self.replayPage { return last }
    }
  }

  @inline(never)
  private func sendActiveTasks(
    send: (GenerationTask, String) async throws -> Void
  ) async throws -> (last: Int64, current: [String: UInt64]) {
    let (active, watermark) = try await store.activeTasks(in: scope)
    for (index, task) in active.enumerated() {
      try await send(task, index == active.count - 1 ? ResumeToken(updateID: watermark).text : "")
    }
    return (watermark, Dictionary(active.map { ($0.id, $0.sequence) }, uniquingKeysWith: max))
  }
}
