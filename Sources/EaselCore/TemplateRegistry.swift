/// The templates a server offers: the newest version of each code is current, and older
/// versions stay reachable for tasks that ran them.
public struct TemplateRegistry: Sendable {
  private var versions: [String: [Template]]  // code → versions, oldest first

  public init(_ templates: [Template]) {
    versions = Dictionary(grouping: templates, by: \.code)
  }

  /// A registry whose current versions are `templates`, keeping the versions they replace.
  /// A code missing from `templates` is no longer offered.
  public func replacing(with templates: [Template]) -> TemplateRegistry {
    var next = self
    next.versions = Dictionary(grouping: templates, by: \.code).mapValues { newer in
      let older = versions[newer[0].code, default: []].filter { old in !newer.contains { $0.version == old.version } }
      return older + newer
    }
    return next
  }

  /// Current versions, sorted by code.
  public var current: [Template] {
    versions.keys.sorted().compactMap { versions[$0]?.last }
  }

  /// The current version of `code`, or the given older version.
  public func template(code: String, version: String? = nil) throws(EaselError) -> Template {
    guard let all = versions[code], let newest = all.last else {
      throw .notFound("template \(code) does not exist")
    }
    guard let version, !version.isEmpty else { return newest }
    guard let match = all.last(where: { $0.version == version }) else {
      throw .notFound("template \(code) has no version \(version)")
    }
    return match
  }
}
