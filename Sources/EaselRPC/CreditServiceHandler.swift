import EaselCore
import GRPCCore
import Logging

/// `easel.v1.CreditService`.
public struct CreditServiceHandler: Easel_V1_CreditService.SimpleServiceProtocol {
  let manager: TaskManager
  let logger: Logger

  public init(manager: TaskManager, logger: Logger) {
    self.manager = manager
    self.logger = logger
  }

  public func getBalance(request: Easel_V1_GetBalanceRequest, context: ServerContext) async throws -> Easel_V1_Balance {
    try await mappingErrors("GetBalance", context: context, logger: logger) {
      let account = try authorized(.readCredits, platform: request.platform, userID: request.userID)
      return Easel_V1_Balance(try await manager.balance(of: account), account: account)
    }
  }

  public func grantCredits(request: Easel_V1_GrantCreditsRequest, context: ServerContext) async throws
    -> Easel_V1_Balance
  {
    try await mappingErrors("GrantCredits", context: context, logger: logger) {
      let account = try authorized(.changeCredits, platform: request.platform, userID: request.userID)
      let balance = try await manager.grantCredits(
        to: account, amount: request.amount, reason: request.reason, idempotencyKey: request.idempotencyKey)
      return Easel_V1_Balance(balance, account: account)
    }
  }

  public func adjustCredits(request: Easel_V1_AdjustCreditsRequest, context: ServerContext) async throws
    -> Easel_V1_Balance
  {
    try await mappingErrors("AdjustCredits", context: context, logger: logger) {
      let account = try authorized(.changeCredits, platform: request.platform, userID: request.userID)
      let balance = try await manager.adjustCredits(
        of: account, by: request.amount, reason: request.reason, idempotencyKey: request.idempotencyKey)
      return Easel_V1_Balance(balance, account: account)
    }
  }

  public func listLedger(request: Easel_V1_ListLedgerRequest, context: ServerContext) async throws
    -> Easel_V1_ListLedgerResponse
  {
    try await mappingErrors("ListLedger", context: context, logger: logger) {
      let account = try authorized(.readCredits, platform: request.platform, userID: request.userID)
      let pageRequest = try PageRequest(page: request.page, limit: request.limit)
      let page = try await manager.ledger(of: account, page: pageRequest)
      return .with {
        $0.entries = page.items.map(Easel_V1_LedgerEntry.init)
        $0.total = page.total
        $0.page = pageRequest.page
        $0.limit = pageRequest.limit
        $0.totalPages = page.totalPages
      }
    }
  }
}
