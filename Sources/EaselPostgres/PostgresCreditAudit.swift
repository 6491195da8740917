import EaselCore
import PostgresNIO

/// Recomputes credits from the ledger and the tasks and reports every disagreement with the stored
/// state, by the rules and queries in EaselCore's `CreditAudit.swift`.
enum PostgresCreditAudit {
  static func run(_ connection: PostgresConnection) async throws -> [String] {
    var problems: [String] = []
    let accounts = try await connection.query(PostgresQuery(unsafeSQL: AuditedAccount.disagreementsSQL), logger: PostgresTaskStore.quiet)
    for try await (platform, user, balance, held, ledgerBalance, ledgerHeld) in accounts.decode(
      (String, String, Int64, Int64, Int64, Int64).self)
    {
      let account = AuditedAccount(
        owner: "\(platform)/\(user)", balance: balance, held: held, ledgerBalance: ledgerBalance, ledgerHeld: ledgerHeld)
      if let problem = account.problem { problems.append(problem) }
    }
    let tasks = try await connection.query(PostgresQuery(unsafeSQL: AuditedTask.sql), logger: PostgresTaskStore.quiet)
    for try await (id, status, cost, numOutputs, outputCount, openHold, holds, captures, releases, held, captured, released)
      in tasks.decode((String, String, Int64, Int64, Int64, Int64?, Int64, Int64, Int64, Int64, Int64, Int64).self)
    {
      let task = AuditedTask(
        id: id, status: status, cost: cost, numOutputs: numOutputs, outputCount: outputCount, openHold: openHold,
        holds: holds, captures: captures, releases: releases, held: held, captured: captured, released: released)
      if let problem = task.problem { problems.append(problem) }
    }
    let counts = try await connection.query(PostgresQuery(unsafeSQL: AuditedActiveCount.sql), logger: PostgresTaskStore.quiet)
    for try await (platform, user, active, open) in counts.decode((String, String, Int64, Int64).self) {
      problems.append(AuditedActiveCount.problem(owner: "\(platform)/\(user)", activeTasks: active, openHolds: open))
    }
    return problems
  }
}
