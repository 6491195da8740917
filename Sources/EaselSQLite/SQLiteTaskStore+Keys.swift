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
