import Crypto
import EaselCore
import Foundation
import GRDB
import Synchronization

/// Template definitions by content, for task rows. A row names the definition its task ran by
/// the definition's digest and leaves out what the definition says (`Template.ownParameters`):
/// about 190 bytes a task. Both caches are keyed by content, so they are right for every database
/// this process opens.
enum TemplateDefinitions {
  private struct Stored {
    let digest: Int64
    let text: String
  }

  private static let capacity = 256
  private static let stored = Mutex<[Template: Stored]>([:])
  private static let templates = Mutex<[Int64: Template]>([:])

  /// Stores the definition if this database lacks it, and returns its digest.
  static func store(_ db: Database, _ template: Template) throws -> Int64 {
    let definition = try stored(template)
    try db.run(
      literal: "INSERT OR IGNORE INTO template_definitions (digest, definition) VALUES (\(definition.digest), \(definition.text))")
    return definition.digest
  }

  /// The definition a task row names.
  static func template(_ db: Database, digest: Int64) throws -> Template {
    if let known = templates.withLock({ $0[digest] }) { return known }
    guard
      let text = try String.fetchOne(db, cached: "SELECT definition FROM template_definitions WHERE digest = \(digest)")
    else {
      throw EaselError.internalError("a task's template definition \(digest) is missing from the database")
    }
    let template = try StoredJSON.decode(Template.self, text)
    remember(template, under: digest, in: templates)
    return template
  }

  private static func stored(_ template: Template) throws -> Stored {
    if let known = stored.withLock({ $0[template] }) { return known }
    let text = try StoredJSON.string(template)
    let hash = SHA256.hash(data: Data(text.utf8))
    let digest = hash.withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }
    let definition = Stored(digest: digest, text: text)
    remember(definition, under: template, in: stored)
    return definition
  }

  private static func remember<Key: Hashable & Sendable, Value: Sendable>(
    _ value: Value, under key: Key, in cache: borrowing Mutex<[Key: Value]>
  ) {
    cache.withLock { cache in
      if cache.count >= capacity { cache.removeAll(keepingCapacity: true) }  // simple bound: start over
      cache[key] = value
    }
  }
}
