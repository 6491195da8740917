import EaselCore
import Foundation
import Logging
import PostgresNIO

/// The fair queue's rows in PostgreSQL (FairQueue): turns, per-level clocks, claims and positions.
/// Claims lock with SKIP LOCKED: nodes claiming at once each get a different task and none waits
/// for another.
extension PostgresTaskRows {
  /// A level's virtual time (FairQueue), as SQL: each level counts its dispatches in its own sequence.
  static func clock(level: Int) -> String {
    """
    (SELECT clock.base + ((CASE WHEN d.is_called THEN d.last_value ELSE 0 END) - clock.base_dispatch) \
    * \(FairQueue.clockStepPerDispatch) FROM queue_dispatches_\(level) d, queue_clock clock WHERE clock.level = \(level))
    """
  }

  /// The queue rank of a new task of `account` at `priority` (FairQueue), its key's turn taken in
  /// the same transaction (the key's row lock orders a user's concurrent creates).
  static func enqueue(_ tx: PostgresTransaction, account: Account, priority: Int, weight: Double) async throws -> Double {
    let step = 1 / weight
    let rows = try await tx.query(
      """
      INSERT INTO queue_keys (platform, user_id, priority, finish)
      VALUES (\(account.platform), \(account.userID), \(Int64(priority)), \(unescaped: clock(level: priority)) + \(step))
      ON CONFLICT (platform, user_id, priority)
        DO UPDATE SET finish = GREATEST(queue_keys.finish, excluded.finish - \(step)) + \(step)
      RETURNING finish
      """)
    let finish = try rows.first?["finish"].decode(Double.self) ?? step
    return finish - step
  }

  /// A dispatch (number `dispatch` of its level, the claim's `nextval`) moves its level's virtual time on.
  static func countDispatch(_ tx: PostgresTransaction, of task: GenerationTask, dispatch: Int64) async throws {
    let start = task.queueRank
    try await tx.query(
      """
      UPDATE queue_clock SET base = \(start), base_dispatch = \(dispatch)
      WHERE level = \(Int64(task.priority)) AND \(start) > base + (\(dispatch) - base_dispatch) * \(FairQueue.clockStepPerDispatch)
      """)
  }

  /// When each level's longest-waiting PENDING task was queued (levels with none left out): one
  /// index lookup a level.
  static func oldestWaiting(_ connection: PostgresConnection, logger: Logger) async throws -> [Int: Date] {
    let rows = try await connection.query(
      """
      SELECT level, (SELECT MIN(created_at) FROM tasks WHERE status = 'PENDING' AND priority = level)
      FROM generate_series(0, 9) level
      """, logger: logger)
    var oldest: [Int: Date] = [:]
    for try await (level, since) in rows.decode((Int32, Double?).self) {
      if let since { oldest[Int(level)] = Date(timeIntervalSince1970: since) }
    }
    return oldest
  }

  /// The first due PENDING task in queue order among `backends` (nil: any), locked: the first
  /// level in `order` that has one, and in it each backend's head from its own index range (locked
  /// tasks skipped), then the first of those.
  static func claimNextDue(_ tx: PostgresTransaction, now: Date, among backends: Set<String>?, order: [Int]) async throws
    -> GenerationTask?
  {
    for level in order {
      if let task = try await claimNextDue(tx, now: now, among: backends, priority: level) { return task }
    }
    return nil
  }

  private static func claimNextDue(_ tx: PostgresTransaction, now: Date, among backends: Set<String>?, priority: Int)
    async throws -> GenerationTask?
  {
    var bindings = PostgresBindings()
    bindings.append(now.timeIntervalSince1970)
    bindings.append(Int64(priority))
    let due = """
      status = 'PENDING' AND priority = $2 AND (not_before IS NULL OR not_before <= $1)
        AND (start_by IS NULL OR start_by >= $1)
      """
    let order = "ORDER BY queue_rank, created_at, id LIMIT 1"
    let dispatch = "nextval('queue_dispatches_\(priority)') AS dispatch"
    let sql: String
    if let backends {
      // One CTE per backend, its value bound, so the planner reads each backend's head from its
      // own index range (a LATERAL join over an array hid the value, and it scanned the queue).
      guard !backends.isEmpty else { return nil }
      let heads = backends.sorted().enumerated().map { index, backend in
        bindings.append(backend)
        return "h\(index) AS (SELECT \(columns) FROM tasks WHERE backend = $\(index + 3) AND \(due) \(order) FOR UPDATE SKIP LOCKED)"
      }
      let union = heads.indices.map { "SELECT * FROM h\($0)" }.joined(separator: " UNION ALL ")
      sql = """
        WITH \(heads.joined(separator: ",\n")) SELECT head.*, \(dispatch)
        FROM (SELECT * FROM (\(union)) heads \(order)) head
        """
    } else {
      sql = "SELECT head.*, \(dispatch) FROM (SELECT \(columns) FROM tasks WHERE \(due) \(order) FOR UPDATE SKIP LOCKED) head"
    }
    guard let row = try await tx.query(PostgresQuery(unsafeSQL: sql, binds: bindings)).first else { return nil }
    let task = try decode(row)
    try await countDispatch(tx, of: task, dispatch: try row["dispatch"].decode(Int64.self))
    return task
  }

  /// PENDING tasks of `backend` dispatched before one at `place` (nil: all) when levels are served
  /// in `order`, up to `limit`: those of the levels before its own, then those of its level ahead
  /// of it, each an index range.
  static func countAhead(
    _ connection: PostgresConnection, backend: String, of place: QueuePlace?, order: [Int], limit: Int, logger: Logger
  ) async throws -> Int {
    let query: PostgresQuery
    if let place {
      let before = order.prefix { $0 != place.priority }.map(Int64.init)
      query = """
        SELECT COUNT(*) FROM (
          SELECT 1 FROM tasks WHERE status = 'PENDING' AND backend = \(backend) AND priority = ANY(\(before))
          UNION ALL
          SELECT 1 FROM tasks
          WHERE status = 'PENDING' AND backend = \(backend) AND priority = \(Int64(place.priority))
            AND (queue_rank, created_at) < (\(place.rank), \(place.createdAt.timeIntervalSince1970))
          LIMIT \(Int64(limit))) ahead
        """
    } else {
      query = """
        SELECT COUNT(*) FROM (SELECT 1 FROM tasks WHERE status = 'PENDING' AND backend = \(backend) LIMIT \(Int64(limit))) ahead
        """
    }
    let rows = try await connection.query(query, logger: logger).collect()
    return Int(try rows.first?.decode(Int64.self) ?? 0)
  }
}
