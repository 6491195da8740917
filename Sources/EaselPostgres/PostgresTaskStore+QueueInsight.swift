import EaselCore
import Foundation
import PostgresNIO

extension PostgresTaskStore: QueueInsight {
  public func tasksAhead(backend: String, rank: Double, createdAt: Date, limit: Int) async throws -> Int {
    try await read { connection in
      let rows = try await connection.query(
        """
        SELECT COUNT(*) FROM (
          SELECT 1 FROM tasks
          WHERE status = 'PENDING' AND backend = \(backend)
            AND (queue_rank < \(rank) OR (queue_rank = \(rank) AND created_at < \(createdAt.timeIntervalSince1970)))
          LIMIT \(Int64(limit))) ahead
        """, logger: Self.quiet
      ).collect()
      return Int(try rows.first?.decode(Int64.self) ?? 0)
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

  public func prospectiveRank(account: Account, priority: Int, weight: Double) async throws -> Double {
    try await read { connection in
      let rows = try await connection.query(
        """
        SELECT clock.base + ((CASE WHEN is_called THEN last_value ELSE 0 END) - clock.base_dispatch) * \(FairQueue.agingPerDispatch),
          (SELECT finish FROM queue_keys WHERE platform = \(account.platform) AND user_id = \(account.userID))
        FROM queue_dispatches, queue_clock clock
        """, logger: Self.quiet
      ).collect()
      let (clock, last) = try rows.first?.decode((Double, Double?).self) ?? (0, nil)
      let turn = FairQueue.turn(virtualTime: clock, lastFinish: last, weight: weight)
      return FairQueue.rank(start: turn.start, priority: priority)
    }
  }
}
