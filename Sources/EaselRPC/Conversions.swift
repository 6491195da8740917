import EaselCore
import Foundation
import SwiftProtobuf

// Domain ↔ wire. Generated types stay in this target; the domain never sees them.

extension Parameters {
  /// Struct → parameters; a null value counts as absent, lists and objects are refused.
  init(_ proto: Google_Protobuf_Struct) throws(EaselError) {
    self.init()
    for (name, value) in proto.fields {
      switch value.kind {
      case .stringValue(let text): self[name] = .string(text)
      case .numberValue(let number): self[name] = .number(number)
      case .boolValue(let flag): self[name] = .bool(flag)
      case .nullValue, nil: continue
      case .listValue, .structValue:
        throw .invalidArgument("parameters.\(name) must be a string, number or boolean")
      }
    }
  }
}

extension Google_Protobuf_Struct {
  init(_ parameters: Parameters) {
    self.init()
    for (name, value) in parameters {
      fields[name] =
        switch value {
        case .string(let text): Google_Protobuf_Value(stringValue: text)
        case .integer(let number): Google_Protobuf_Value(numberValue: Double(number))
        case .number(let number): Google_Protobuf_Value(numberValue: number)
        case .bool(let flag): Google_Protobuf_Value(boolValue: flag)
        }
    }
  }
}

extension GenerationKind {
  init?(_ proto: Easel_V1_GenerationType) {
    switch proto {
    case .image: self = .image
    case .video: self = .video
    case .unspecified, .UNRECOGNIZED: return nil
    }
  }

  var proto: Easel_V1_GenerationType { self == .image ? .image : .video }
}

extension TaskStatus {
  init?(_ proto: Easel_V1_TaskStatus) {
    switch proto {
    case .pending: self = .pending
    case .processing: self = .processing
    case .completed: self = .completed
    case .failed: self = .failed
    case .canceled: self = .canceled
    case .expired: self = .expired
    case .unspecified, .UNRECOGNIZED: return nil
    }
  }

  var proto: Easel_V1_TaskStatus {
    switch self {
    case .pending: .pending
    case .processing: .processing
    case .completed: .completed
    case .failed: .failed
    case .canceled: .canceled
    case .expired: .expired
    }
  }
}

extension ArtifactKind {
  init(_ proto: Easel_V1_ArtifactKind) throws(EaselError) {
    switch proto {
    case .output, .unspecified: self = .output
    case .thumbnail: self = .thumbnail
    case .input: self = .input
    case .preview: self = .preview
    case .UNRECOGNIZED(let value): throw .invalidArgument("kind \(value) is not an artifact kind")
    }
  }

  /// Where a task's artifact is fetched from: `FetchArtifact` with this task id and kind (and,
  /// past the first output, its index).
  func url(taskID: String, index: Int = 0) -> String {
    "easel-artifact://\(taskID)/\(rawValue)" + (index == 0 ? "" : "/\(index)")
  }
}

extension Easel_V1_Task {
  /// Where a PENDING task stands.
  var queue: QueueEstimate {
    get { QueueEstimate(position: Int(queuePosition), estimatedStart: hasEstimatedStartAt ? estimatedStartAt.date : nil) }
    set {
      queuePosition = Int32(clamping: newValue.position)
      if let start = newValue.estimatedStart { estimatedStartAt = Google_Protobuf_Timestamp(date: start) }
    }
  }

