import EaselCore
import Foundation
import PostgresNIO

/// TaskRecords: creating, canceling and reading tasks.
extension PostgresTaskStore: TaskRecords {
  public func createTask(_ new: NewTask, now: Date) async throws -> (task: GenerationTask, created: Bool) {
    if new.idempotency == nil, new.webhook == nil {
      let task = GenerationTask(new: new, now: now)
      do {
        if let created = try await read({ connection in
          try await PostgresTaskRows.createInOneStatement(
            connection, task, maxActiveTasks: new.maxActiveTasks, weight: new.fairnessWeight)
        }) {
          committed([created])
          return (created, true)
        }
      } catch is PostgresRetry {}  // picked to break a deadlock: the general path retries
    }
    return try await write { tx in
      // The account's row lock orders this against every other change to the account, on any node.
      let account = try await PostgresCredits.lock(tx, new.account)
      if let idempotency = new.idempotency,
        let taskID = try await PostgresIdempotency.previousResult(tx, account: new.account, scope: .createTask, key: idempotency)
      {
        guard let task = try await PostgresTaskRows.fetch(tx.connection, id: taskID, account: new.account) else {
          throw EaselError.internalError("the task of idempotency key \(idempotency.key) is missing")
        }
        return (task, false)
      }
      try account.balance.checkCanHold(new.creditCost)
      try new.checkActiveLimit(active: account.activeTasks)
      var task = GenerationTask(new: new, now: now)
      task.queueRank = try await PostgresTaskRows.enqueue(
        tx, account: new.account, priority: new.priority, weight: new.fairnessWeight)
      try await PostgresTaskRows.insert(tx, task)
      try await PostgresCredits.hold(tx, task: task, on: account.balance, now: now)
      if let idempotency = new.idempotency {
        try await PostgresIdempotency.record(
          tx, account: new.account, scope: .createTask, key: idempotency, taskID: task.id, now: now)
      }
      return (task, true)
    }
  }

  public func task(id: String, account: Account) async throws -> GenerationTask? {
    try checkConnected()
    let task = try await cache.task(id: id) { try await read { try await PostgresTaskRows.fetch($0, id: id) } }
    return task?.account == account ? task : nil
  }

  public func tasks(of account: Account, status: TaskStatus?, page: PageRequest) async throws -> Page<GenerationTask> {
    try await read { try await PostgresTaskRows.page($0, account: account, status: status, page: page) }
  }

  public func task(createdWith idempotency: IdempotencyKey, account: Account) async throws -> GenerationTask? {
    try await read { connection in
      guard
        let taskID = try await PostgresIdempotency.previousResult(
          connection, account: account, scope: .createTask, key: idempotency)
      else { return nil }
      return try await PostgresTaskRows.fetch(connection, id: taskID, account: account)
    }
  }

  public func pinTask(id: String, account: Account, pinned: Bool, now: Date) async throws -> GenerationTask? {
    try await write { tx in
      guard var task = try await PostgresTaskRows.fetch(tx.connection, id: id, account: account, forUpdate: true)
      else { return nil }
      if task.pin(pinned, now: now) { try await PostgresTaskRows.saveChange(tx, &task, now: now) }
      return task
    }
  }

  public func cancelTask(id: String, account: Account, now: Date) async throws -> GenerationTask? {
    try await write { tx in
      guard var task = try await PostgresTaskRows.fetch(tx.connection, id: id, account: account, forUpdate: true)
      else { return nil }
      if task.cancel(now: now) { try await self.save(tx, &task, now: now) }
      return task
    }
  }
}
