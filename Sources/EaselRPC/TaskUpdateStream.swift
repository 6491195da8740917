import EaselCore

/// One StreamTaskUpdates call: the current state first, then live changes, each task's updates in
/// sequence order and none twice. Subscribing before reading the current state leaves no gap.
struct TaskUpdateStream {
  let manager: TaskManager
  let account: Account
  let taskID: String?
  let afterSequence: UInt64

  func run(send: (GenerationTask) async throws -> Void) async throws {
    let live = manager.updates.subscribe(.init(account: account, taskID: taskID))
    var lastSent: [String: UInt64] = [:]

    func deliver(_ task: GenerationTask) async throws {
      let floor = lastSent[task.id] ?? (taskID == nil ? 0 : afterSequence)
      guard task.sequence > floor else { return }
      lastSent[task.id] = task.sequence
      try await send(task)
    }

    let current = try await currentState()
    for task in current {
      try await deliver(task)
    }
    if taskID != nil, current.first?.status.isTerminal == true { return }
    for try await task in live {
      try await deliver(task)
      if taskID != nil, task.status.isTerminal { return }
    }
  }

  /// The followed task, or every unfinished task of the account (oldest first).
  private func currentState() async throws -> [GenerationTask] {
    if let taskID { return [try await manager.task(id: taskID, account: account)] }
    let firstPage = try PageRequest(page: 1, limit: PageRequest.maxLimit)
    var active: [GenerationTask] = []
    for status in [TaskStatus.processing, .pending] {
      active += try await manager.tasks(of: account, status: status, page: firstPage).items
    }
    return active.sorted { $0.createdAt < $1.createdAt }
  }
}
