import EaselCore
import Foundation
import PostgresNIO

/// Remembered request keys. The caller holds the account's lock, so two requests with one key
/// can't both miss the other.
enum PostgresIdempotency {
  enum Scope: String {
    case createTask = "create_task"
    case credits
    case createBatch = "create_batch"
  }

  static func previousResult(_ tx: PostgresTransaction, account: Account, scope: Scope, key: IdempotencyKey) async throws
    -> String?
  {
    try await previousResult(tx.connection, account: account, scope: scope, key: key)
  }

  static func previousResult(_ connection: PostgresConnection, account: Account, scope: Scope, key: IdempotencyKey)
    async throws -> String?
  {
    let rows = try await connection.query(
      """
      SELECT request_hash, task_id FROM idempotency_keys
      WHERE platform = \(account.platform) AND user_id = \(account.userID) AND scope = \(scope.rawValue) AND key = \(key.key)
      """, logger: PostgresTaskStore.quiet
    ).collect()
    guard let row = rows.first?.makeRandomAccess() else { return nil }
    guard try row["request_hash"].decode(String.self) == key.requestHash else {
      throw EaselError.invalidArgument(IdempotencyKey.reusedMessage)
    }
    return try row["task_id"].decode(String?.self) ?? ""
  }

  static func record(
    _ tx: PostgresTransaction, account: Account, scope: Scope, key: IdempotencyKey, taskID: String?, now: Date
  ) async throws {
    try await tx.query(
      """
      INSERT INTO idempotency_keys (platform, user_id, scope, key, request_hash, task_id, created_at)
      VALUES (\(account.platform), \(account.userID), \(scope.rawValue), \(key.key), \(key.requestHash), \(taskID),
        \(now.timeIntervalSince1970))
      """)
  }
}
