import Foundation
import Logging

/// One JSON object per log line on stderr (`EASEL_LOG_FORMAT=json`), for log collectors.
struct JSONLogHandler: LogHandler {
  let label: String
  var logLevel: Logger.Level = .info
  var metadata: Logger.Metadata = [:]
  /// Adds the current span's trace and span ids, when traces are on.
  var metadataProvider: Logger.MetadataProvider?

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    let provided = metadataProvider?.get() ?? [:]
    var fields = provided.merging(metadata) { $1 }.merging(event.metadata ?? [:]) { $1 }.mapValues { "\($0)" }
    fields["timestamp"] = Date().formatted(.iso8601)
    fields["level"] = event.level.rawValue
    fields["label"] = label
    fields["source"] = event.source
    fields["message"] = event.message.description
    if let error = event.error { fields["error"] = "\(error)" }
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    guard var data = try? encoder.encode(fields) else { return }
    data.append(0x0A)
    FileHandle.standardError.write(data)
  }
}
