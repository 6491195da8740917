import Foundation

/// The operators' use cases that create tasks: retries.
extension TaskManager {
  public static let maxBulkRetries = 1000

  /// A new task doing what `original` asked for: the same template version, parameters, input
  /// (copied, so the original's retention never takes it), outputs, priority and webhook, with a
  /// hold of its own and `retryOf` naming the original, which is left unchanged.
  public func retry(_ original: GenerationTask) async throws -> GenerationTask {
    guard original.isRetryable else {
      throw EaselError.failedPrecondition(
        "task \(original.id) is \(original.status.rawValue); only FAILED, CANCELED and EXPIRED tasks can be retried")
    }
    let template = try await templates.template(code: original.template.code, version: original.template.version)
    let id = UUID().uuidString.lowercased()
    var inputKey: String?
    if let key = original.inputImageKey {
      guard original.artifactsExpiredAt == nil else {
        throw EaselError.failedPrecondition("task \(original.id)'s input image was deleted when its retention ended")
      }
      let input = try await artifacts.read(key: key)
      let copied = ArtifactKeys.key(for: .input, taskID: id, account: original.account, contentType: "image/jpeg", bytes: input)
      try await artifacts.write(input, key: copied)
      inputKey = copied
    }
    var new = NewTask(
      id: id, account: original.account, template: template,
      request: ResolvedRequest(parameters: original.parameters, prompt: original.prompt), creditCost: original.creditCost,
      inputImageKey: inputKey, idempotency: nil, maxActiveTasks: limits.maxActiveTasksPerUser, webhook: original.webhook)
    new.priority = original.priority
    new.fairnessWeight = scheduling.weight(of: original.account.platform)
    new.retention = original.retentionMs.map { .milliseconds($0) }
    new.numOutputs = original.numOutputs
    new.retryOf = original.id
    new.traceParent = TaskTrace.currentParent()
    do {
      return try await store.createTask(new, now: Date()).task
    } catch {
      if let inputKey { await deleteInput(inputKey, taskID: id) }
      throw error
    }
  }
}
