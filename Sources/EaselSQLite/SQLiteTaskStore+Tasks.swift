import EaselCore
import Foundation
import GRDB

/// TaskRecords: creating, canceling and reading tasks.
extension SQLiteTaskStore: TaskRecords {
  public func createTask(_ new: NewTask, now: Date) async throws -> (task: GenerationTask, created: Bool) {
    try await groupCommit.write { db in
      if let idempotency = new.idempotency,
        let taskID = try Idempotency.previousResult(db, account: new.account, scope: .createTask, key: idempotency)
      {
        guard let task = try TaskRows.fetch(db, id: taskID, account: new.account) else {
          throw EaselError.internalError("the task of idempotency key \(idempotency.key) is missing")
        }
        return (task, false)
      }
      try Credits.account(db, new.account).checkCanHold(new.creditCost)
      try new.checkActiveLimit(active: Credits.activeTasks(db, new.account))
      var task = GenerationTask(new: new, now: now)
      task.queueRank = try TaskRows.enqueue(db, account: new.account, priority: new.priority, weight: new.fairnessWeight)
      try TaskRows.insert(db, task, template: new.template, feed: feed)
      try Credits.hold(db, task: task, now: now)
      if let idempotency = new.idempotency {
        try Idempotency.record(db, account: new.account, scope: .createTask, key: idempotency, taskID: task.id, now: now)
      }
      return (task, true)
    }
  }

  public func task(id: String, account: Account) async throws -> GenerationTask? {
    let task = try await feed.cache.task(id: id) { try readStatementInline { db in try TaskRows.fetch(db, id: id) } }
    return task?.account == account ? task : nil
  }

  public func tasks(of account: Account, status: TaskStatus?, page: PageRequest) async throws -> Page<GenerationTask> {
    func read() throws -> Page<GenerationTask> {
      try readInline { db in try TaskRows.page(db, account: account, status: status, page: page) }
    }
    guard CachedTaskPage.isCached(page) else { return try read() }
    let cached = try await feed.pages.value(
      for: account.description, usable: { $0.answers(account, status, page) },
      read: { CachedTaskPage(account: account, status: status, request: page, page: try read()) })
    return try cached?.page ?? read()
  }

  public func task(createdWith idempotency: IdempotencyKey, account: Account) async throws -> GenerationTask? {
    try readInline { db in
      guard let taskID = try Idempotency.previousResult(db, account: account, scope: .createTask, key: idempotency)
      else { return nil }
      return try TaskRows.fetch(db, id: taskID, account: account)
    }
  }

  public func pinTask(id: String, account: Account, pinned: Bool, now: Date) async throws -> GenerationTask? {
    try await groupCommit.write { db in
      guard var task = try TaskRows.fetch(db, id: id, account: account) else { return nil }
      if task.pin(pinned, now: now) { try TaskRows.saveChange(db, &task, now: now, feed: feed) }
      return task
    }
  }

  public func cancelTask(id: String, account: Account, now: Date) async throws -> GenerationTask? {
    try await groupCommit.write { db in
      guard var task = try TaskRows.fetch(db, id: id, account: account) else { return nil }
      if task.cancel(now: now) { try save(db, &task, now: now) }
      return task
    }
  }
}
