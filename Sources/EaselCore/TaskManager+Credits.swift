import Foundation

/// The credit use cases: balances, the ledger, grants and admin corrections.
extension TaskManager {
  public func balance(of account: Account) async throws -> CreditBalance {
    try await store.balance(of: account)
  }

  public func ledger(of account: Account, page: PageRequest) async throws -> Page<LedgerEntry> {
    try await store.ledger(of: account, page: page)
  }

  public func grantCredits(to account: Account, amount: Int64, reason: String, idempotencyKey: String) async throws
    -> CreditBalance
  {
    guard amount > 0 else { throw EaselError.invalidArgument("amount must be positive; got \(amount)") }
    return try await changeCredits(
      of: account, by: amount, kind: .grant, reason: reason.isEmpty ? LedgerReason.grant : reason,
      idempotencyKey: idempotencyKey)
  }

  /// An admin correction; `reason` is required so the ledger explains it.
  public func adjustCredits(of account: Account, by amount: Int64, reason: String, idempotencyKey: String) async throws
    -> CreditBalance
  {
    guard amount != 0 else { throw EaselError.invalidArgument("amount must not be zero") }
    guard !reason.isEmpty else { throw EaselError.invalidArgument("reason is required for an adjustment") }
    return try await changeCredits(of: account, by: amount, kind: .adjust, reason: reason, idempotencyKey: idempotencyKey)
  }

  private func changeCredits(
    of account: Account, by amount: Int64, kind: LedgerKind, reason: String, idempotencyKey: String
  ) async throws -> CreditBalance {
    guard reason.count <= 200 else { throw EaselError.invalidArgument("reason is longer than 200 characters") }
    let idempotency = try IdempotencyKey(idempotencyKey, requestHash: "\(kind.rawValue)|\(amount)|\(reason)")
    return try await store.changeCredits(
      of: account, by: amount, kind: kind, reason: reason, idempotency: idempotency, now: Date())
  }
}
