import EaselCore
import Foundation
import PostgresNIO

extension PostgresTaskRows {
  /// The common create — an existing account with the credits and room for it, no idempotency key,
  /// no webhook — as one statement: the hold on the account (its row lock and checks), the user's
  /// turn in the fair queue, the task, the hold's row and ledger entry, and the logged state. One
  /// round trip instead of eight, and the account's row is locked for that statement and its commit
  /// alone. Returns nil, having written nothing, when the account is missing or a check fails: the
  /// general path then does the same work step by step and says why.
  static func createInOneStatement(_ connection: PostgresConnection, _ task: GenerationTask, maxActiveTasks: Int, weight: Double)
    async throws -> GenerationTask?
  {
    let (account, now, step) = (task.account, task.createdAt.timeIntervalSince1970, 1 / weight)
    let rows = try await connection.query(
      """
      WITH account AS (
        UPDATE credit_accounts SET held = held + \(task.creditCost), active_tasks = active_tasks + 1
        WHERE platform = \(account.platform) AND user_id = \(account.userID) AND balance - held >= \(task.creditCost)
          AND active_tasks < \(Int64(clamping: maxActiveTasks))
        RETURNING balance),
      queued AS (
        INSERT INTO queue_keys (platform, user_id, priority, finish)
        SELECT \(account.platform), \(account.userID), \(Int64(task.priority)), \(unescaped: clock(level: task.priority)) + \(step)
        FROM account
        ON CONFLICT (platform, user_id, priority) DO UPDATE SET finish = GREATEST(queue_keys.finish, excluded.finish - \(step)) + \(step)
        RETURNING finish - \(step) AS rank),
      inserted AS (
        INSERT INTO tasks (\(unescaped: insertedColumns))
        SELECT \(task.id), \(account.platform), \(account.userID), \(task.kind.rawValue), \(task.status.rawValue), \(task.prompt),
          \(try StoredJSON.string(task.parameters)), \(task.template.code), \(task.template.name), \(task.template.version),
          \(task.template.category), \(task.backend), \(try StoredJSON.string(task.backendOptions)), \(task.creditCost),
          \(task.timeoutMs), \(task.inputImageKey), \(Int64(task.sequence)), \(now), \(now), NULL, \(Int64(task.priority)),
          queued.rank, \(task.startBy?.timeIntervalSince1970), \(task.retentionMs), \(Int64(task.numOutputs)), \(task.batchID),
          \(task.traceParent), \(task.retryOf)
        FROM queued
        RETURNING queue_rank),
      hold AS (
        INSERT INTO credit_holds (task_id, platform, user_id, amount, created_at)
        SELECT \(task.id), \(account.platform), \(account.userID), \(task.creditCost), \(now) FROM inserted),
      ledger AS (
        INSERT INTO ledger_entries (platform, user_id, kind, amount, reason, task_id, balance_after, created_at)
        SELECT \(account.platform), \(account.userID), \(LedgerKind.hold.rawValue), \(task.creditCost), \(LedgerReason.generation),
          \(task.id), account.balance, \(now)
        FROM account, inserted),
      logged AS (
        INSERT INTO task_updates (task_id, platform, user_id, sequence, status, snapshot, created_at)
        SELECT \(task.id), \(account.platform), \(account.userID), \(Int64(task.sequence)), \(task.status.rawValue),
          \(try StoredJSON.string(LoggedTaskState(of: task))), \(now)
        FROM inserted)
      SELECT queue_rank FROM inserted
      """, logger: PostgresTaskStore.quiet
    ).decode(Double.self)
    for try await rank in rows {
      var created = task
      created.queueRank = rank
      return created
    }
    return nil
  }
}
