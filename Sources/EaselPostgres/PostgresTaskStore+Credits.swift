import EaselCore
import Foundation
import PostgresNIO

/// CreditLedger: credit accounts, the ledger and its audit.
extension PostgresTaskStore: CreditLedger {
  public func balance(of account: Account) async throws -> CreditBalance {
    try await read { try await PostgresCredits.account($0, account) }
  }

  public func changeCredits(
    of account: Account, by amount: Int64, kind: LedgerKind, reason: String, idempotency: IdempotencyKey?, now: Date
  ) async throws -> CreditBalance {
    try await write { tx in
      let locked = try await PostgresCredits.lock(tx, account)
      if let idempotency,
        try await PostgresIdempotency.previousResult(tx, account: account, scope: .credits, key: idempotency) != nil
      {
        return locked.balance
      }
      let balance = try await PostgresCredits.change(tx, account: account, by: amount, kind: kind, reason: reason, now: now)
      if let idempotency {
        try await PostgresIdempotency.record(tx, account: account, scope: .credits, key: idempotency, taskID: nil, now: now)
      }
      return balance
    }
  }

  public func ledger(of account: Account, page: PageRequest) async throws -> Page<LedgerEntry> {
    try await read { try await PostgresCredits.ledger($0, account: account, page: page) }
  }

  public func auditCredits() async throws -> [String] {
    try await read { try await PostgresCreditAudit.run($0) }
  }
}
