/// StreamTaskUpdates for one batch: subscribed to the account's live changes first, then the
/// batch's tasks read as they are, so nothing in between is missed; each task's sequence skips
/// what was already sent. Ends once every task of the batch has ended.
public struct BatchUpdateStream: Sendable {
  let store: any BatchRecords
  let updates: TaskUpdateHub
  let batchID: String
  let account: Account

  /// Ends with a `CancellationError` once `departure` says the caller has gone.
  public func run(until departure: CallerDeparture, send: (GenerationTask) async throws -> Void) async throws {
    let live = updates.subscribe(.init(scope: .account(account), taskID: nil), until: departure)
    guard let batch = try await store.batch(id: batchID, account: account) else { throw EaselError.batchNotFound(batchID) }
    let page = try PageRequest(page: 1, limit: Int32(TaskBatch.maxTasks))
    let current = try await store.tasks(inBatch: batchID, account: account, status: nil, page: page).items
    var sent: [String: UInt64] = [:]
    var open = Set(batch.taskIDs)
    func deliver(_ task: GenerationTask) async throws {
      guard task.sequence > sent[task.id, default: 0] else { return }
      sent[task.id] = task.sequence
      if task.status.isTerminal { open.remove(task.id) }
      try await send(task)
    }
    let position = Dictionary(uniqueKeysWithValues: batch.taskIDs.enumerated().map { ($1, $0) })
    for task in current.sorted(by: { position[$0.id, default: 0] < position[$1.id, default: 0] }) { try await deliver(task) }
    if open.isEmpty { return }
    for try await update in live where update.task.batchID == batchID {
      try await deliver(update.task)
      if open.isEmpty { return }
    }
  }
}
