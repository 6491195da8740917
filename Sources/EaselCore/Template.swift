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
  /// How long one generation may take before it fails with `deadline_exceeded`; nil means the kind's default.
  public var timeoutSeconds: Int?
  /// How long its tasks may wait to start unless the request says otherwise; nil: no bound.
  public var startWithinMs: Int64?
  /// The most outputs one task may ask for (`num_outputs`, 1...8); nil means 4.
  public var maxOutputs: Int?
  /// Its own blocklist entries and moderation choices; nil: the server's and platform's alone.
  public var contentPolicy: TemplateContentPolicy?

  public init(
    code: String, name: String, version: String, category: String, kind: GenerationKind,
    description: String, backend: String, creditCost: Int64? = nil, inputImage: InputImage = .none,
    parameters: [ParameterSpec], promptTemplate: String? = nil, backendOptions: Parameters = [:],
    timeoutSeconds: Int? = nil, startWithinMs: Int64? = nil, maxOutputs: Int? = nil
  ) {
    self.maxOutputs = maxOutputs
    self.startWithinMs = startWithinMs
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
    self.timeoutSeconds = timeoutSeconds
  }

  /// The generation deadline: 2 minutes for images and 10 for videos unless the template sets one.
  public var timeout: Duration {
    .seconds(timeoutSeconds ?? (kind == .image ? 120 : 600))
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
