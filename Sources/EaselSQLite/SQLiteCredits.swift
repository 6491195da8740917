import EaselCore
import Foundation
import GRDB

/// Credit accounts, holds and the ledger. Called only inside a store transaction.
enum Credits {
  static func account(_ db: Database, _ account: Account) throws -> CreditBalance {
    let row = try Row.fetchOne(
      db, cached: "SELECT balance, held FROM credit_accounts WHERE platform = \(account.platform) AND user_id = \(account.userID)")
    guard let row else { return .zero }
    return CreditBalance(balance: row["balance"], held: row["held"])
  }

  /// A GRANT or ADJUST movement.
  static func change(
    _ db: Database, account: Account, by amount: Int64, kind: LedgerKind, reason: String, now: Date
  ) throws -> CreditBalance {
    let balance = try self.account(db, account).changed(by: amount)
    try save(db, account, balance)
    try appendLedger(db, account: account, kind: kind, amount: amount, reason: reason, taskID: nil, balance: balance, now: now)
    return balance
  }

  /// Places the hold for a new task; the caller has checked that it fits in `available`.
  static func hold(_ db: Database, task: GenerationTask, now: Date) throws {
    var balance = try account(db, task.account)
    balance.held += task.creditCost
    try save(db, task.account, balance)
    try db.run(
      literal: """
        INSERT INTO credit_holds (task_id, platform, user_id, amount, created_at) VALUES (\(task.id), \(task.account.platform), \(task.account.userID), \(task.creditCost), \(now.timeIntervalSince1970))
        """)
    try countActive(db, task.account, by: 1)
    try appendLedger(
      db, account: task.account, kind: .hold, amount: task.creditCost, reason: LedgerReason.generation, taskID: task.id,
      balance: balance, now: now)
  }

  /// Captures or releases the task's hold as its terminal status says (a COMPLETED task short of
  /// outputs is charged for those it has and the rest released). The hold's row is deleted as it
  /// settles, once, so a second call (say, after a crash and a retry) moves no credits.
  static func settle(_ db: Database, task: GenerationTask, now: Date) throws {
    guard task.status.holdSettlement != nil else { return }
    let row = try Row.fetchOne(db, cached: "DELETE FROM credit_holds WHERE task_id = \(task.id) RETURNING amount")
    guard let amount: Int64 = row?["amount"] else { return }
    var balance = try account(db, task.account)
    try countActive(db, task.account, by: -1)
    for (movement, part) in task.settlement(ofHold: amount) {
      balance = movement.apply(amount: part, to: balance)
      try save(db, task.account, balance)
      try appendLedger(
        db, account: task.account, kind: movement.ledgerKind, amount: part, reason: movement.reason, taskID: task.id,
        balance: balance, now: now)
    }
  }

  static func ledger(_ db: Database, account: Account, page: PageRequest) throws -> Page<LedgerEntry> {
    let owner: SQL = "platform = \(account.platform) AND user_id = \(account.userID)"
    let total = try Int64.fetchOne(db, cached: "SELECT COUNT(*) FROM ledger_entries WHERE \(owner)") ?? 0
    let rows = try Row.fetchAll(
      db,
      cached: """
        SELECT id, kind, amount, reason, task_id, balance_after, created_at FROM ledger_entries
        WHERE \(owner) ORDER BY id DESC LIMIT \(page.limit) OFFSET \(page.offset)
        """)
    let entries = rows.map { row in
      LedgerEntry(
        id: row["id"], kind: LedgerKind(rawValue: row["kind"]) ?? .adjust, amount: row["amount"], reason: row["reason"],
        taskID: row["task_id"], balanceAfter: row["balance_after"],
        createdAt: Date(timeIntervalSince1970: row["created_at"]))
    }
    return Page(items: entries, total: total, request: page)
  }

  /// Unfinished (PENDING or PROCESSING) tasks of the account: the ones with an open hold.
  static func activeTasks(_ db: Database, _ account: Account) throws -> Int {
    try Int.fetchOne(
      db, cached: "SELECT active_tasks FROM credit_accounts WHERE platform = \(account.platform) AND user_id = \(account.userID)") ?? 0
  }

  private static func countActive(_ db: Database, _ account: Account, by change: Int) throws {
    try db.run(
      literal: "UPDATE credit_accounts SET active_tasks = active_tasks + \(change) WHERE platform = \(account.platform) AND user_id = \(account.userID)")
  }

  private static func save(_ db: Database, _ account: Account, _ balance: CreditBalance) throws {
    try db.run(
      literal: """
        INSERT INTO credit_accounts (platform, user_id, balance, held) VALUES (\(account.platform), \(account.userID), \(balance.balance), \(balance.held))
        ON CONFLICT (platform, user_id) DO UPDATE SET balance = excluded.balance, held = excluded.held
        """)
  }

  private static func appendLedger(
    _ db: Database, account: Account, kind: LedgerKind, amount: Int64, reason: String, taskID: String?,
    balance: CreditBalance, now: Date
  ) throws {
    try db.run(
      literal: """
        INSERT INTO ledger_entries (platform, user_id, kind, amount, reason, task_id, balance_after, created_at)
        VALUES (\(account.platform), \(account.userID), \(kind.rawValue), \(amount), \(reason), \(taskID), \(balance.balance), \(now.timeIntervalSince1970))
        """)
  }
}
