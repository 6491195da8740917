/// What of a task its template version already says. A version never changes once stored, so a
/// store may keep a task without its template's name, category and backend options, without the
/// parameters left at their defaults, and without a prompt parameter that is the prompt itself,
/// and put them back from the version when it reads the task.
extension Template {
  /// The parameters a stored task must keep, or nil when leaving the others out could not be
  /// undone exactly: the task's template fields differ from this version's, a defaulted parameter
  /// is missing, or the prompt parameter isn't the prompt.
  public func ownParameters(of task: GenerationTask) -> Parameters? {
    guard task.template == ref, task.backendOptions == backendOptions else { return nil }
    var own = task.parameters
    for spec in parameters {
      guard let value = task.parameters[spec.name] else {
        if spec.defaultValue != nil { return nil }  // putting the default back would add it
        continue
      }
      if value == spec.defaultValue { own[spec.name] = nil }
    }
    if promptIsParameter {
      guard task.parameters["prompt"] == .string(task.prompt) else { return nil }
      own["prompt"] = nil
    }
    return own
  }

  /// A stored task's parameters with what `ownParameters(of:)` left out put back.
  public func allParameters(own: Parameters, prompt: String) -> Parameters {
    var all = own
    // The prompt first: a prompt parameter with a default may differ from it.
    if promptIsParameter, all["prompt"] == nil { all["prompt"] = .string(prompt) }
    for spec in parameters where all[spec.name] == nil {
      all[spec.name] = spec.defaultValue
    }
    return all
  }

  /// Whether the prompt is the `prompt` parameter as it was sent.
  private var promptIsParameter: Bool {
    (promptTemplate ?? "{prompt}") == "{prompt}" && parameters.contains { $0.name == "prompt" }
  }
}
