import EaselCore
import Foundation
import GRDB

/// APIKeyStore: API keys, by the hash of their secret.
extension SQLiteTaskStore: APIKeyStore {
  public func createAPIKey(_ record: APIKeyRecord, secretHash: String) async throws {
    try await writer.write { db in try APIKeys.insert(db, record, secretHash: secretHash) }
  }

  public func apiKey(secretHash: String) async throws -> APIKeyRecord? {
    try readStatementInline { db in try APIKeys.fetch(db, secretHash: secretHash) }
  }

  public func apiKeys() async throws -> [APIKeyRecord] {
    try await writer.read { db in try APIKeys.all(db) }
  }

  public func revokeAPIKey(id: String, now: Date) async throws -> Bool {
    try await writer.write { db in try APIKeys.revoke(db, id: id, now: now) }
  }
}

/// The rows behind it, in the caller's transaction.
enum APIKeys {
  static func insert(_ db: Database, _ key: APIKeyRecord, secretHash: String) throws {
    try db.run(
      literal: "INSERT INTO api_keys (id, secret_hash, platform, scope, name, created_at, max_priority) VALUES (\(key.id), \(secretHash), \(key.platform), \(key.scope.rawValue), \(key.name), \(key.createdAt.timeIntervalSince1970), \(key.maxPriority))")
  }

  static func fetch(_ db: Database, secretHash: String) throws -> APIKeyRecord? {
    try Row.fetchOne(db, cached: "SELECT * FROM api_keys WHERE secret_hash = \(secretHash)").map(decode)
  }

  static func all(_ db: Database) throws -> [APIKeyRecord] {
    try Row.fetchAll(db, cached: "SELECT * FROM api_keys ORDER BY created_at, id").map(decode)
  }

  static func revoke(_ db: Database, id: String, now: Date) throws -> Bool {
    guard try Row.fetchOne(db, cached: "SELECT id FROM api_keys WHERE id = \(id)") != nil else { return false }
    try db.run(
      literal: "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, \(now.timeIntervalSince1970)) WHERE id = \(id)")
    return true
  }

  private static func decode(_ row: Row) -> APIKeyRecord {
    let revoked: Double? = row["revoked_at"]
    return APIKeyRecord(
      id: row["id"], platform: row["platform"], scope: Caller.Scope(rawValue: row["scope"]) ?? .subscribe,
      name: row["name"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
      revokedAt: revoked.map(Date.init(timeIntervalSince1970:)), maxPriority: row["max_priority"])
  }
}
