import Foundation

/// A generation task as Easel stores it.
public struct GenerationTask: Hashable, Sendable, Codable {
  public var id: String
  public var account: Account
  public var kind: GenerationKind
  public var status: TaskStatus
  public var prompt: String
  public var parameters: Parameters
  public var template: TemplateRef
  public var backend: String
  /// The template's backend settings when the task was created.
  public var backendOptions: Parameters
  public var creditCost: Int64
  /// How long a generation may run before it fails with `deadline_exceeded`.
  public var timeoutMs: Int64
  public var progress: Double
  public var inputImageKey: String?
  /// The first output and its thumbnail (of `outputs`), kept for callers that read one.
  public var output: Artifact?
  public var thumbnail: Artifact?
  /// How many outputs were asked (and paid) for.
  public var numOutputs: Int = 1
  /// Every output of a COMPLETED task, at most `numOutputs`.
  public var outputs: [TaskOutput] = []
  /// The batch it was created in (CreateBatch); nil for a task of its own.
  public var batchID: String?
  /// The W3C `traceparent` of the call that created it, when traces are recorded (`TaskTrace`).
  public var traceParent: String?
  /// The task an operator retried by creating this one (AdminService.RetryTask).
  public var retryOf: String?
  /// The node running it (the holder of its lease) while PROCESSING.
  public var leaseOwner: String?
  public var processingTimeMs: Int64
  public var errorCode: String
  public var errorMessage: String
  public var attempts: Int
  /// Increases with every stored change; subscribers resume from it.
  public var sequence: UInt64
  public var createdAt: Date
  public var updatedAt: Date
  public var startedAt: Date?
  public var finishedAt: Date?
  /// Where this state stands in the store's update log, which orders every change of every task;
  /// user and platform streams resume from it. 0 until stored.
  public var updateID: Int64 = 0
  /// Where the caller wants news of this task POSTed.
  public var webhook: WebhookRequest?
  /// When CancelTask asked a PROCESSING task to stop. Stored, so the change feed carries the
  /// request to whichever node runs the task.
  public var cancelRequestedAt: Date?
  /// The running task's latest intermediate picture (a small JPEG), replaced as the model works.
  public var preview: Artifact?
  /// How many previews this task has shown; a subscriber fetches the preview when it grows.
  public var previewStep: Int = 0
  /// 0...9; higher is claimed first (see `FairQueue`).
  public var priority: Int = FairQueue.defaultPriority
  /// Where the task stands in its level of the fair queue: lower is claimed first. Set by the store when queued.
  public var queueRank: Double = 0
  /// A PENDING task not started by then ends EXPIRED (`start_within_ms`); nil: it waits as long as it takes.
  public var startBy: Date?
  /// How long its artifacts are kept once it ends (its platform's retention, or shorter as asked);
  /// nil: until `easeld purge`.
  public var retentionMs: Int64?
  /// When the retention sweep deletes its artifacts: set when it ends.
  public var expiresAt: Date?
  /// Set while PinTask exempts it from the sweep.
  public var pinnedAt: Date?
  /// When the sweep deleted its artifacts.
  public var artifactsExpiredAt: Date?

  public init(
    id: String, account: Account, kind: GenerationKind, status: TaskStatus, prompt: String,
    parameters: Parameters, template: TemplateRef, backend: String, backendOptions: Parameters = [:], creditCost: Int64,
    timeoutMs: Int64 = 120_000, progress: Double = 0,
    inputImageKey: String? = nil, output: Artifact? = nil, thumbnail: Artifact? = nil, processingTimeMs: Int64 = 0,
    errorCode: String = "", errorMessage: String = "", attempts: Int = 0, sequence: UInt64 = 1,
    createdAt: Date, updatedAt: Date, startedAt: Date? = nil, finishedAt: Date? = nil, updateID: Int64 = 0,
    webhook: WebhookRequest? = nil, cancelRequestedAt: Date? = nil, preview: Artifact? = nil, previewStep: Int = 0,
    priority: Int = FairQueue.defaultPriority, queueRank: Double = 0, startBy: Date? = nil
  ) {
    self.startBy = startBy
    self.priority = priority
    self.queueRank = queueRank
    self.preview = preview
    self.previewStep = previewStep
    self.cancelRequestedAt = cancelRequestedAt
    self.id = id
    self.account = account
    self.kind = kind
    self.status = status
    self.prompt = prompt
    self.parameters = parameters
    self.template = template
    self.backend = backend
    self.backendOptions = backendOptions
    self.creditCost = creditCost
    self.timeoutMs = timeoutMs
    self.progress = progress
    self.inputImageKey = inputImageKey
    self.output = output
    self.thumbnail = thumbnail
    self.processingTimeMs = processingTimeMs
    self.errorCode = errorCode
    self.errorMessage = errorMessage
    self.attempts = attempts
    self.sequence = sequence
    self.createdAt = createdAt
    self.updatedAt = updatedAt
    self.startedAt = startedAt
    self.finishedAt = finishedAt
    self.updateID = updateID
    self.webhook = webhook
  }
}

