import EaselCore
import Foundation
import NIOCore
import WSClient

/// What ComfyUI's websocket (`/ws?clientId=…`) says about a prompt. JSON messages are
/// `{"type": …, "data": {…}}`; binary ones start with a 4-byte big-endian event type, and type 1
/// (PREVIEW_IMAGE) carries a 4-byte image format and then the picture (ComfyUI's server.py).
enum ComfyUIEvent: Equatable {
  case progress(value: Double, max: Double, promptID: String?)
  /// `node` nil: the prompt is done (what servers without `execution_success` send last).
  case executing(node: String?, promptID: String?)
  case success(promptID: String?)
  case error(promptID: String?, node: String, nodeType: String, message: String)
  case interrupted(promptID: String?)
  case preview([UInt8])

  static let previewImage: UInt32 = 1

  init?(_ message: WebSocketMessage) {
    switch message {
    case .binary(var buffer):
      guard let type = buffer.readInteger(as: UInt32.self), type == Self.previewImage,
        buffer.readInteger(as: UInt32.self) != nil, let image = buffer.readBytes(length: buffer.readableBytes)
      else { return nil }
      self = .preview(image)
    case .text(let text):
      guard let message = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { return nil }
      self.init(type: message["type"]?.stringValue ?? "", data: message["data"] ?? .null)
    }
  }

  /// A JSON message, or an entry of a history's `status.messages` (`[type, data]`).
  init?(type: String, data: JSONValue) {
    let promptID = data["prompt_id"]?.stringValue
    switch type {
    case "progress":
      guard let value = data["value"]?.doubleValue, let max = data["max"]?.doubleValue, max > 0 else { return nil }
      self = .progress(value: value, max: max, promptID: promptID)
    case "executing":
      self = .executing(node: data["node"]?.stringValue, promptID: promptID)
    case "execution_success":
      self = .success(promptID: promptID)
    case "execution_error":
      self = .error(
        promptID: promptID, node: data["node_id"]?.stringValue ?? "?", nodeType: data["node_type"]?.stringValue ?? "?",
        message: data["exception_message"]?.stringValue ?? "no message")
    case "execution_interrupted":
      self = .interrupted(promptID: promptID)
    default:
      return nil
    }
  }

  /// Whether the event is about `promptID` (binary previews go only to the running prompt's client).
  func concerns(_ promptID: String) -> Bool {
    switch self {
    case .progress(_, _, let id), .executing(_, let id), .success(let id), .error(let id, _, _, _), .interrupted(let id):
      id == nil || id == promptID
    case .preview:
      true
    }
  }
}
