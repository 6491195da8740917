import EaselCore
import Foundation
import GRDB

/// TemplateVersionStore: every template version offered.
extension SQLiteTaskStore: TemplateVersionStore {
  public func registerTemplates(_ templates: [Template], now: Date) async throws {
    try await writer.write { db in try TemplateVersions.register(db, templates, now: now) }
  }

  public func storedTemplate(code: String, version: String) async throws -> Template? {
    try await writer.read { db in try TemplateVersions.fetch(db, code: code, version: version) }
  }
}

/// Every template version the server has offered, so tasks can always show what they ran.
enum TemplateVersions {
  static func register(_ db: Database, _ templates: [Template], now: Date) throws {
    for template in templates {
      let definition = try StoredJSON.string(template)
      let stored = try String.fetchOne(
        db, cached: "SELECT definition FROM template_versions WHERE code = \(template.code) AND version = \(template.version)")
      if let stored {
        guard stored == definition else {
          throw EaselError.failedPrecondition(
            "template \(template.code) version \(template.version) was changed without a new version number; "
              + "give the changed template a new `version`")
        }
        continue
      }
      try db.execute(
        literal: "INSERT INTO template_versions (code, version, definition, created_at) VALUES (\(template.code), \(template.version), \(definition), \(now.timeIntervalSince1970))")
    }
  }

  static func fetch(_ db: Database, code: String, version: String) throws -> Template? {
    let definition = try String.fetchOne(
      db, cached: "SELECT definition FROM template_versions WHERE code = \(code) AND version = \(version)")
    return try definition.map { try StoredJSON.decode(Template.self, $0) }
  }
}
