/// A named, versioned generation recipe.
public struct Template: Hashable, Sendable, Codable {
  public enum InputImage: String, Hashable, Sendable, Codable {
    case none, optional, required
  }

  public var code: String
  public var name: String
  public var version: String
  public var category: String
  public var kind: GenerationKind
  public var description: String
  /// The model backend that runs it, e.g. `procedural`.
  public var backend: String
  /// The base cost; nil means the kind's default price.
  public var creditCost: Int64?
  public var inputImage: InputImage
  public var parameters: [ParameterSpec]
  /// How the prompt is built, e.g. "a person wearing {clothingDescription}"; nil means `{prompt}`.
  public var promptTemplate: String?
  /// Settings sent to the backend that callers don't choose (steps, sampler…); parameters win over them.
  public var backendOptions: Parameters

  public init(
    code: String, name: String, version: String, category: String, kind: GenerationKind,
    description: String, backend: String, creditCost: Int64? = nil, inputImage: InputImage = .none,
    parameters: [ParameterSpec], promptTemplate: String? = nil, backendOptions: Parameters = [:]
  ) {
    self.code = code
    self.name = name
    self.version = version
    self.category = category
    self.kind = kind
    self.description = description
    self.backend = backend
    self.creditCost = creditCost
    self.inputImage = inputImage
    self.parameters = parameters
    self.promptTemplate = promptTemplate
    self.backendOptions = backendOptions
  }

  public var ref: TemplateRef {
    TemplateRef(code: code, name: name, version: version, category: category)
  }
}

/// The template version a task ran.
public struct TemplateRef: Hashable, Sendable, Codable {
  public var code: String
  public var name: String
  public var version: String
  public var category: String

  public init(code: String, name: String, version: String, category: String) {
    self.code = code
    self.name = name
    self.version = version
    self.category = category
  }
}
