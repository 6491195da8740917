import Foundation
import Synchronization

/// The templates a server offers now, replaceable at run time (reload). Versions that were
/// replaced stay reachable: from memory, and from the store for versions of earlier runs.
public final class TemplateCatalog: Sendable {
  private let registry: Mutex<TemplateRegistry>
  private let store: any TemplateVersionStore

  public init(_ templates: [Template], store: any TemplateVersionStore) {
    registry = Mutex(TemplateRegistry(templates))
    self.store = store
  }

  public var current: [Template] { registry.withLock { $0.current } }

  /// The current version of `code`.
  public func current(code: String) throws(EaselError) -> Template {
    try registry.withLock { registry throws(EaselError) in try registry.template(code: code) }
  }

  /// The current version, or the given one, also if it is no longer current.
  public func template(code: String, version: String) async throws -> Template {
    do {
      return try registry.withLock { registry throws(EaselError) in try registry.template(code: code, version: version) }
    } catch {
      guard !version.isEmpty, let stored = try await store.storedTemplate(code: code, version: version) else { throw error }
      return stored
    }
  }

  /// Records the set in the store (refusing a changed definition under an old version number),
  /// then makes it current. On error the previous set stays.
  public func replace(with templates: [Template]) async throws {
    try await store.registerTemplates(templates, now: Date())
    registry.withLock { $0 = $0.replacing(with: templates) }
  }
}
