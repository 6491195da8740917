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
  /// current-state messages but the last).
  public func run(send: (GenerationTask, String) async throws -> Void) async throws {
    let live = updates.subscribe(.init(scope: scope, taskID: taskID))
    if let taskID, case .account(let account) = scope {
      try await followTask(taskID, of: account, live: live, send: send)
    } else {
      try await followMany(live: live, send: send)
    }
  }

  private func followTask(
    _ id: String, of account: Account, live: AsyncThrowingStream<GenerationTask, any Error>,
    send: (GenerationTask, String) async throws -> Void
  ) async throws {
    var last = afterSequence
    var ended = false
    func deliver(_ task: GenerationTask) async throws {
      guard task.sequence > last else { return }
      last = task.sequence
      ended = task.status.isTerminal
      try await send(task, "")
    }
    if afterSequence > 0 {
      // The current state first: the logged states read after it reach its sequence, unless the
      // retention window trimmed the first of them.
      guard let current = try await store.task(id: id, account: account),
        let stored = try await store.updates(ofTask: id, account: account, afterSequence: afterSequence)
      else { throw EaselError.taskNotFound(id) }
      if current.sequence > afterSequence, stored.first?.sequence != afterSequence + 1 {
        throw EaselError(
          .outOfRange,
          "the states of task \(id) after sequence \(afterSequence) are older than the update log's retention window; "
            + "open a new stream without after_sequence: it starts with the task's current state")
      }
      for task in stored { try await deliver(task) }
      if current.status.isTerminal, current.sequence <= last { return }
    } else {
      guard let current = try await store.task(id: id, account: account) else { throw EaselError.taskNotFound(id) }
      try await deliver(current)
    }
    if ended { return }
    for try await task in live {
      try await deliver(task)
      if ended { return }
    }
  }

  private func followMany(
    live: AsyncThrowingStream<GenerationTask, any Error>, send: (GenerationTask, String) async throws -> Void
  ) async throws {
    var last: Int64
    // With a sequenced log (PostgreSQL), the current states may include changes positioned after
    // the watermark: those come live again and are skipped here.
    var current: [String: UInt64] = [:]
    if let resumeToken {
      last = resumeToken.updateID
      while true {
        let page = try await store.updates(after: last, scope: scope, limit: Self.replayPage)
        for task in page {
          try await send(task, ResumeToken(updateID: task.updateID).text)
          last = task.updateID
        }
        if page.count < Self.replayPage { break }
      }
    } else {
      let (active, watermark) = try await store.activeTasks(in: scope)
      for (index, task) in active.enumerated() {
        try await send(task, index == active.count - 1 ? ResumeToken(updateID: watermark).text : "")
      }
      last = watermark
      current = Dictionary(active.map { ($0.id, $0.sequence) }, uniquingKeysWith: max)
    }
    for try await task in live where task.updateID > last {
      last = task.updateID
      if let sent = current[task.id], task.sequence <= sent { continue }
      try await send(task, ResumeToken(updateID: last).text)
    }
  }
}
