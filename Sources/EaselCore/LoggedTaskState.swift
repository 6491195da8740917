import Foundation

/// What a change of a task can change, as the update log keeps it for each change. The rest of a
/// task (prompt, parameters, template, webhook, …) is fixed when it is created and is read from
/// its row, so the log does not store a copy of it with every change. Fields at their defaults are
/// left out. A full snapshot, as the log held before, reads as one too (its extra keys are ignored).
public struct LoggedTaskState: Codable, Sendable {
  var status: TaskStatus
  var sequence: UInt64
  var updatedAt: Date
  var progress: Double?
  var output: Artifact?
  var thumbnail: Artifact?
  /// Only when there are several: one output is `output` and `thumbnail` above.
  var outputs: [TaskOutput]?
  var processingTimeMs: Int64?
  var errorCode: String?
  var errorMessage: String?
  var attempts: Int?
  var startedAt: Date?
  var finishedAt: Date?
  var cancelRequestedAt: Date?
  var preview: Artifact?
  var previewStep: Int?
  var expiresAt: Date?
  var pinnedAt: Date?
  var artifactsExpiredAt: Date?
  var leaseOwner: String?

  public init(of task: GenerationTask) {
    func unlessDefault<T: Equatable>(_ value: T, _ defaultValue: T) -> T? { value == defaultValue ? nil : value }
    status = task.status
    sequence = task.sequence
    updatedAt = task.updatedAt
    progress = unlessDefault(task.progress, 0)
    output = task.output
    thumbnail = task.thumbnail
    outputs = task.outputs.count > 1 ? task.outputs : nil
    processingTimeMs = unlessDefault(task.processingTimeMs, 0)
    errorCode = unlessDefault(task.errorCode, "")
    errorMessage = unlessDefault(task.errorMessage, "")
    attempts = unlessDefault(task.attempts, 0)
    startedAt = task.startedAt
    finishedAt = task.finishedAt
    cancelRequestedAt = task.cancelRequestedAt
    preview = task.preview
    previewStep = unlessDefault(task.previewStep, 0)
    expiresAt = task.expiresAt
    pinnedAt = task.pinnedAt
    artifactsExpiredAt = task.artifactsExpiredAt
    leaseOwner = task.leaseOwner
  }

  /// The task at a logged change: the state stored as `text` over `task` (its row now), with its
  /// position in the log as its update id.
  public static func task(_ text: String, over task: GenerationTask, position: Int64) throws -> GenerationTask {
    var logged = try StoredJSON.decode(LoggedTaskState.self, text).applied(to: task)
    logged.updateID = position
    return logged
  }

  /// The task as it was at this change: `task` (its row now) with every changing field from here.
  func applied(to task: GenerationTask) -> GenerationTask {
    var task = task
    task.status = status
    task.sequence = sequence
    task.updatedAt = updatedAt
    task.progress = progress ?? 0
    task.output = output
    task.thumbnail = thumbnail
    task.outputs = outputs ?? (output.flatMap { output in thumbnail.map { [TaskOutput(output: output, thumbnail: $0)] } } ?? [])
    task.processingTimeMs = processingTimeMs ?? 0
    task.errorCode = errorCode ?? ""
    task.errorMessage = errorMessage ?? ""
    task.attempts = attempts ?? 0
    task.startedAt = startedAt
    task.finishedAt = finishedAt
    task.cancelRequestedAt = cancelRequestedAt
    task.preview = preview
    task.previewStep = previewStep ?? 0
    task.expiresAt = expiresAt
    task.pinnedAt = pinnedAt
    task.artifactsExpiredAt = artifactsExpiredAt
    task.leaseOwner = leaseOwner
    return task
  }
}
