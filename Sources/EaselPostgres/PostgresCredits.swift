import EaselCore
import Foundation
import PostgresNIO

/// Credit accounts, holds and the ledger in PostgreSQL. Every change reads the account with
/// `FOR UPDATE`, so concurrent holds and captures on any node queue on the account's row and
/// each sees the balance the previous one left.
enum PostgresCredits {
  static func account(_ connection: PostgresConnection, _ account: Account) async throws -> CreditBalance {
    let rows = try await connection.query(
      "SELECT balance, held FROM credit_accounts WHERE platform = \(account.platform) AND user_id = \(account.userID)",
      logger: PostgresTaskStore.quiet)
    for try await (balance, held) in rows.decode((Int64, Int64).self) { return CreditBalance(balance: balance, held: held) }
    return .zero
  }

  /// The account's row, created if missing and locked until the transaction ends.
  static func lock(_ tx: PostgresTransaction, _ account: Account) async throws -> (balance: CreditBalance, activeTasks: Int) {
    if let locked = try await lockExisting(tx, account) { return locked }
    // A new account (two nodes may create it at once: the second insert does nothing).
    try await tx.query(
      """
      INSERT INTO credit_accounts (platform, user_id) VALUES (\(account.platform), \(account.userID))
      ON CONFLICT (platform, user_id) DO NOTHING
      """)
    guard let locked = try await lockExisting(tx, account) else {
      throw EaselError.internalError("credit account \(account) vanished")
    }
    return locked
  }

  private static func lockExisting(_ tx: PostgresTransaction, _ account: Account) async throws
    -> (balance: CreditBalance, activeTasks: Int)?
  {
    let rows = try await tx.query(
      """
      SELECT balance, held, active_tasks FROM credit_accounts
      WHERE platform = \(account.platform) AND user_id = \(account.userID) FOR UPDATE
      """)
    return try rows.first.map { row in
      (
        CreditBalance(balance: try row["balance"].decode(Int64.self), held: try row["held"].decode(Int64.self)),
        Int(try row["active_tasks"].decode(Int64.self))
      )
    }
  }

  /// A GRANT or ADJUST movement.
  static func change(
    _ tx: PostgresTransaction, account: Account, by amount: Int64, kind: LedgerKind, reason: String, now: Date
  ) async throws -> CreditBalance {
    let balance = try await lock(tx, account).balance.changed(by: amount)
    try await record(tx, account, balance, activeChange: 0, kind: kind, amount: amount, reason: reason, taskID: nil, now: now)
    return balance
  }

  /// Places the hold for a new task on an account the caller has locked and checked.
  static func hold(_ tx: PostgresTransaction, task: GenerationTask, on balance: CreditBalance, now: Date) async throws {
    var balance = balance
    balance.held += task.creditCost
    try await tx.query(
      """
      INSERT INTO credit_holds (task_id, platform, user_id, amount, created_at)
      VALUES (\(task.id), \(task.account.platform), \(task.account.userID), \(task.creditCost), \(now.timeIntervalSince1970))
      """)
    try await record(
      tx, task.account, balance, activeChange: 1, kind: .hold, amount: task.creditCost, reason: LedgerReason.generation,
      taskID: task.id, now: now)
  }

  /// Captures or releases the task's hold as its terminal status says (a COMPLETED task short of
  /// outputs is charged for those it has and the rest released); the hold's row is deleted as it
  /// settles, once, so a repeated call moves no credits.
  static func settle(_ tx: PostgresTransaction, task: GenerationTask, now: Date) async throws {
    guard task.status.holdSettlement != nil else { return }
    var balance = try await lock(tx, task.account).balance
    let rows = try await tx.query("DELETE FROM credit_holds WHERE task_id = \(task.id) RETURNING amount")
    guard let amount = try rows.first?["amount"].decode(Int64.self) else { return }
    for (index, (movement, part)) in task.settlement(ofHold: amount).enumerated() {
      balance = movement.apply(amount: part, to: balance)
      try await record(
        tx, task.account, balance, activeChange: index == 0 ? -1 : 0, kind: movement.ledgerKind, amount: part,
        reason: movement.reason, taskID: task.id, now: now)
    }
  }

  static func ledger(_ connection: PostgresConnection, account: Account, page: PageRequest) async throws -> Page<LedgerEntry> {
    var total: Int64 = 0
    let counted = try await connection.query(
      "SELECT COUNT(*) FROM ledger_entries WHERE platform = \(account.platform) AND user_id = \(account.userID)",
      logger: PostgresTaskStore.quiet)
    for try await count in counted.decode(Int64.self) { total = count }
    let rows = try await connection.query(
      """
      SELECT id, kind, amount, reason, task_id, balance_after, created_at FROM ledger_entries
      WHERE platform = \(account.platform) AND user_id = \(account.userID)
      ORDER BY id DESC LIMIT \(Int64(page.limit)) OFFSET \(Int64(page.offset))
      """, logger: PostgresTaskStore.quiet)
    var entries: [LedgerEntry] = []
    for try await (id, kind, amount, reason, taskID, balanceAfter, createdAt) in rows.decode(
      (Int64, String, Int64, String, String?, Int64, Double).self)
    {
      entries.append(
        LedgerEntry(
          id: id, kind: LedgerKind(rawValue: kind) ?? .adjust, amount: amount, reason: reason, taskID: taskID,
          balanceAfter: balanceAfter, createdAt: Date(timeIntervalSince1970: createdAt)))
    }
    return Page(items: entries, total: total, request: page)
  }

  /// Saves the account's new balance and the ledger entry that explains it, in one statement.
  private static func record(
    _ tx: PostgresTransaction, _ account: Account, _ balance: CreditBalance, activeChange: Int64, kind: LedgerKind,
    amount: Int64, reason: String, taskID: String?, now: Date
  ) async throws {
    try await tx.query(
      """
      WITH saved AS (
        UPDATE credit_accounts SET balance = \(balance.balance), held = \(balance.held),
          active_tasks = active_tasks + \(activeChange)
        WHERE platform = \(account.platform) AND user_id = \(account.userID))
      INSERT INTO ledger_entries (platform, user_id, kind, amount, reason, task_id, balance_after, created_at)
      VALUES (\(account.platform), \(account.userID), \(kind.rawValue), \(amount), \(reason), \(taskID), \(balance.balance),
        \(now.timeIntervalSince1970))
      """)
  }
}
