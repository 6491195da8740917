import Foundation

/// An account's credits. `balance` = grants − captures, `held` = open holds,
/// `available` = balance − held, which never goes below zero.
public struct CreditBalance: Hashable, Sendable {
  public var balance: Int64
  public var held: Int64
  public var available: Int64 { balance - held }

  public init(balance: Int64, held: Int64) {
    self.balance = balance
    self.held = held
  }

  public static let zero = CreditBalance(balance: 0, held: 0)

  /// The account after `amount` is granted or adjusted; an adjustment may not take `available` below zero.
  public func changed(by amount: Int64) throws(EaselError) -> CreditBalance {
    let changed = CreditBalance(balance: balance + amount, held: held)
    guard changed.available >= 0 else {
      throw .failedPrecondition("an adjustment of \(amount) would leave available credits below zero: available \(available)")
    }
    return changed
  }

  /// Throws FAILED_PRECONDITION when a hold of `cost` would take `available` below zero.
  public func checkCanHold(_ cost: Int64) throws(EaselError) {
    guard cost <= available else {
      throw .failedPrecondition("insufficient credits: need \(cost), available \(available)")
    }
  }
}

public enum LedgerKind: String, Hashable, Sendable, Codable, CaseIterable {
  case grant = "GRANT"
  case hold = "HOLD"
  case capture = "CAPTURE"
  case release = "RELEASE"
  case adjust = "ADJUST"
}

/// Ledger reasons, as in the original design.
public enum LedgerReason {
  public static let generation = "ai_generation"
  public static let generationFailed = "ai_generation_failed"
  public static let generationCanceled = "ai_generation_canceled"
  public static let generationExpired = "ai_generation_expired"
  public static let grant = "grant"
}

/// How an open hold ends: exactly once, when its task reaches a terminal status.
public enum HoldSettlement: Hashable, Sendable {
  case capture
  case release(reason: String)

  public var ledgerKind: LedgerKind {
    switch self {
    case .capture: .capture
    case .release: .release
    }
  }

  public var reason: String {
    switch self {
    case .capture: LedgerReason.generation
    case .release(let reason): reason
    }
  }

  /// The account after the hold of `amount` ends this way.
  public func apply(amount: Int64, to account: CreditBalance) -> CreditBalance {
    switch self {
    case .capture: CreditBalance(balance: account.balance - amount, held: account.held - amount)
    case .release: CreditBalance(balance: account.balance, held: account.held - amount)
    }
  }
}

public struct LedgerEntry: Hashable, Sendable {
  public var id: Int64
  public var kind: LedgerKind
  public var amount: Int64
  public var reason: String
  public var taskID: String?
  public var balanceAfter: Int64
  public var createdAt: Date

  public init(id: Int64, kind: LedgerKind, amount: Int64, reason: String, taskID: String?, balanceAfter: Int64, createdAt: Date) {
    self.id = id
    self.kind = kind
    self.amount = amount
    self.reason = reason
    self.taskID = taskID
    self.balanceAfter = balanceAfter
    self.createdAt = createdAt
  }
}
