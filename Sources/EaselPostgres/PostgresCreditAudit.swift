import PostgresNIO

/// The SQLite store's `CreditAudit` in PostgreSQL: every disagreement between the stored credits
/// and what the ledger and the tasks say.
enum PostgresCreditAudit {
  static func run(_ connection: PostgresConnection) async throws -> [String] {
    var problems: [String] = []
    let accounts = try await connection.query(
      """
      WITH sums AS (
        SELECT platform, user_id,
          SUM(CASE kind WHEN 'GRANT' THEN amount WHEN 'ADJUST' THEN amount WHEN 'CAPTURE' THEN -amount ELSE 0 END)::bigint AS balance,
          SUM(CASE kind WHEN 'HOLD' THEN amount WHEN 'CAPTURE' THEN -amount WHEN 'RELEASE' THEN -amount ELSE 0 END)::bigint AS held
        FROM ledger_entries GROUP BY platform, user_id
      )
      SELECT a.platform, a.user_id, a.balance, a.held, COALESCE(s.balance, 0), COALESCE(s.held, 0)
      FROM credit_accounts a LEFT JOIN sums s USING (platform, user_id)
      WHERE a.balance != COALESCE(s.balance, 0) OR a.held != COALESCE(s.held, 0)
      UNION ALL
      SELECT s.platform, s.user_id, 0, 0, s.balance, s.held
      FROM sums s LEFT JOIN credit_accounts a USING (platform, user_id)
      WHERE a.platform IS NULL AND (s.balance != 0 OR s.held != 0)
      """, logger: PostgresTaskStore.quiet)
    for try await (platform, user, balance, held, ledgerBalance, ledgerHeld) in accounts.decode(
      (String, String, Int64, Int64, Int64, Int64).self)
    {
      problems.append(
        "account \(platform)/\(user): stored balance \(balance), held \(held); ledger says balance \(ledgerBalance), held \(ledgerHeld)")
    }
    let active = try await connection.query(
      """
      SELECT a.platform, a.user_id, a.active_tasks, COUNT(h.task_id) AS open_holds
      FROM credit_accounts a LEFT JOIN credit_holds h
        ON h.platform = a.platform AND h.user_id = a.user_id AND h.state = 'OPEN'
      GROUP BY a.platform, a.user_id, a.active_tasks HAVING a.active_tasks != COUNT(h.task_id)
      """, logger: PostgresTaskStore.quiet)
    for try await (platform, user, count, open) in active.decode((String, String, Int64, Int64).self) {
      problems.append("account \(platform)/\(user): active_tasks \(count) but \(open) open holds")
    }
    let tasks = try await connection.query(
      """
      SELECT t.id, t.status, t.credit_cost, h.state, h.amount,
        (SELECT COUNT(*) FROM ledger_entries l WHERE l.task_id = t.id AND l.kind = 'HOLD'),
        (SELECT COUNT(*) FROM ledger_entries l WHERE l.task_id = t.id AND l.kind = 'CAPTURE'),
        (SELECT COUNT(*) FROM ledger_entries l WHERE l.task_id = t.id AND l.kind = 'RELEASE')
      FROM tasks t LEFT JOIN credit_holds h ON h.task_id = t.id
      """, logger: PostgresTaskStore.quiet)
    for try await (id, status, cost, state, amount, holds, captures, releases) in tasks.decode(
      (String, String, Int64, String?, Int64?, Int64, Int64, Int64).self)
    {
      let expected: (state: String, captures: Int64, releases: Int64) =
        switch status {
        case "COMPLETED": ("CAPTURED", 1, 0)
        case "FAILED", "CANCELED": ("RELEASED", 0, 1)
        default: ("OPEN", 0, 0)
        }
      guard state != expected.state || amount != cost || (holds, captures, releases) != (1, expected.captures, expected.releases)
      else { continue }
      problems.append(
        "task \(id) (\(status), cost \(cost)): hold \(state ?? "missing") of \(amount.map(String.init) ?? "-"); "
          + "ledger has \(holds) HOLD, \(captures) CAPTURE, \(releases) RELEASE")
    }
    return problems
  }
}
