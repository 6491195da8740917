import Foundation

extension TaskManager {
  /// Checks every request, then creates all the tasks with their credits held in one store
  /// transaction, or none. A refused request is named by its index (`tasks[3]: …`).
  public func createBatch(_ order: BatchOrder, caller: Caller = .local) async throws -> TaskBatch {
    guard (1...TaskBatch.maxTasks).contains(order.tasks.count) else {
      throw EaselError.invalidArgument("a batch holds 1 to \(TaskBatch.maxTasks) tasks; got \(order.tasks.count)")
    }
    try checkCreateRate(order.account, caller: caller, count: order.tasks.count)
    let idempotency = try IdempotencyKey.batch(order.idempotencyKey, tasks: order.tasks)
    var prepared: [PreparedTask] = []
    for (index, task) in order.tasks.enumerated() {
      do {
        guard task.account == order.account else {
          throw EaselError.invalidArgument("each task's platform and user_id must be empty or the batch's")
        }
        guard task.idempotencyKey.isEmpty else {
          throw EaselError.invalidArgument("set idempotency_key on the batch, not on its tasks")
        }
        if let webhook = task.webhook {
          guard let webhookGuard else { throw EaselError(.failedPrecondition, "webhooks are not enabled on this server") }
          try await webhookGuard.check(webhook.url)
        }
        let checked = try await prepare(task, caller: caller)
        if let maxWaitMs = task.maxWaitMs, maxWaitMs > 0 {
          try await checkWait(of: checked, account: order.account, maxWaitMs: maxWaitMs)
        }
        prepared.append(checked)
      } catch var error as EaselError {
        error.message = "tasks[\(index)]: \(error.message)"
        throw error
      }
    }
    let batchID = UUID().uuidString.lowercased()
    var inputKeys: [String] = []
    var tasks: [NewTask] = []
    do {
      for (task, checked) in zip(order.tasks, prepared) {
        let id = UUID().uuidString.lowercased()
        let inputKey = try await task.inputImage.asyncMap { try await storeInput($0, taskID: id, account: order.account) }
        if let inputKey { inputKeys.append(inputKey) }
        tasks.append(newTask(id: id, order: task, prepared: checked, inputKey: inputKey, batchID: batchID))
      }
      let result = try await store.createBatch(
        NewBatch(id: batchID, account: order.account, tasks: tasks, idempotency: idempotency), now: Date())
      if !result.created { await deleteInputs(inputKeys, batchID: batchID) }  // a retry: the first request's inputs are kept
      return result.batch
    } catch {
      await deleteInputs(inputKeys, batchID: batchID)
      throw error
    }
  }

  /// The batch with its tasks counted by status and its credits.
  public func batch(id: String, account: Account) async throws -> TaskBatch {
    guard let batch = try await store.batch(id: id, account: account) else { throw EaselError.batchNotFound(id) }
    return batch
  }

  /// Cancels each task of the batch that has not ended: PENDING ones end at once, PROCESSING ones
  /// are asked to stop (their nodes stop them soon after). Returns the batch afterwards.
  public func cancelBatch(id: String, account: Account) async throws -> TaskBatch {
    let batch = try await batch(id: id, account: account)
    let now = Date()
    for taskID in batch.taskIDs {
      _ = try await store.cancelTask(id: taskID, account: account, now: now)
    }
    return try await self.batch(id: id, account: account)
  }

  public func tasks(inBatch id: String, account: Account, status: TaskStatus?, page: PageRequest) async throws
    -> Page<GenerationTask>
  {
    guard try await store.batch(id: id, account: account) != nil else { throw EaselError.batchNotFound(id) }
    return try await store.tasks(inBatch: id, account: account, status: status, page: page)
  }

  /// Follows one batch: its tasks' current states, then their changes, until all have ended.
  public func batchStream(id: String, account: Account) -> BatchUpdateStream {
    BatchUpdateStream(store: store, updates: updates, batchID: id, account: account)
  }

  private func deleteInputs(_ keys: [String], batchID: String) async {
    for key in keys { await deleteInput(key, taskID: "batch \(batchID)") }
  }
}

extension EaselError {
  public static func batchNotFound(_ id: String) -> EaselError { .notFound("batch \(id) does not exist") }
}
