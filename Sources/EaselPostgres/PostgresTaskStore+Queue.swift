import EaselCore
import Foundation
import PostgresNIO

/// TaskQueue: claims, leases, progress and endings, each settling credits the domain's way.
extension PostgresTaskStore: TaskQueue {
  public func claimNextTask(lease: Lease, among backends: Set<String>?, aging: Duration, now: Date) async throws
    -> GenerationTask?
  {
    try await write { tx in
      let oldest = try await PostgresTaskRows.oldestWaiting(tx.connection, logger: tx.logger)
      let order = FairQueue.levelOrder(oldestWaiting: oldest, now: now, aging: aging)
      guard var task = try await PostgresTaskRows.claimNextDue(tx, now: now, among: backends, order: order)
      else { return nil }
      task.claim(now: now, by: lease.owner)
      try await PostgresTaskRows.saveChange(tx, &task, now: now)
      try await PostgresTaskRows.setLease(tx, id: task.id, lease: lease)
      return task
    }
  }

  public func expireOverdueTasks(now: Date) async throws -> [GenerationTask] {
    try await write { tx in
      var expired: [GenerationTask] = []
      for var task in try await PostgresTaskRows.overdue(tx, now: now, limit: 100) where task.expire(now: now) {
        try await self.save(tx, &task, now: now)
        expired.append(task)
      }
      return expired
    }
  }

  public func renewLease(taskID: String, lease: Lease) async throws -> Bool {
    try await write { tx in
      try await tx.query(
        """
        UPDATE tasks SET lease_expires_at = \(lease.expires.timeIntervalSince1970)
        WHERE id = \(taskID) AND status = 'PROCESSING' AND lease_owner = \(lease.owner) RETURNING id
        """
      ).count == 1
    }
  }

  public func updateProgress(taskID: String, progress: Double, preview: Artifact?, now: Date) async throws
    -> GenerationTask?
  {
    try await write { tx in
      guard var task = try await PostgresTaskRows.fetch(tx.connection, id: taskID, forUpdate: true),
        task.status == .processing
      else { return nil }
      task.report(progress: progress)
      if let preview { task.show(preview: preview) }
      try await PostgresTaskRows.saveChange(tx, &task, now: now)
      try await PostgresWebhookRows.enqueueProgress(tx, for: task, newPreview: preview != nil)
      return task
    }
  }

  public func finishTask(id: String, owner: String, outcome: TaskOutcome, now: Date) async throws -> GenerationTask? {
    try await write { tx in
      guard var task = try await PostgresTaskRows.leased(tx, id: id, to: owner) else { return nil }
      task.end(outcome, now: now)
      try await self.save(tx, &task, now: now)
      return task
    }
  }

  public func retryTask(
    id: String, owner: String, failure: BackendFailure, retryAt: Date, maxAttempts: Int, now: Date
  ) async throws -> GenerationTask? {
    try await write { tx in
      guard var task = try await PostgresTaskRows.leased(tx, id: id, to: owner) else { return nil }
      task.retry(after: failure, maxAttempts: maxAttempts, now: now)
      try await self.save(tx, &task, now: now, notBefore: retryAt)
      return task
    }
  }

  public func rescueAbandonedTasks(_ abandoned: AbandonedTasks, maxAttempts: Int, now: Date) async throws -> [GenerationTask] {
    try await write { tx in
      var rescued: [GenerationTask] = []
      for var task in try await PostgresTaskRows.processing(tx, abandoned) {
        task.rescue(maxAttempts: maxAttempts, now: now)
        try await self.save(tx, &task, now: now)
        rescued.append(task)
      }
      return rescued
    }
  }

  /// Stores a changed task. One that left PROCESSING loses its lease (a requeued one is due at
  /// `notBefore`); one that ended settles its hold.
  func save(_ tx: PostgresTransaction, _ task: inout GenerationTask, now: Date, notBefore: Date? = nil)
    async throws
  {
    if task.status.isTerminal { try await PostgresCredits.settle(tx, task: task, now: now) }
    try await PostgresTaskRows.saveChange(tx, &task, now: now)
    guard task.status != .processing else { return }
    try await PostgresTaskRows.setLease(tx, id: task.id, lease: nil, notBefore: notBefore)
  }
}
