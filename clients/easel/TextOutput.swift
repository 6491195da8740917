import EaselRPC
import Foundation
import SwiftProtobuf

/// Plain-text renderings for people; `--json` prints the messages themselves instead.
enum TextOutput {
  static func status(_ status: Easel_V1_TaskStatus) -> String {
    String(describing: status).uppercased()
  }

  static func task(_ task: Easel_V1_Task) -> String {
    var lines = [
      "task \(task.id)  \(status(task.status))",
      "  template   \(task.template.code) v\(task.template.version) — \(task.template.name) (\(task.template.category))",
      "  user       \(task.platform)/\(task.userID)",
      "  prompt     \(task.prompt)",
      "  credits    \(task.creditCost)   priority \(task.priority)",
      "  progress   \(Int((task.progress * 100).rounded()))%   attempts \(task.attempts)",
      "  created    \(date(task.createdAt))",
    ]
    if task.status == .pending { lines.append("  queue      \(queue(task.queuePosition, task.hasEstimatedStartAt ? task.estimatedStartAt : nil))") }
    if task.hasFinishedAt { lines.append("  finished   \(date(task.finishedAt))\(ranFor(task))") }
    if task.outputs.count > 1 {
      lines.append(
        "  outputs    \(task.outputs.count) of \(task.numOutputs) — easel download \(task.id) --user \(task.userID) --index N -o FILE")
    } else if !task.outputURL.isEmpty {
      lines.append("  output     \(task.outputContentType) — easel download \(task.id) --user \(task.userID) -o FILE")
    }
    if !task.batchID.isEmpty { lines.append("  batch      \(task.batchID)") }
    if !task.errorCode.isEmpty || !task.errorMessage.isEmpty {
      lines.append("  error      \(task.errorCode): \(task.errorMessage)")
    }
    if let kept = retention(task) { lines.append("  artifacts  \(kept)") }
    return lines.joined(separator: "\n")
  }

  static func batch(_ batch: Easel_V1_Batch) -> String {
    let summary = batch.summary
    let counts = [
      ("pending", summary.pending), ("processing", summary.processing), ("completed", summary.completed),
      ("failed", summary.failed), ("canceled", summary.canceled), ("expired", summary.expired),
    ].filter { $0.1 > 0 }.map { "\($0.1) \($0.0)" }
    return [
      "batch \(batch.id)  \(summary.total) tasks: \(counts.joined(separator: ", "))",
      "  user       \(batch.platform)/\(batch.userID)",
      "  credits    \(summary.creditsHeld) held, \(summary.creditsCaptured) captured",
      "  created    \(date(batch.createdAt))",
      "  tasks      easel list --user \(batch.userID) --batch \(batch.id)",
    ].joined(separator: "\n")
  }

  /// `deleted (retention ended)`, `pinned`, or `kept until …`.
  private static func retention(_ task: Easel_V1_Task) -> String? {
    if task.artifactsExpired { return "deleted (retention ended)" }
    if task.pinned { return "pinned (kept until unpinned)" }
    return task.hasExpiresAt ? "kept until \(date(task.expiresAt)) (easel pin keeps them)" : nil
  }

  /// How long the last run took: the generation time of a completed task, the time from start to
  /// end of one that failed or was canceled while running, nothing for one that never started.
  private static func ranFor(_ task: Easel_V1_Task) -> String {
    if task.status == .completed { return " (\(task.processingTimeMs) ms processing)" }
    guard task.hasStartedAt else { return "" }
    let milliseconds = Int((task.finishedAt.date.timeIntervalSince(task.startedAt.date) * 1000).rounded())
    return " (after \(max(milliseconds, 0)) ms processing)"
  }

  /// `3 ahead, likely to start 14:02:11`.
  static func queue(_ position: Int32, _ start: Google_Protobuf_Timestamp?) -> String {
    let ahead = position == 0 ? "next" : "\(position) ahead"
    return ahead + (start.map { ", likely to start \(date($0))" } ?? "")
  }

  static func quote(_ quote: Easel_V1_QuoteTaskResponse) -> String {
    let cover = quote.covered ? "covered" : "NOT covered"
    return "\(quote.creditCost) credits (\(quote.available) available: \(cover)); queue: "
      + queue(quote.queuePosition, quote.hasEstimatedStartAt ? quote.estimatedStartAt : nil)
  }

  static func update(_ update: Easel_V1_TaskUpdate) -> String {
    let task = update.task
    var line = "[\(update.sequence)] \(task.id) \(status(task.status)) \(Int((task.progress * 100).rounded()))%"
    if task.status == .pending { line += " (" + queue(task.queuePosition, task.hasEstimatedStartAt ? task.estimatedStartAt : nil) + ")" }
    if !task.errorMessage.isEmpty { line += " — \(task.errorCode): \(task.errorMessage)" }
    return line
  }

  static func isTerminal(_ status: Easel_V1_TaskStatus) -> Bool {
    [.completed, .failed, .canceled, .expired].contains(status)
  }

