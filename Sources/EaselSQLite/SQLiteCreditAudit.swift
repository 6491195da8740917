import EaselCore
import GRDB

/// Recomputes credits from the ledger and the tasks and reports every disagreement with the stored
/// state, by the rules and queries in EaselCore's `CreditAudit.swift`.
enum CreditAudit {
  static func run(_ db: Database) throws -> [String] {
    let accounts = try Row.fetchAll(db, sql: AuditedAccount.disagreementsSQL).compactMap { row in
      AuditedAccount(
        owner: "\(row[0] as String)/\(row[1] as String)", balance: row[2], held: row[3], ledgerBalance: row[4],
        ledgerHeld: row[5]
      ).problem
    }
    let counts = try Row.fetchAll(db, sql: AuditedActiveCount.sql).map { row in
      AuditedActiveCount.problem(owner: "\(row[0] as String)/\(row[1] as String)", activeTasks: row[2], openHolds: row[3])
    }
    let tasks = try Row.fetchAll(db, sql: AuditedTask.sql).compactMap { row in
      AuditedTask(
        id: row[0], status: row[1], cost: row[2], numOutputs: row[3], outputCount: row[4], openHold: row[5],
        holds: row[6], captures: row[7], releases: row[8], held: row[9], captured: row[10], released: row[11]
      ).problem
    }
    return accounts + tasks + counts
  }
}
