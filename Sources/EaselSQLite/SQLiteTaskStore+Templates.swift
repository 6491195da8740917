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
