import EaselCore
import Foundation
import GRDB

extension SQLiteTaskStore: QueueInsight {
  public func tasksAhead(backend: String, rank: Double, createdAt: Date, limit: Int) async throws -> Int {
    try readInline { db in
      try Int.fetchOne(
        db,
        cached: """
          SELECT COUNT(*) FROM (
            SELECT 1 FROM tasks INDEXED BY tasks_backend_queue
            WHERE status = 'PENDING' AND backend = \(backend)
              AND (queue_rank < \(rank) OR (queue_rank = \(rank) AND created_at < \(createdAt.timeIntervalSince1970)))
            LIMIT \(limit))
          """) ?? 0
    }
  }

  public func startedCount(backend: String, since: Date) async throws -> Int {
    try readInline { db in
      try Int.fetchOne(
        db, cached: "SELECT COUNT(*) FROM tasks WHERE backend = \(backend) AND started_at >= \(since.timeIntervalSince1970)"
      ) ?? 0
    }
  }

  public func prospectiveRank(account: Account, priority: Int, weight: Double) async throws -> Double {
    try readInline { db in
      let clock = try Double.fetchOne(
        db, sql: "SELECT base + (dispatches - base_dispatch) * \(FairQueue.agingPerDispatch) FROM queue_clock") ?? 0
      let last = try Double.fetchOne(
        db, cached: "SELECT finish FROM queue_keys WHERE platform = \(account.platform) AND user_id = \(account.userID)")
      let turn = FairQueue.turn(virtualTime: clock, lastFinish: last, weight: weight)
      return FairQueue.rank(start: turn.start, priority: priority)
    }
  }
}
