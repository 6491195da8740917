import EaselCore
import Logging

/// One log line per stored task change, with who it belongs to: creation and endings at info,
/// the steps between at debug. No prompt, parameters or image bytes.
enum TaskLog {
  static func record(_ task: GenerationTask, logger: Logger) {
    let level: Logger.Level = task.status.isTerminal || task.sequence == 1 ? .info : .debug
    guard logger.logLevel <= level else { return }  // runs on the store's writer: skip the work when unlogged
    var metadata: Logger.Metadata = [
      "task.id": "\(task.id)", "task.status": "\(task.status.rawValue)", "task.sequence": "\(task.sequence)",
      "platform": "\(task.account.platform)", "user": "\(task.account.userID)",
      "template": "\(task.template.code)@\(task.template.version)", "backend": "\(task.backend)",
    ]
    if task.attempts > 0 { metadata["task.attempt"] = "\(task.attempts)" }
    if !task.errorCode.isEmpty { metadata["error.code"] = "\(task.errorCode)" }
    if task.status == .completed { metadata["processing_ms"] = "\(task.processingTimeMs)" }
    logger.log(level: level, "task changed", metadata: metadata)
  }
}
