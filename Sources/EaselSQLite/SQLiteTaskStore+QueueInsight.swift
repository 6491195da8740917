import EaselCore
import Foundation
import GRDB

extension SQLiteTaskStore: QueueInsight {
  public func tasksAhead(backend: String, of place: QueuePlace?, aging: Duration, now: Date, limit: Int) async throws
    -> Int
  {
    try readInline { db in
      let order = FairQueue.levelOrder(oldestWaiting: try TaskRows.oldestWaiting(db), now: now, aging: aging)
      return try TaskRows.countAhead(db, backend: backend, of: place, order: order, limit: limit)
    }
  }

  public func tasksAhead(ofTask id: String, aging: Duration, now: Date, limit: Int) async throws -> Int? {
    try readInline { db in
      guard
        let row = try Row.fetchOne(
          db, cached: "SELECT backend, priority, queue_rank, created_at FROM tasks WHERE id = \(id) AND status = 'PENDING'")
      else { return nil }
      let place = QueuePlace(
        priority: row["priority"], rank: row["queue_rank"], createdAt: Date(timeIntervalSince1970: row["created_at"]))
      let order = FairQueue.levelOrder(oldestWaiting: try TaskRows.oldestWaiting(db), now: now, aging: aging)
      return try TaskRows.countAhead(db, backend: row["backend"], of: place, order: order, limit: limit)
    }
  }

  public func startedCount(backend: String, since: Date) async throws -> Int {
    try readInline { db in
      try Int.fetchOne(
        db, cached: "SELECT COUNT(*) FROM tasks WHERE backend = \(backend) AND started_at >= \(since.timeIntervalSince1970)"
      ) ?? 0
    }
  }

  public func prospectivePlace(account: Account, priority: Int, weight: Double, now: Date) async throws -> QueuePlace {
    try readInline { db in
      let clock = try Double.fetchOne(db, cached: "SELECT \(TaskRows.clock(level: priority))") ?? 0
      let last = try Double.fetchOne(
        db,
        cached: """
          SELECT finish FROM queue_keys
          WHERE platform = \(account.platform) AND user_id = \(account.userID) AND priority = \(priority)
          """)
      let turn = FairQueue.turn(virtualTime: clock, lastFinish: last, weight: weight)
      return QueuePlace(priority: priority, rank: turn.start, createdAt: now)
    }
  }
}
