/// Tasks with several outputs (`num_outputs`): what a task may ask for, and how its hold is settled
/// when fewer come back than were paid for.

/// One output of a task and its thumbnail.
public struct TaskOutput: Hashable, Sendable, Codable {
  public var output: Artifact
  public var thumbnail: Artifact

  public init(output: Artifact, thumbnail: Artifact) {
    self.output = output
    self.thumbnail = thumbnail
  }
}

public enum OutputCount {
  /// The most outputs any task may ask for.
  public static let maximum = 8
  /// A template's limit unless it sets `max_outputs`.
  public static let templateDefault = 4

  /// INVALID_ARGUMENT unless `requested` is 1...the template's limit (0 means 1).
  public static func check(_ requested: Int, template: Template) throws(EaselError) -> Int {
    let limit = template.outputLimit
    guard requested != 0 else { return 1 }
    guard (1...limit).contains(requested) else {
      throw .invalidArgument("num_outputs must be 1 to \(limit) for template \(template.code); got \(requested)")
    }
    return requested
  }
}

extension Template {
  /// How many outputs one of its tasks may ask for.
  public var outputLimit: Int { maxOutputs ?? OutputCount.templateDefault }
}

extension LedgerReason {
  /// The part of a hold released because the backend returned fewer outputs than were paid for.
  public static let outputsMissing = "ai_generation_outputs_missing"
}

extension GenerationTask {
  /// The price of one output: the cost is per output, fixed when the task was created.
  public var costPerOutput: Int64 { creditCost / Int64(max(numOutputs, 1)) }

  /// How an open hold of `amount` ends now that the task is terminal, as ledger movements in
  /// order: a COMPLETED task is charged for the outputs it has and the rest is released; any other
  /// end releases it all.
  public func settlement(ofHold amount: Int64) -> [(HoldSettlement, amount: Int64)] {
    guard let settlement = status.holdSettlement else { return [] }
    guard case .capture = settlement, outputs.count < numOutputs, !outputs.isEmpty else { return [(settlement, amount)] }
    let charged = min(amount, costPerOutput * Int64(outputs.count))
    return [(.capture, charged), (.release(reason: LedgerReason.outputsMissing), amount - charged)]
  }
}
