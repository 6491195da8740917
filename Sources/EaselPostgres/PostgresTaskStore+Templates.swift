import EaselCore
import Foundation
import PostgresNIO

/// TemplateVersionStore: every template version offered.
extension PostgresTaskStore: TemplateVersionStore {
  public func registerTemplates(_ templates: [Template], now: Date) async throws {
    try await write { tx in
      for template in templates {
        let definition = try StoredJSON.string(template)
        // Nodes starting together insert the same rows: the first wins, the rest compare.
        try await tx.query(
          """
          INSERT INTO template_versions (code, version, definition, created_at)
          VALUES (\(template.code), \(template.version), \(definition), \(now.timeIntervalSince1970))
          ON CONFLICT (code, version) DO NOTHING
          """)
        let stored = try await tx.query(
          "SELECT definition FROM template_versions WHERE code = \(template.code) AND version = \(template.version)")
        guard try stored.first?["definition"].decode(String.self) == definition else {
          throw EaselError.failedPrecondition(
            "template \(template.code) version \(template.version) was changed without a new version number; "
              + "give the changed template a new `version`")
        }
      }
    }
  }

  public func storedTemplate(code: String, version: String) async throws -> Template? {
    try await read { connection in
      let rows = try await connection.query(
        "SELECT definition FROM template_versions WHERE code = \(code) AND version = \(version)", logger: Self.quiet)
      for try await definition in rows.decode(String.self) { return try StoredJSON.decode(Template.self, definition) }
      return nil
    }
  }
}
