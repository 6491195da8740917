import EaselCore
import Foundation
import SwiftProtobuf

/// The body of a webhook POST, in the Standard Webhooks shape:
/// `{"type": "task.completed", "timestamp": "…", "data": <the Task message in protobuf JSON>}`.
public enum WebhookPayload {
  public static func body(for delivery: WebhookDelivery, links: (_ key: String) -> String?) throws -> [UInt8] {
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = true
    let task = try Easel_V1_Task(delivery.task, links: links).jsonString(options: options)
    let timestamp = ISO8601DateFormatter().string(from: delivery.task.updatedAt)
    return Array(#"{"type":"\#(delivery.event.rawValue)","timestamp":"\#(timestamp)","data":\#(task)}"#.utf8)
  }
}
