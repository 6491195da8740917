/// The rules a template definition must follow before a server offers it.
extension Template {
  /// Every problem with this definition, as sentences naming the part at fault; empty when valid.
  public func problems(knownBackends: Set<String>) -> [String] {
    var problems: [String] = []
    if !Template.isIdentifier(code, allowing: "-") { problems.append("code \"\(code)\" must be letters, digits, _ or -") }
    for (field, value) in [("name", name), ("version", version), ("category", category)] where value.isEmpty {
      problems.append("\(field) must not be empty")
    }
    if !knownBackends.contains(backend) {
      problems.append(
        "backend \"\(backend)\" is not configured; configured backends: \(knownBackends.sorted().joined(separator: ", "))")
    }
    if let creditCost, creditCost < 0 { problems.append("credit_cost must be 0 or more") }
    if let timeoutSeconds, timeoutSeconds <= 0 { problems.append("timeout_seconds must be positive") }
    if let startWithinMs, startWithinMs <= 0 { problems.append("start_within_ms must be positive") }
    if let contentPolicy {
      do {
        _ = try contentPolicy.blocklist()
      } catch {
        problems.append("content_policy.blocked: \(error.message)")
      }
    }
    if let maxOutputs, !(1...OutputCount.maximum).contains(maxOutputs) {
      problems.append("max_outputs must be 1 to \(OutputCount.maximum)")
    }
    var seen = Set<String>()
    for spec in parameters {
      if !seen.insert(spec.name).inserted { problems.append("parameter \(spec.name) is declared twice") }
      problems += spec.problems.map { "parameter \(spec.name): \($0)" }
    }
    for name in placeholders where !seen.contains(name) {
      problems.append("prompt uses {\(name)}, which is not a parameter")
    }
    return problems + workflowProblems(parameters: seen)
  }

  /// A comfyui template needs a workflow whose bindings go to parameters it has: `prompt` (the
  /// rendered prompt), a declared parameter, or `input_image` when it takes one.
  private func workflowProblems(parameters: Set<String>) -> [String] {
    let hasWorkflow = backendOptions[ComfyWorkflow.workflowOption] != nil
    guard backend == "comfyui" else {
      return hasWorkflow ? ["workflow and bindings are for backend comfyui, not \(backend)"] : []
    }
    guard hasWorkflow else { return ["a comfyui template needs a workflow (a file in ComfyUI's API format)"] }
    let workflow: ComfyWorkflow
    do {
      workflow = try ComfyWorkflow(options: backendOptions)
    } catch {
      return [error.message]
    }
    var problems: [String] = []
    for parameter in workflow.bindings.keys.sorted() {
      if parameter == ComfyWorkflow.inputImageBinding {
        if inputImage == .none { problems.append("binding input_image: the template takes no input image") }
      } else if parameter != "prompt" && parameter != ComfyWorkflow.batchSizeBinding && !parameters.contains(parameter) {
        problems.append("binding \(parameter): the template has no parameter \(parameter)")
      }
    }
    return problems
  }

  /// The parameter names the prompt template refers to.
  var placeholders: [String] {
    var names: [String] = []
    var rest = Substring(promptTemplate ?? "{prompt}")
    while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
      names.append(String(rest[rest.index(after: open)..<close]))
      rest = rest[rest.index(after: close)...]
    }
    return names
  }

  static func isIdentifier(_ text: String, allowing extra: Character = "_") -> Bool {
    !text.isEmpty && text.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "_" || $0 == extra }
  }
}

extension ParameterSpec {
  var problems: [String] {
    var problems: [String] = []
    if !Template.isIdentifier(name) { problems.append("the name must be letters, digits or _") }
    if let minimum, let maximum, minimum > maximum { problems.append("min \(minimum) is above max \(maximum)") }
    if type == .enumeration, allowedValues.isEmpty { problems.append("an enum needs `values`") }
    if type != .enumeration, !allowedValues.isEmpty { problems.append("`values` only applies to enums") }
    if let maxLength, maxLength <= 0 { problems.append("max_length must be positive") }
    if let defaultValue {
      do {
        _ = try validate(defaultValue)
      } catch {
        problems.append("the default breaks its own rule (\(error.message))")
      }
      if required { problems.append("a parameter with a default can't be required") }
    }
    return problems
  }
}
