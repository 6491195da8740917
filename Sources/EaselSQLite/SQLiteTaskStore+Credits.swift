import EaselCore
import Foundation
import GRDB

/// CreditLedger: credit accounts, the ledger and its audit.
extension SQLiteTaskStore: CreditLedger {
  public func balance(of account: Account) async throws -> CreditBalance {
    try readStatementInline { db in try Credits.account(db, account) }
  }

  public func changeCredits(
    of account: Account, by amount: Int64, kind: LedgerKind, reason: String, idempotency: IdempotencyKey?, now: Date
  ) async throws -> CreditBalance {
    try await writer.write { db in
      if let idempotency, try Idempotency.previousResult(db, account: account, scope: .credits, key: idempotency) != nil {
        return try Credits.account(db, account)
      }
      let balance = try Credits.change(db, account: account, by: amount, kind: kind, reason: reason, now: now)
      if let idempotency {
        try Idempotency.record(db, account: account, scope: .credits, key: idempotency, taskID: nil, now: now)
      }
      return balance
    }
  }

  public func auditCredits() async throws -> [String] {
    try await writer.read { db in try CreditAudit.run(db) }
  }

  public func ledger(of account: Account, page: PageRequest) async throws -> Page<LedgerEntry> {
    try await writer.read { db in try Credits.ledger(db, account: account, page: page) }
  }
}
