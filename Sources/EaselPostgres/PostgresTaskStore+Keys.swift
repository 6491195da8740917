import EaselCore
import Foundation
import PostgresNIO

/// APIKeyStore: API keys, by the hash of their secret.
extension PostgresTaskStore: APIKeyStore {
  public func createAPIKey(_ record: APIKeyRecord, secretHash: String) async throws {
    _ = try await write { tx in
      try await tx.query(
        """
        INSERT INTO api_keys (id, secret_hash, platform, scope, name, created_at, max_priority)
        VALUES (\(record.id), \(secretHash), \(record.platform), \(record.scope.rawValue), \(record.name),
          \(record.createdAt.timeIntervalSince1970), \(Int64(record.maxPriority)))
        """)
    }
  }

  public func apiKey(secretHash: String) async throws -> APIKeyRecord? {
    try await read { connection in
      try await Self.apiKeys(connection, "SELECT * FROM api_keys WHERE secret_hash = \(secretHash)").first
    }
  }

  public func apiKeys() async throws -> [APIKeyRecord] {
    try await read { try await Self.apiKeys($0, "SELECT * FROM api_keys ORDER BY created_at, id") }
  }

  private static func apiKeys(_ connection: PostgresConnection, _ query: PostgresQuery) async throws -> [APIKeyRecord] {
    try await connection.query(query, logger: quiet).collect().map { row in
      let row = row.makeRandomAccess()
      return APIKeyRecord(
        id: try row["id"].decode(String.self), platform: try row["platform"].decode(String.self),
        scope: Caller.Scope(rawValue: try row["scope"].decode(String.self)) ?? .subscribe,
        name: try row["name"].decode(String.self),
        createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)),
        revokedAt: try row["revoked_at"].decode(Double?.self).map(Date.init(timeIntervalSince1970:)),
        maxPriority: Int(try row["max_priority"].decode(Int64.self)))
    }
  }

  public func revokeAPIKey(id: String, now: Date) async throws -> Bool {
    try await write { tx in
      try await tx.query(
        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, \(now.timeIntervalSince1970)) WHERE id = \(id) RETURNING id"
      ).count == 1
    }
  }
}