  /// `[██████░░░░░░░░░░░░░░]  30% PROCESSING 3f2c…` for terminals.
  static func progressBar(_ update: Easel_V1_TaskUpdate) -> String {
    let task = update.task
    let width = 20
    let filled = Int((Double(task.progress) * Double(width)).rounded())
    let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
    let percent = String(Int((task.progress * 100).rounded())).leftPadded(3)
    var line = "[\(bar)] \(percent)% \(status(task.status)) \(task.id)"
    if task.status == .pending { line += " (" + queue(task.queuePosition, task.hasEstimatedStartAt ? task.estimatedStartAt : nil) + ")" }
    if !task.errorMessage.isEmpty { line += " — \(task.errorMessage)" }
    return line
  }

  static func list(_ response: Easel_V1_ListTasksResponse) -> String {
    let shown = response.page == 0 ? "\(response.tasks.count) tasks" : "page \(response.page) of \(max(response.totalPages, 1))"
    var lines = ["\(shown) (\(response.total) tasks in all)"]
    let codes = column(response.tasks.map(\.template.code))
    for task in response.tasks {
      lines.append(
        "\(task.id)  \(status(task.status).padding(toLength: 10, withPad: " ", startingAt: 0))  "
          + "\(codes(task.template.code))  \(date(task.createdAt))  \(task.prompt.prefix(40))")
    }
    if !response.nextPageToken.isEmpty { lines.append("next page: --page-token \(response.nextPageToken)") }
    return lines.joined(separator: "\n")
  }

  static func templates(_ templates: [Easel_V1_Template]) -> String {
    let codes = column(templates.map(\.code))
    return templates.map { "\(codes($0.code)) v\($0.version)  \($0.creditCost) credits  \($0.name) (\($0.category))" }
      .joined(separator: "\n")
  }

  /// Pads a column's values to its longest one (never cuts a value short).
  private static func column(_ values: [String]) -> (String) -> String {
    let width = values.map(\.count).max() ?? 0
    return { $0.padding(toLength: max(width, $0.count), withPad: " ", startingAt: 0) }
  }

  static func template(_ template: Easel_V1_Template) -> String {
    var lines = [
      "\(template.code) v\(template.version) — \(template.name) (\(template.category))",
      "  \(template.description_p)",
      "  kind \(template.type == .video ? "video" : "image"), \(template.creditCost) credits, backend \(template.backend), input image \(template.requiresInputImage ? "required" : template.acceptsInputImage ? "optional" : "none")",
      "  parameters:",
    ]
    for spec in template.parameters {
      var rules: [String] = [spec.type + (spec.required ? ", required" : "")]
      if !spec.defaultValue.isEmpty { rules.append("default \(spec.defaultValue)") }
      if spec.hasMinimum || spec.hasMaximum {
        rules.append("\(spec.hasMinimum ? number(spec.minimum) : "…")..\(spec.hasMaximum ? number(spec.maximum) : "…")")
      }
      if !spec.allowedValues.isEmpty { rules.append(spec.allowedValues.joined(separator: "|")) }
      lines.append("    \(spec.name) (\(rules.joined(separator: ", "))) — \(spec.description_p)")
    }
    return lines.joined(separator: "\n")
  }

  static func balance(_ balance: Easel_V1_Balance) -> String {
    "\(balance.platform)/\(balance.userID): balance \(balance.balance), held \(balance.held), available \(balance.available)"
  }

  static func ledger(_ response: Easel_V1_ListLedgerResponse) -> String {
    var lines = ["page \(response.page) of \(max(response.totalPages, 1)) (\(response.total) entries)"]
    for entry in response.entries {
      let task = entry.taskID.isEmpty ? "" : "  task \(entry.taskID)"
      lines.append(
        "\(date(entry.createdAt))  \(entry.kind.padding(toLength: 7, withPad: " ", startingAt: 0)) \(String(entry.amount).padding(toLength: 6, withPad: " ", startingAt: 0)) balance \(entry.balanceAfter)  \(entry.reason)\(task)"
      )
    }
    return lines.joined(separator: "\n")
  }

  /// One line a server: `automatic1111  http://gpu1:7860  healthy  1/1 busy  …`.
  static func backends(_ backends: [Easel_V1_Backend]) -> String {
    backends.map { backend in
      let header = backend.name + (backend.degraded ? "  DEGRADED: no server in rotation" : "")
      return ([header] + backend.endpoints.map { "  " + endpoint($0) }).joined(separator: "\n")
    }.joined(separator: "\n")
  }

  static func endpoint(_ endpoint: Easel_V1_Endpoint) -> String {
    let labels = endpoint.labels.isEmpty ? "" : "  labels \(endpoint.labels.joined(separator: ","))"
    return "\(endpoint.url)  \(endpoint.state)  \(endpoint.busy)/\(endpoint.capacity) busy  queue wait \(endpoint.queueWaitMs) ms  "
      + "errors \(Int((endpoint.errorRate * 100).rounded()))% of \(endpoint.jobs) jobs\(labels)"
  }

  private static func number(_ value: Double) -> String {
    value.rounded() == value ? String(Int64(value)) : String(value)
  }

  private static func date(_ timestamp: Google_Protobuf_Timestamp) -> String {
    timestamp.date.formatted(.iso8601)
  }
}

extension String {
  fileprivate func leftPadded(_ length: Int) -> String {
    String(repeating: " ", count: max(0, length - count)) + self
  }
}
