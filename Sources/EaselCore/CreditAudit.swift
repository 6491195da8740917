/// The rules the credit audit checks, shared by both stores: how each ledger kind moves an
/// account, and what a task's status says its hold and ledger entries must be.
extension LedgerKind {
  /// How an entry of this kind moves the account's balance: +amount, -amount or not at all.
  public var balanceSign: Int64 {
    switch self {
    case .grant, .adjust: 1
    case .capture: -1
    case .hold, .release: 0
    }
  }

  /// How an entry of this kind moves the credits held for unfinished tasks.
  public var heldSign: Int64 {
    switch self {
    case .hold: 1
    case .capture, .release: -1
    case .grant, .adjust: 0
    }
  }

  /// `SUM(CASE kind WHEN 'GRANT' THEN amount …)` over ledger rows, by one of the signs above: the
  /// same SQL in SQLite and PostgreSQL, written once from the rule it checks.
  public static func auditSum(_ sign: KeyPath<LedgerKind, Int64>) -> String {
    let cases = allCases.filter { $0[keyPath: sign] != 0 }
      .map { "WHEN '\($0.rawValue)' THEN \($0[keyPath: sign] > 0 ? "amount" : "-amount")" }
    return "CAST(SUM(CASE kind \(cases.joined(separator: " ")) ELSE 0 END) AS BIGINT)"
  }
}

/// One account as stored, and as its ledger adds up.
public struct AuditedAccount: Sendable {
  public var owner: String
  public var balance, held, ledgerBalance, ledgerHeld: Int64

  public init(owner: String, balance: Int64, held: Int64, ledgerBalance: Int64, ledgerHeld: Int64) {
    (self.owner, self.balance, self.held, self.ledgerBalance, self.ledgerHeld) = (owner, balance, held, ledgerBalance, ledgerHeld)
  }

  public var problem: String? {
    guard balance != ledgerBalance || held != ledgerHeld else { return nil }
    return "account \(owner): stored balance \(balance), held \(held); ledger says balance \(ledgerBalance), held \(ledgerHeld)"
  }

  /// The audit's query of accounts whose stored figures differ from their ledger's (both stores).
  public static let disagreementsSQL = """
    WITH sums AS (
      SELECT platform, user_id, \(LedgerKind.auditSum(\.balanceSign)) AS balance, \(LedgerKind.auditSum(\.heldSign)) AS held
      FROM ledger_entries GROUP BY platform, user_id
    )
    SELECT a.platform, a.user_id, a.balance, a.held, COALESCE(s.balance, 0) AS ledger_balance, COALESCE(s.held, 0) AS ledger_held
    FROM credit_accounts a LEFT JOIN sums s USING (platform, user_id)
    WHERE a.balance != COALESCE(s.balance, 0) OR a.held != COALESCE(s.held, 0)
    UNION ALL
    SELECT s.platform, s.user_id, 0, 0, s.balance, s.held
    FROM sums s LEFT JOIN credit_accounts a USING (platform, user_id)
    WHERE a.platform IS NULL AND (s.balance != 0 OR s.held != 0)
    """
}

/// One task's hold and ledger entries, as the audit reads them.
public struct AuditedTask: Sendable {
  public var id: String
  public var status: String
  public var cost: Int64
  public var numOutputs, outputCount: Int64
  /// The amount of its open hold; nil once settled (the hold's row goes, the ledger keeps the story).
  public var openHold: Int64?
  public var holds, captures, releases: Int64
  public var held, captured, released: Int64

  public init(
    id: String, status: String, cost: Int64, numOutputs: Int64, outputCount: Int64, openHold: Int64?,
    holds: Int64, captures: Int64, releases: Int64, held: Int64, captured: Int64, released: Int64
  ) {
    (self.id, self.status, self.cost, self.openHold) = (id, status, cost, openHold)
    (self.numOutputs, self.outputCount) = (numOutputs, outputCount)
    (self.holds, self.captures, self.releases) = (holds, captures, releases)
    (self.held, self.captured, self.released) = (held, captured, released)
  }

  /// Every task has one hold of its cost in the ledger, which its status has captured or
  /// released (its row gone) or left open (its row there, of that cost), with one ledger entry
  /// for each of those steps. A COMPLETED task with fewer outputs than it paid for has its missing
  /// outputs' share released.
  public var problem: String? {
    let settlement = TaskStatus(rawValue: status)?.holdSettlement
    let short = outputCount > 0 && outputCount < numOutputs
    let charged = short ? cost / max(numOutputs, 1) * outputCount : cost
    let expected: (openHold: Int64?, captures: Int64, releases: Int64, captured: Int64, released: Int64) =
      switch settlement {
      case .capture: (nil, 1, short ? 1 : 0, charged, cost - charged)
      case .release: (nil, 0, 1, 0, cost)
      case nil: (cost, 0, 0, 0, 0)
      }
    guard openHold != expected.openHold || (holds, held) != (1, cost)
      || (captures, releases) != (expected.captures, expected.releases)
      || (captured, released) != (expected.captured, expected.released)
    else { return nil }
    return "task \(id) (\(status), cost \(cost), \(outputCount) of \(numOutputs) outputs): "
      + "\(openHold.map { "open hold of \($0)" } ?? "no open hold"); ledger has \(holds) HOLD of \(held), "
      + "\(captures) CAPTURE of \(captured), \(releases) RELEASE of \(released)"
  }

  /// The audit's query of every task with its open hold and ledger counts (both stores).
  public static let sql = """
    SELECT t.id, t.status, t.credit_cost, t.num_outputs, t.output_count, h.amount,
      (SELECT COUNT(*) FROM ledger_entries l WHERE l.task_id = t.id AND l.kind = 'HOLD') AS holds,
      (SELECT COUNT(*) FROM ledger_entries l WHERE l.task_id = t.id AND l.kind = 'CAPTURE') AS captures,
      (SELECT COUNT(*) FROM ledger_entries l WHERE l.task_id = t.id AND l.kind = 'RELEASE') AS releases,
      (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_entries l WHERE l.task_id = t.id AND l.kind = 'HOLD') AS held,
      (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_entries l WHERE l.task_id = t.id AND l.kind = 'CAPTURE') AS captured,
      (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_entries l WHERE l.task_id = t.id AND l.kind = 'RELEASE') AS released
    FROM tasks t LEFT JOIN credit_holds h ON h.task_id = t.id
    """
}

/// The audit's query of accounts whose active-task counter differs from their open holds (both stores).
public enum AuditedActiveCount {
  public static let sql = """
    SELECT a.platform, a.user_id, a.active_tasks, COUNT(h.task_id) AS open_holds
    FROM credit_accounts a LEFT JOIN credit_holds h ON h.platform = a.platform AND h.user_id = a.user_id
    GROUP BY a.platform, a.user_id, a.active_tasks HAVING a.active_tasks != COUNT(h.task_id)
    """

  public static func problem(owner: String, activeTasks: Int64, openHolds: Int64) -> String {
    "account \(owner): active_tasks \(activeTasks) but \(openHolds) open holds"
  }
}
