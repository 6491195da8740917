import Foundation

/// What a template makes of a caller's request: the effective parameters and the prompt.
public struct ResolvedRequest: Hashable, Sendable {
  public var parameters: Parameters
  public var prompt: String
}

extension Template {
  public static let maxPromptLength = 4000
  public static let maxParameterCount = 64

  /// Validates the caller's parameters, fills in defaults and builds the prompt.
  /// Throws INVALID_ARGUMENT naming the parameter and the rule it breaks.
  public func resolve(_ supplied: Parameters, hasInputImage: Bool) throws(EaselError) -> ResolvedRequest {
    switch (inputImage, hasInputImage) {
    case (.required, false): throw .invalidArgument("input_image is required by template \(code)")
    case (.none, true): throw .invalidArgument("input_image is not accepted by template \(code)")
    default: break
    }
    guard supplied.count <= Template.maxParameterCount else {
      throw .invalidArgument("at most \(Template.maxParameterCount) parameters may be sent; got \(supplied.count)")
    }
    let known = Set(parameters.map(\.name))
    if let unknown = supplied.keys.sorted().first(where: { !known.contains($0) }) {
      throw .invalidArgument(
        "parameters.\(unknown) is not a parameter of template \(code); it takes \(parameters.map(\.name).joined(separator: ", "))")
    }
    var effective = Parameters()
    for spec in parameters {
      if let value = supplied[spec.name] {
        effective[spec.name] = try spec.validate(value)
      } else if let value = spec.defaultValue {
        effective[spec.name] = value
      } else if spec.required {
        throw .invalidArgument("parameters.\(spec.name) is required by template \(code)")
      }
    }
    let prompt = try buildPrompt(effective)
    return ResolvedRequest(parameters: effective, prompt: prompt)
  }

  /// Replaces each `{name}` in the prompt template with that parameter's value.
  func buildPrompt(_ values: Parameters) throws(EaselError) -> String {
    var prompt = ""
    var rest = Substring(promptTemplate ?? "{prompt}")
    while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
      prompt += rest[..<open]
      let name = String(rest[rest.index(after: open)..<close])
      prompt += values[name]?.text ?? ""
      rest = rest[rest.index(after: close)...]
    }
    prompt += rest
    prompt = prompt.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !prompt.isEmpty else { throw .invalidArgument("parameters.prompt is required: the prompt is empty") }
    guard prompt.count <= Template.maxPromptLength else {
      throw .invalidArgument("the prompt is longer than \(Template.maxPromptLength) characters")
    }
    return prompt
  }
}
