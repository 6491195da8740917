import EaselCore
import Foundation
import GRDB

/// Remembered request keys: a retry finds the first result; a reused key with other content is refused.
enum Idempotency {
  enum Scope: String {
    case createTask = "create_task"
    case credits
    case createBatch = "create_batch"
  }

  /// The task id (or "" for a grant) of the first request with this key, or nil if there was none.
  static func previousResult(_ db: Database, account: Account, scope: Scope, key: IdempotencyKey) throws -> String? {
    guard
      let row = try Row.fetchOne(
        db,
        cached: """
          SELECT request_hash, task_id FROM idempotency_keys
          WHERE platform = \(account.platform) AND user_id = \(account.userID) AND scope = \(scope.rawValue) AND key = \(key.key)
          """)
    else { return nil }
    guard row["request_hash"] as String == key.requestHash else {
      throw EaselError.invalidArgument(IdempotencyKey.reusedMessage)
    }
    let taskID: String? = row["task_id"]
    return taskID ?? ""
  }

  static func record(_ db: Database, account: Account, scope: Scope, key: IdempotencyKey, taskID: String?, now: Date) throws {
    try db.run(
      literal: """
        INSERT INTO idempotency_keys (platform, user_id, scope, key, request_hash, task_id, created_at)
        VALUES (\(account.platform), \(account.userID), \(scope.rawValue), \(key.key), \(key.requestHash), \(taskID), \(now.timeIntervalSince1970))
        """)
  }
}
