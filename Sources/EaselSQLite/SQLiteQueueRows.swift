import EaselCore
import Foundation
import GRDB

/// The fair queue's rows in SQLite (FairQueue): turns, per-level clocks, claims and positions.
extension TaskRows {
  /// A level's virtual time (FairQueue), as SQL.
  static func clock(level: Int) -> SQL {
    "(SELECT base + (dispatches - base_dispatch) * \(FairQueue.clockStepPerDispatch) FROM queue_clock WHERE level = \(level))"
  }

  /// The queue rank of a new task of `account` at `priority` (FairQueue), its key's turn taken in
  /// the same transaction.
  static func enqueue(_ db: Database, account: Account, priority: Int, weight: Double) throws -> Double {
    let step = 1 / weight
    let row = try Row.fetchOne(
      db,
      cached: """
        INSERT INTO queue_keys (platform, user_id, priority, finish)
        VALUES (\(account.platform), \(account.userID), \(priority), \(clock(level: priority)) + \(step))
        ON CONFLICT (platform, user_id, priority) DO UPDATE SET finish = max(finish, excluded.finish - \(step)) + \(step)
        RETURNING finish
        """)
    let finish: Double = row?["finish"] ?? step
    return finish - step
  }

  /// A dispatch moves its level's virtual time on.
  static func countDispatch(_ db: Database, of task: GenerationTask) throws {
    let start = task.queueRank
    let passes: SQL = "\(start) > base + (dispatches + 1 - base_dispatch) * \(FairQueue.clockStepPerDispatch)"
    try db.run(
      literal: """
        UPDATE queue_clock SET dispatches = dispatches + 1,
          base = CASE WHEN \(passes) THEN \(start) ELSE base END,
          base_dispatch = CASE WHEN \(passes) THEN dispatches + 1 ELSE base_dispatch END
        WHERE level = \(task.priority)
        """)
  }

  /// When each level's longest-waiting PENDING task was queued (levels with none left out): one
  /// index lookup a level.
  static func oldestWaiting(_ db: Database) throws -> [Int: Date] {
    let levels = FairQueue.priorities.map { level -> SQL in
      "SELECT \(level), (SELECT MIN(created_at) FROM tasks WHERE status = 'PENDING' AND priority = \(level))"
    }
    var oldest: [Int: Date] = [:]
    for row in try Row.fetchAll(db, cached: levels.joined(separator: " UNION ALL ")) {
      if let since: Double = row[1] { oldest[row[0]] = Date(timeIntervalSince1970: since) }
    }
    return oldest
  }

  /// The first due PENDING task of level `priority` in queue order among `backends` (nil: any):
  /// each backend's head from its own index range, then the first of those.
  static func nextDue(_ db: Database, now: Date, among backends: Set<String>?, priority: Int) throws -> GenerationTask? {
    let due: SQL = """
      status = 'PENDING' AND priority = \(priority) AND (not_before IS NULL OR not_before <= \(now.timeIntervalSince1970))
        AND (start_by IS NULL OR start_by >= \(now.timeIntervalSince1970))
      """
    guard let backends else {
      return try Row.fetchOne(db, cached: "SELECT * FROM tasks WHERE \(due) ORDER BY queue_rank, created_at LIMIT 1").map { try decode($0, in: db) }
    }
    let heads = backends.sorted().map { backend -> SQL in
      "SELECT * FROM (SELECT * FROM tasks WHERE \(due) AND backend = \(backend) ORDER BY queue_rank, created_at LIMIT 1)"
    }
    guard !heads.isEmpty else { return nil }
    return try Row.fetchOne(
      db, cached: "SELECT * FROM (\(heads.joined(separator: " UNION ALL "))) ORDER BY queue_rank, created_at LIMIT 1"
    ).map { try decode($0, in: db) }
  }

  /// PENDING tasks of `backend` dispatched before one at `place` (nil: all) when levels are served
  /// in `order`, up to `limit`: those of the levels before its own, then those of its level ahead
  /// of it, each an index range.
  static func countAhead(_ db: Database, backend: String, of place: QueuePlace?, order: [Int], limit: Int) throws -> Int {
    guard let place else {
      return try Int.fetchOne(
        db,
        cached: """
          SELECT COUNT(*) FROM (SELECT 1 FROM tasks INDEXED BY tasks_backend_queue
            WHERE status = 'PENDING' AND backend = \(backend) LIMIT \(limit))
          """) ?? 0
    }
    var ahead: [SQL] = [
      """
      SELECT 1 FROM tasks INDEXED BY tasks_backend_queue
      WHERE status = 'PENDING' AND backend = \(backend) AND priority = \(place.priority)
        AND (queue_rank, created_at) < (\(place.rank), \(place.createdAt.timeIntervalSince1970))
      """
    ]
    for level in order.prefix(while: { $0 != place.priority }) {
      ahead.append(
        "SELECT 1 FROM tasks INDEXED BY tasks_backend_queue WHERE status = 'PENDING' AND backend = \(backend) AND priority = \(level)"
      )
    }
    return try Int.fetchOne(
      db, cached: "SELECT COUNT(*) FROM (\(ahead.joined(separator: " UNION ALL ")) LIMIT \(limit))") ?? 0
  }
}
