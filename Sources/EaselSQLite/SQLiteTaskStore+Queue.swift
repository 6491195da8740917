import EaselCore
import Foundation
import GRDB

/// TaskQueue: claims, leases, progress and endings, each settling credits the domain's way.
extension SQLiteTaskStore: TaskQueue {
  public func claimNextTask(lease: Lease, among backends: Set<String>?, aging: Duration, now: Date) async throws
    -> GenerationTask?
  {
    try await groupCommit.write { db in
      let order = FairQueue.levelOrder(oldestWaiting: try TaskRows.oldestWaiting(db), now: now, aging: aging)
      for level in order {
        guard var task = try TaskRows.nextDue(db, now: now, among: backends, priority: level) else { continue }
        try TaskRows.countDispatch(db, of: task)
        task.claim(now: now, by: lease.owner)
        try TaskRows.saveChange(db, &task, now: now, feed: feed)
        try TaskRows.setLease(db, id: task.id, lease: lease)
        return task
      }
      return nil
    }
  }

  public func expireOverdueTasks(now: Date) async throws -> [GenerationTask] {
    try await writer.write { db in
      var expired: [GenerationTask] = []
      for var task in try TaskRows.overdue(db, now: now, limit: 100) where task.expire(now: now) {
        try save(db, &task, now: now)
        expired.append(task)
      }
      return expired
    }
  }

  public func renewLease(taskID: String, lease: Lease) async throws -> Bool {
    try await groupCommit.write { db in
      try db.execute(
        literal: "UPDATE tasks SET lease_expires_at = \(lease.expires.timeIntervalSince1970) WHERE id = \(taskID) AND status = 'PROCESSING' AND lease_owner = \(lease.owner)")
      return db.changesCount == 1
    }
  }

  public func updateProgress(taskID: String, progress: Double, preview: Artifact?, now: Date) async throws
    -> GenerationTask?
  {
    try await groupCommit.write { db in
      guard var task = try TaskRows.fetch(db, id: taskID), task.status == .processing else { return nil }
      task.report(progress: progress)
      if let preview { task.show(preview: preview) }
      try TaskRows.saveChange(db, &task, now: now, feed: feed)
      try WebhookRows.enqueueProgress(db, for: task, newPreview: preview != nil)
      return task
    }
  }

  public func finishTask(id: String, owner: String, outcome: TaskOutcome, now: Date) async throws -> GenerationTask? {
    try await groupCommit.write { db in
      guard var task = try TaskRows.fetch(db, id: id), task.status == .processing,
        try TaskRows.isLeased(db, id: id, to: owner)
      else { return nil }
      task.end(outcome, now: now)
      try save(db, &task, now: now)
      return task
    }
  }

  public func retryTask(
    id: String, owner: String, failure: BackendFailure, retryAt: Date, maxAttempts: Int, now: Date
  ) async throws -> GenerationTask? {
    try await groupCommit.write { db in
      guard var task = try TaskRows.fetch(db, id: id), task.status == .processing,
        try TaskRows.isLeased(db, id: id, to: owner)
      else { return nil }
      task.retry(after: failure, maxAttempts: maxAttempts, now: now)
      try save(db, &task, now: now, notBefore: retryAt)
      return task
    }
  }

  public func rescueAbandonedTasks(_ abandoned: AbandonedTasks, maxAttempts: Int, now: Date) async throws -> [GenerationTask] {
    try await writer.write { db in
      var rescued: [GenerationTask] = []
      for var task in try TaskRows.processing(db, abandoned) {
        task.rescue(maxAttempts: maxAttempts, now: now)
        try save(db, &task, now: now)
        rescued.append(task)
      }
      return rescued
    }
  }

  /// Stores a changed task in the caller's transaction. One that left PROCESSING loses its lease
  /// (a requeued one is due at `notBefore`); one that ended settles its hold.
  func save(_ db: Database, _ task: inout GenerationTask, now: Date, notBefore: Date? = nil) throws {
    try TaskRows.saveChange(db, &task, now: now, feed: feed)
    guard task.status != .processing else { return }
    try TaskRows.setLease(db, id: task.id, lease: nil, notBefore: notBefore)
    if task.status.isTerminal { try Credits.settle(db, task: task, now: now) }
  }
}
