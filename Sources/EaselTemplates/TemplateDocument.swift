import EaselCore
import Foundation
import Yams

/// One template file. Unknown keys are errors, so a typo never silently drops a rule.
struct TemplateDocument: Decodable {
  var code: String
  var name: String
  var version: String
  var category: String
  var kind: GenerationKind
  var description: String
  var backend: String
  var creditCost: Int64?
  var inputImage: Template.InputImage
  var prompt: String?
  var backendOptions: Parameters
  var parameters: [ParameterSpec]
  var timeoutSeconds: Int?
  var startWithinMs: Int64?
  var maxOutputs: Int?
  var contentPolicy: TemplateContentPolicy?
  /// A ComfyUI workflow file (API format), relative to the template file, and its bindings.
  var workflow: String?
  var bindings: [String: String]

  static let keys: Set<String> = [
    "code", "name", "version", "category", "kind", "description", "backend", "credit_cost", "input_image", "prompt",
    "backend_options", "parameters", "timeout_seconds", "workflow", "bindings", "start_within_ms",
    "max_outputs", "content_policy",
  ]

  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: AnyKey.self)
    try container.rejectUnknownKeys(allowed: Self.keys)
    code = try container.decode(String.self, forKey: "code")
    name = try container.decode(String.self, forKey: "name")
    version = try container.decode(Scalar.self, forKey: "version").text
    category = try container.decode(String.self, forKey: "category")
    kind = try container.decode(GenerationKind.self, forKey: "kind")
    description = try container.decodeIfPresent(String.self, forKey: "description") ?? ""
    backend = try container.decode(String.self, forKey: "backend")
    creditCost = try container.decodeIfPresent(Int64.self, forKey: "credit_cost")
    inputImage = try container.decodeIfPresent(Template.InputImage.self, forKey: "input_image") ?? .none
    prompt = try container.decodeIfPresent(String.self, forKey: "prompt")
    backendOptions = try container.decodeIfPresent(Parameters.self, forKey: "backend_options") ?? [:]
    let specs = try container.decodeIfPresent(OrderedSpecs.self, forKey: "parameters")
    parameters = specs?.specs ?? []
    timeoutSeconds = try container.decodeIfPresent(Int.self, forKey: "timeout_seconds")
    startWithinMs = try container.decodeIfPresent(Int64.self, forKey: "start_within_ms")
    maxOutputs = try container.decodeIfPresent(Int.self, forKey: "max_outputs")
    contentPolicy = try container.decodeIfPresent(ContentPolicyDocument.self, forKey: "content_policy")?.policy
    workflow = try container.decodeIfPresent(String.self, forKey: "workflow")
    bindings = try container.decodeIfPresent([String: String].self, forKey: "bindings") ?? [:]
  }

  /// The template, with its workflow (read from `folder`) checked and kept in its backend options.
  func template(folder: URL?) throws(TemplateLoader.Problem) -> Template {
    var options = backendOptions
    if let workflow {
      let file = URL(fileURLWithPath: workflow, relativeTo: folder).standardizedFileURL
      guard let json = FileManager.default.contents(atPath: file.path) else {
        throw TemplateLoader.Problem(file: "", message: "workflow \(workflow) can't be read (looked for \(file.path))")
      }
      do {
        options.merge(try ComfyWorkflow(json: json, bindings: bindings).options) { _, workflow in workflow }
      } catch {
        throw TemplateLoader.Problem(file: "", message: "workflow \(workflow): \(error.message)")
      }
    } else if !bindings.isEmpty {
      throw TemplateLoader.Problem(file: "", message: "bindings need a workflow")
    }
    if contentPolicy?.checkOutputs == true { options[TemplateContentPolicy.checkOutputsOption] = .bool(true) }
    var template = Template(
      code: code, name: name, version: version, category: category, kind: kind, description: description,
      backend: backend, creditCost: creditCost, inputImage: inputImage, parameters: parameters, promptTemplate: prompt,
      backendOptions: options, timeoutSeconds: timeoutSeconds, startWithinMs: startWithinMs,
      maxOutputs: maxOutputs)
    template.contentPolicy = contentPolicy
    return template
  }
}

/// `content_policy:`: `blocked` (blocklist entries), `moderate_prompt`, `check_outputs`.
private struct ContentPolicyDocument: Decodable {
  var policy: TemplateContentPolicy

  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: AnyKey.self)
    try container.rejectUnknownKeys(allowed: ["blocked", "moderate_prompt", "check_outputs"])
    policy = TemplateContentPolicy(
      blocked: try container.decodeIfPresent([String].self, forKey: "blocked") ?? [],
      moderatePrompt: try container.decodeIfPresent(Bool.self, forKey: "moderate_prompt") ?? true,
      checkOutputs: try container.decodeIfPresent(Bool.self, forKey: "check_outputs") ?? false)
  }
}

/// `parameters:` as a mapping from name to spec, kept in the file's order (a form shows them so).
private struct OrderedSpecs: Decodable {
  var specs: [ParameterSpec] = []

  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: AnyKey.self)
    for key in container.allKeys {
      let spec = try container.decode(SpecDocument.self, forKey: key)
      specs.append(spec.spec(named: key.stringValue))
    }
  }
}

private struct SpecDocument: Decodable {
  var type: ParameterSpec.ValueType
  var required: Bool
  var defaultValue: ParameterValue?
  var minimum: Double?
  var maximum: Double?
  var maxLength: Int?
  var values: [String]
  var description: String

  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: AnyKey.self)
    try container.rejectUnknownKeys(allowed: ["type", "required", "default", "min", "max", "max_length", "values", "description"])
    type = try container.decode(ParameterSpec.ValueType.self, forKey: "type")
    required = try container.decodeIfPresent(Bool.self, forKey: "required") ?? false
    defaultValue = try container.decodeIfPresent(ParameterValue.self, forKey: "default")
    minimum = try container.decodeIfPresent(Double.self, forKey: "min")
    maximum = try container.decodeIfPresent(Double.self, forKey: "max")
    maxLength = try container.decodeIfPresent(Int.self, forKey: "max_length")
    values = try container.decodeIfPresent([Scalar].self, forKey: "values")?.map(\.text) ?? []
    description = try container.decodeIfPresent(String.self, forKey: "description") ?? ""
  }

  func spec(named name: String) -> ParameterSpec {
    ParameterSpec(
      name: name, type: type, required: required, defaultValue: defaultValue, minimum: minimum, maximum: maximum,
      maxLength: maxLength, allowedValues: values, description: description)
  }
}

/// A YAML scalar read as text whatever it looks like (`version: 2`, `values: [480p, 720]`).
private struct Scalar: Decodable {
  var text: String

  init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if let value = try? container.decode(Int64.self) {
      text = String(value)
    } else if let value = try? container.decode(Double.self) {
      text = String(value)
    } else {
      text = try container.decode(String.self)
    }
  }
}

struct AnyKey: CodingKey, ExpressibleByStringLiteral {
  var stringValue: String
  var intValue: Int? { nil }
  init(stringValue: String) { self.stringValue = stringValue }
  init?(intValue: Int) { nil }
  init(stringLiteral value: String) { stringValue = value }
}

extension KeyedDecodingContainer where Key == AnyKey {
  func rejectUnknownKeys(allowed: Set<String>) throws {
    if let unknown = allKeys.first(where: { !allowed.contains($0.stringValue) }) {
      throw DecodingError.dataCorruptedError(
        forKey: unknown, in: self,
        debugDescription: "unknown key \"\(unknown.stringValue)\"; expected one of \(allowed.sorted().joined(separator: ", "))")
    }
  }
}