/// A stored file of a task: its storage key and what it is.
public struct Artifact: Hashable, Sendable, Codable {
  public var key: String
  public var contentType: String

  public init(key: String, contentType: String) {
    self.key = key
    self.contentType = contentType
  }
}

public enum ArtifactKind: String, Hashable, Sendable, CaseIterable {
  case output, thumbnail, input, preview
}

extension GenerationTask {
  /// Whether the template keeps the last preview once the task ends (`backend_options.keep_preview`).
  public var keepsPreview: Bool { backendOptions["keep_preview"]?.boolValue == true }
}

/// How a finished attempt ends.
public enum TaskOutcome: Hashable, Sendable {
  /// With at least one output; fewer than asked for are charged for what came back.
  case completed(outputs: [TaskOutput], processingTimeMs: Int64)
  case failed(code: String, message: String)
  case canceled

  public var status: TaskStatus {
    switch self {
    case .completed: .completed
    case .failed: .failed
    case .canceled: .canceled
    }
  }
}

extension GenerationTask {
  /// Reads a stored snapshot, also one written before a field existed: the update log keeps
  /// snapshots until the task is purged, across upgrades, and a field added since takes its default.
  public init(from decoder: any Decoder) throws {
    let stored = try decoder.container(keyedBy: CodingKeys.self)
    self.init(
      id: try stored.decode(String.self, forKey: .id), account: try stored.decode(Account.self, forKey: .account),
      kind: try stored.decode(GenerationKind.self, forKey: .kind), status: try stored.decode(TaskStatus.self, forKey: .status),
      prompt: try stored.decode(String.self, forKey: .prompt), parameters: try stored.decode(Parameters.self, forKey: .parameters),
      template: try stored.decode(TemplateRef.self, forKey: .template), backend: try stored.decode(String.self, forKey: .backend),
      backendOptions: try stored.decodeIfPresent(Parameters.self, forKey: .backendOptions) ?? [:],
      creditCost: try stored.decode(Int64.self, forKey: .creditCost),
      timeoutMs: try stored.decodeIfPresent(Int64.self, forKey: .timeoutMs) ?? 120_000,
      progress: try stored.decode(Double.self, forKey: .progress),
      inputImageKey: try stored.decodeIfPresent(String.self, forKey: .inputImageKey),
      output: try stored.decodeIfPresent(Artifact.self, forKey: .output),
      thumbnail: try stored.decodeIfPresent(Artifact.self, forKey: .thumbnail),
      processingTimeMs: try stored.decodeIfPresent(Int64.self, forKey: .processingTimeMs) ?? 0,
      errorCode: try stored.decode(String.self, forKey: .errorCode), errorMessage: try stored.decode(String.self, forKey: .errorMessage),
      attempts: try stored.decode(Int.self, forKey: .attempts), sequence: try stored.decode(UInt64.self, forKey: .sequence),
      createdAt: try stored.decode(Date.self, forKey: .createdAt), updatedAt: try stored.decode(Date.self, forKey: .updatedAt),
      startedAt: try stored.decodeIfPresent(Date.self, forKey: .startedAt),
      finishedAt: try stored.decodeIfPresent(Date.self, forKey: .finishedAt),
      updateID: try stored.decodeIfPresent(Int64.self, forKey: .updateID) ?? 0,
      webhook: try stored.decodeIfPresent(WebhookRequest.self, forKey: .webhook),
      cancelRequestedAt: try stored.decodeIfPresent(Date.self, forKey: .cancelRequestedAt),
      preview: try stored.decodeIfPresent(Artifact.self, forKey: .preview),
      previewStep: try stored.decodeIfPresent(Int.self, forKey: .previewStep) ?? 0,
      priority: try stored.decodeIfPresent(Int.self, forKey: .priority) ?? FairQueue.defaultPriority,
      queueRank: try stored.decodeIfPresent(Double.self, forKey: .queueRank) ?? 0,
      startBy: try stored.decodeIfPresent(Date.self, forKey: .startBy))
    retentionMs = try stored.decodeIfPresent(Int64.self, forKey: .retentionMs)
    expiresAt = try stored.decodeIfPresent(Date.self, forKey: .expiresAt)
    pinnedAt = try stored.decodeIfPresent(Date.self, forKey: .pinnedAt)
    artifactsExpiredAt = try stored.decodeIfPresent(Date.self, forKey: .artifactsExpiredAt)
    numOutputs = try stored.decodeIfPresent(Int.self, forKey: .numOutputs) ?? 1
    outputs =
      try stored.decodeIfPresent([TaskOutput].self, forKey: .outputs)
      ?? StoredJSON.outputs(nil, first: output, thumbnail: thumbnail)
    batchID = try stored.decodeIfPresent(String.self, forKey: .batchID)
    traceParent = try stored.decodeIfPresent(String.self, forKey: .traceParent)
    retryOf = try stored.decodeIfPresent(String.self, forKey: .retryOf)
    leaseOwner = try stored.decodeIfPresent(String.self, forKey: .leaseOwner)
  }
}
