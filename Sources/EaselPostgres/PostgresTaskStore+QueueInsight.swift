import EaselCore
import Foundation
import PostgresNIO

extension PostgresTaskStore: QueueInsight {
  public func tasksAhead(backend: String, of place: QueuePlace?, aging: Duration, now: Date, limit: Int) async throws
    -> Int
  {
    try await read { connection in
      let oldest = try await PostgresTaskRows.oldestWaiting(connection, logger: Self.quiet)
      let order = FairQueue.levelOrder(oldestWaiting: oldest, now: now, aging: aging)
      return try await PostgresTaskRows.countAhead(
        connection, backend: backend, of: place, order: order, limit: limit, logger: Self.quiet)
    }
  }

  public func tasksAhead(ofTask id: String, aging: Duration, now: Date, limit: Int) async throws -> Int? {
    try await read { connection in
      let rows = try await connection.query(
        "SELECT backend, priority, queue_rank, created_at FROM tasks WHERE id = \(id) AND status = 'PENDING'",
        logger: Self.quiet
      ).collect()
      guard let row = rows.first else { return nil }
      let (backend, priority, rank, createdAt) = try row.decode((String, Int64, Double, Double).self)
      let place = QueuePlace(priority: Int(priority), rank: rank, createdAt: Date(timeIntervalSince1970: createdAt))
      let oldest = try await PostgresTaskRows.oldestWaiting(connection, logger: Self.quiet)
      let order = FairQueue.levelOrder(oldestWaiting: oldest, now: now, aging: aging)
      return try await PostgresTaskRows.countAhead(
        connection, backend: backend, of: place, order: order, limit: limit, logger: Self.quiet)
    }
  }

  public func startedCount(backend: String, since: Date) async throws -> Int {
    try await read { connection in
      let rows = try await connection.query(
        "SELECT COUNT(*) FROM tasks WHERE backend = \(backend) AND started_at >= \(since.timeIntervalSince1970)",
        logger: Self.quiet
      ).collect()
      return Int(try rows.first?.decode(Int64.self) ?? 0)
    }
  }

  public func prospectivePlace(account: Account, priority: Int, weight: Double, now: Date) async throws -> QueuePlace {
    try await read { connection in
      let rows = try await connection.query(
        """
        SELECT \(unescaped: PostgresTaskRows.clock(level: priority)),
          (SELECT finish FROM queue_keys
           WHERE platform = \(account.platform) AND user_id = \(account.userID) AND priority = \(Int64(priority)))
        """, logger: Self.quiet
      ).collect()
      let (clock, last) = try rows.first?.decode((Double, Double?).self) ?? (0, nil)
      let turn = FairQueue.turn(virtualTime: clock, lastFinish: last, weight: weight)
      return QueuePlace(priority: priority, rank: turn.start, createdAt: now)
    }
  }
}
