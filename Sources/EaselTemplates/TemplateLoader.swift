import EaselCore
import Foundation
import Yams

/// Loads template files: the built-in pack, then an operator's folder whose files add templates or
/// replace built-in ones with the same code. Every problem is reported with its file.
public struct TemplateLoader: Sendable {
  public struct Problem: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var message: String
    public var description: String { "\(file): \(message)" }
  }

  public struct Failure: Error, Sendable, CustomStringConvertible {
    public var problems: [Problem]
    public var description: String { problems.map(\.description).joined(separator: "\n") }
  }

  public var knownBackends: Set<String>
  /// Whether a moderation API is set, which `content_policy.check_outputs` needs.
  public var canCheckOutputs = true
  /// Backends some built-in templates need that a server may not have (ComfyUI's workflows): those
  /// templates are left out of a server without the backend, instead of failing its start.
  static let optionalBuiltinBackends: Set<String> = ["comfyui"]

  public init(knownBackends: Set<String>) {
    self.knownBackends = knownBackends
  }

  /// A template and the file it came from.
  public struct Loaded: Sendable {
    public var template: Template
    public var file: String
  }

  /// The built-in templates, plus or overridden by those in `directory`.
  public func load(directory: URL?) throws(Failure) -> [Template] {
    try loadFiles(directory: directory).map(\.template)
  }

  /// `load`, with the file each template came from.
  public func loadFiles(directory: URL?) throws(Failure) -> [Loaded] {
    var problems: [Problem] = []
    var byCode: [String: Loaded] = [:]
    for (source, files) in [("built-in", Self.builtinFiles()), ("folder", directory.map(Self.files(in:)) ?? [])] {
      var seenHere: [String: String] = [:]
      var loader = self
      if source == "built-in" { loader.knownBackends.formUnion(Self.optionalBuiltinBackends) }
      for file in files {
        do {
          let template = try loader.parse(
            try String(contentsOf: file, encoding: .utf8), file: file.lastPathComponent,
            folder: file.deletingLastPathComponent())
          guard knownBackends.contains(template.backend) else { continue }  // an optional built-in
          if let other = seenHere[template.code] {
            throw Problem(file: file.lastPathComponent, message: "code \(template.code) is already defined by \(other)")
          }
          seenHere[template.code] = file.lastPathComponent
          byCode[template.code] = Loaded(template: template, file: file.path)
        } catch let problem as Problem {
          problems.append(problem)
        } catch {
          problems.append(Problem(file: file.path, message: "can't be read (\(source)): \(error.localizedDescription)"))
        }
      }
    }
    if let directory, !FileManager.default.fileExists(atPath: directory.path) {
      problems.append(Problem(file: directory.path, message: "the templates folder does not exist"))
    }
    guard problems.isEmpty else { throw Failure(problems: problems) }
    return byCode.keys.sorted().compactMap { byCode[$0] }
  }

  /// Parses and validates one template file; a workflow it names is read from `folder`.
  public func parse(_ yaml: String, file: String, folder: URL? = nil) throws(Problem) -> Template {
    let template: Template
    do {
      template = try YAMLDecoder().decode(TemplateDocument.self, from: yaml).template(folder: folder)
    } catch let problem as Problem {
      throw Problem(file: file, message: problem.message)
    } catch let error as DecodingError {
      throw Problem(file: file, message: Self.explain(error))
    } catch {
      throw Problem(file: file, message: "is not valid YAML: \(error)")
    }
    var problems = template.problems(knownBackends: knownBackends)
    if template.contentPolicy?.checkOutputs == true, !canCheckOutputs {
      problems.append("content_policy.check_outputs needs a moderation API (EASEL_MODERATION_API_URL)")
    }
    guard problems.isEmpty else { throw Problem(file: file, message: problems.joined(separator: "; ")) }
    return template
  }

  static func builtinFiles() -> [URL] {
    guard let folder = Bundle.module.url(forResource: "Builtin", withExtension: nil) else { return [] }
    return files(in: folder)
  }

  static func files(in folder: URL) -> [URL] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
      .map { folder.appendingPathComponent($0) }
  }

  private static func explain(_ error: DecodingError) -> String {
    func path(_ context: DecodingError.Context) -> String {
      let keys = context.codingPath.map(\.stringValue).filter { !$0.isEmpty }
      return keys.isEmpty ? "" : keys.joined(separator: ".") + ": "
    }
    switch error {
    case .keyNotFound(let key, let context): return "\(path(context))missing key \"\(key.stringValue)\""
    case .typeMismatch(let type, let context): return "\(path(context))expected \(type)"
    case .valueNotFound(let type, let context): return "\(path(context))expected \(type), found nothing"
    case .dataCorrupted(let context): return "\(path(context))\(context.debugDescription)"
    @unknown default: return "\(error)"
    }
  }
}

extension TemplateLoader.Problem: Error {}