  /// `links` gives an artifact key's direct URL, if the store has one (presigned S3); otherwise the
  /// URL is an `easel-artifact://` reference for FetchArtifact.
  init(_ task: GenerationTask, links: (_ key: String) -> String?) {
    self.init()
    id = task.id
    userID = task.account.userID
    platform = task.account.platform
    type = task.kind.proto
    status = task.status.proto
    prompt = task.prompt
    parameters = Google_Protobuf_Struct(task.parameters)
    template = .with {
      $0.code = task.template.code
      $0.name = task.template.name
      $0.version = task.template.version
      $0.category = task.template.category
    }
    creditCost = task.creditCost
    progress = Float(task.progress)
    if let key = task.inputImageKey { inputImageURL = links(key) ?? ArtifactKind.input.url(taskID: task.id) }
    if let output = task.output {
      outputURL = links(output.key) ?? ArtifactKind.output.url(taskID: task.id)
      outputContentType = output.contentType
    }
    if let thumbnail = task.thumbnail { thumbnailURL = links(thumbnail.key) ?? ArtifactKind.thumbnail.url(taskID: task.id) }
    if let preview = task.preview { previewURL = links(preview.key) ?? ArtifactKind.preview.url(taskID: task.id) }
    webhookURL = task.webhook?.url ?? ""
    priority = Int32(task.priority)
    processingTimeMs = task.processingTimeMs
    errorCode = task.errorCode
    errorMessage = task.errorMessage
    attempts = Int32(clamping: task.attempts)
    createdAt = Google_Protobuf_Timestamp(date: task.createdAt)
    updatedAt = Google_Protobuf_Timestamp(date: task.updatedAt)
    if let startedAt = task.startedAt { self.startedAt = Google_Protobuf_Timestamp(date: startedAt) }
    if let finishedAt = task.finishedAt { self.finishedAt = Google_Protobuf_Timestamp(date: finishedAt) }
    if let expiresAt = task.expiresAt { self.expiresAt = Google_Protobuf_Timestamp(date: expiresAt) }
    pinned = task.pinnedAt != nil
    artifactsExpired = task.artifactsExpiredAt != nil
    numOutputs = Int32(task.numOutputs)
    outputs = task.outputs.enumerated().map { index, made in
      .with {
        $0.url = links(made.output.key) ?? ArtifactKind.output.url(taskID: task.id, index: index)
        $0.thumbnailURL = links(made.thumbnail.key) ?? ArtifactKind.thumbnail.url(taskID: task.id, index: index)
        $0.contentType = made.output.contentType
      }
    }
    batchID = task.batchID ?? ""
    retryOf = task.retryOf ?? ""
  }
}

extension Easel_V1_Template {
  init(_ template: Template, pricing: Pricing) {
    self.init()
    code = template.code
    name = template.name
    version = template.version
    category = template.category
    type = template.kind.proto
    creditCost = pricing.baseCost(of: template)
    description_p = template.description
    requiresInputImage = template.inputImage == .required
    acceptsInputImage = template.inputImage != .none
    backend = template.backend
    parameters = template.parameters.map(Easel_V1_ParameterSpec.init)
    maxOutputs = Int32(template.outputLimit)
  }
}

extension Easel_V1_ParameterSpec {
  init(_ spec: ParameterSpec) {
    self.init()
    name = spec.name
    type = spec.type.rawValue
    required = spec.required
    defaultValue = spec.defaultValue?.text ?? ""
    description_p = spec.description
    if let minimum = spec.minimum { self.minimum = minimum }
    if let maximum = spec.maximum { self.maximum = maximum }
    maxLength = Int32(clamping: spec.maxLength ?? 0)
    allowedValues = spec.allowedValues
  }
}

extension Easel_V1_Balance {
  init(_ balance: CreditBalance, account: Account) {
    self.init()
    platform = account.platform
    userID = account.userID
    self.balance = balance.balance
    held = balance.held
    available = balance.available
  }
}

extension Easel_V1_LedgerEntry {
  init(_ entry: LedgerEntry) {
    self.init()
    id = String(entry.id)
    kind = entry.kind.rawValue
    amount = entry.amount
    reason = entry.reason
    taskID = entry.taskID ?? ""
    balanceAfter = entry.balanceAfter
    createdAt = Google_Protobuf_Timestamp(date: entry.createdAt)
  }
}

extension Easel_V1_Batch {
  init(_ batch: TaskBatch) {
    self.init()
    id = batch.id
    platform = batch.account.platform
    userID = batch.account.userID
    taskIds = batch.taskIDs
    createdAt = Google_Protobuf_Timestamp(date: batch.createdAt)
    summary = .with {
      let counts = batch.summary.counts
      $0.total = Int32(batch.summary.total)
      $0.pending = Int32(counts[.pending, default: 0])
      $0.processing = Int32(counts[.processing, default: 0])
      $0.completed = Int32(counts[.completed, default: 0])
      $0.failed = Int32(counts[.failed, default: 0])
      $0.canceled = Int32(counts[.canceled, default: 0])
      $0.expired = Int32(counts[.expired, default: 0])
      $0.creditsHeld = batch.summary.creditsHeld
      $0.creditsCaptured = batch.summary.creditsCaptured
    }
  }
}
