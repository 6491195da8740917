import GRDB

/// Recomputes credits from the ledger and the tasks and reports every disagreement with the stored
/// state. Empty means: each account's balance and held match its ledger, and each task has exactly
/// one hold of its cost, ended once, the way its status says.
enum CreditAudit {
  static func run(_ db: Database) throws -> [String] {
    try accounts(db) + tasks(db) + activeCounts(db)
  }

  private static func activeCounts(_ db: Database) throws -> [String] {
    try Row.fetchAll(
      db,
      sql: """
        SELECT a.platform, a.user_id, a.active_tasks,
          (SELECT COUNT(*) FROM credit_holds h
           WHERE h.platform = a.platform AND h.user_id = a.user_id AND h.state = 'OPEN') AS open_holds
        FROM credit_accounts a WHERE a.active_tasks != open_holds
        """
    ).map { row in
      "account \(row["platform"] as String)/\(row["user_id"] as String): active_tasks \(row["active_tasks"] as Int) "
        + "but \(row["open_holds"] as Int) open holds"
    }
  }

  private static func accounts(_ db: Database) throws -> [String] {
    let rows = try Row.fetchAll(
      db,
      sql: """
        WITH sums AS (
          SELECT platform, user_id,
            SUM(CASE kind WHEN 'GRANT' THEN amount WHEN 'ADJUST' THEN amount WHEN 'CAPTURE' THEN -amount ELSE 0 END) AS balance,
            SUM(CASE kind WHEN 'HOLD' THEN amount WHEN 'CAPTURE' THEN -amount WHEN 'RELEASE' THEN -amount ELSE 0 END) AS held
          FROM ledger_entries GROUP BY platform, user_id
        )
        SELECT a.platform, a.user_id, a.balance, a.held,
          COALESCE(s.balance, 0) AS ledger_balance, COALESCE(s.held, 0) AS ledger_held
        FROM credit_accounts a LEFT JOIN sums s USING (platform, user_id)
        WHERE a.balance != COALESCE(s.balance, 0) OR a.held != COALESCE(s.held, 0)
        UNION ALL
        SELECT s.platform, s.user_id, 0, 0, s.balance, s.held
        FROM sums s LEFT JOIN credit_accounts a USING (platform, user_id)
        WHERE a.platform IS NULL AND (s.balance != 0 OR s.held != 0)
        """)
    return rows.map { row in
      let owner = "\(row["platform"] as String)/\(row["user_id"] as String)"
      return "account \(owner): stored balance \(row["balance"] as Int64), held \(row["held"] as Int64); "
        + "ledger says balance \(row["ledger_balance"] as Int64), held \(row["ledger_held"] as Int64)"
    }
  }

  private static func tasks(_ db: Database) throws -> [String] {
    let rows = try Row.fetchAll(
      db,
      sql: """
        SELECT t.id, t.status, t.credit_cost, h.state, h.amount,
          (SELECT COUNT(*) FROM ledger_entries l WHERE l.task_id = t.id AND l.kind = 'HOLD') AS holds,
          (SELECT COUNT(*) FROM ledger_entries l WHERE l.task_id = t.id AND l.kind = 'CAPTURE') AS captures,
          (SELECT COUNT(*) FROM ledger_entries l WHERE l.task_id = t.id AND l.kind = 'RELEASE') AS releases
        FROM tasks t LEFT JOIN credit_holds h ON h.task_id = t.id
        """)
    return rows.compactMap { row in
      let status: String = row["status"]
      let expected: (state: String, captures: Int, releases: Int) =
        switch status {
        case "COMPLETED": ("CAPTURED", 1, 0)
        case "FAILED", "CANCELED": ("RELEASED", 0, 1)
        default: ("OPEN", 0, 0)
        }
      let state: String? = row["state"]
      let amount: Int64? = row["amount"]
      let counts = (row["holds"] as Int, row["captures"] as Int, row["releases"] as Int)
      guard state != expected.state || amount != row["credit_cost"] || counts != (1, expected.captures, expected.releases)
      else { return nil }
      return "task \(row["id"] as String) (\(status), cost \(row["credit_cost"] as Int64)): hold \(state ?? "missing") "
        + "of \(amount.map(String.init) ?? "-"); ledger has \(counts.0) HOLD, \(counts.1) CAPTURE, \(counts.2) RELEASE"
    }
  }
}
