import Foundation
import SwiftProtobuf

/// `--json` output with every field. Proto3 JSON leaves out fields that hold their zero value (so
/// `held: 0` vanished from `credits balance --json`), and swift-protobuf has no option to keep
/// them; scripts want a stable shape. This adds each missing field with its zero value, learning
/// the fields and their types from the generated message itself (Mirror).
enum FullJSON {
  static func string(_ message: some SwiftProtobuf.Message) throws -> String {
    let object = try JSONSerialization.jsonObject(with: try message.jsonUTF8Data())
    let full = fill(object, from: message)
    let data = try JSONSerialization.data(withJSONObject: full, options: [.sortedKeys, .withoutEscapingSlashes])
    return String(decoding: data, as: UTF8.self)
  }

  private static func fill(_ json: Any, from value: Any) -> Any {
    // Well-known types (Struct, Timestamp) have JSON forms of their own: left as they are.
    guard var object = json as? [String: Any], value is any SwiftProtobuf.Message,
      !String(describing: type(of: value)).hasPrefix("Google_Protobuf_")
    else { return json }
    for (name, field) in fields(of: value) {
      if let present = object[name] {
        object[name] = nested(present, field)
      } else {
        object[name] = zero(of: field)
      }
    }
    return object
  }

  private static func nested(_ json: Any, _ value: Any) -> Any {
    if let array = json as? [Any], let values = value as? [Any] { return zip(array, values).map { fill($0, from: $1) } }
    let mirror = Mirror(reflecting: value)
    let unwrapped = mirror.displayStyle == .optional ? mirror.children.first?.value ?? value : value
    return fill(json, from: unwrapped)
  }

  /// Each field's JSON name and value: the message's stored properties, or its heap storage's.
  private static func fields(of message: Any) -> [(String, Any)] {
    var mirror = Mirror(reflecting: message)
    if let storage = mirror.children.first(where: { $0.label == "_storage" }) { mirror = Mirror(reflecting: storage.value) }
    return mirror.children.compactMap { child in
      guard var name = child.label, name != "unknownFields", name != "_storage" else { return nil }
      if name.hasPrefix("_") { name.removeFirst() }
      if name.hasSuffix("_p") { name.removeLast(2) }  // `description_p` is the field `description`
      return (jsonName(swiftName: name), child.value)
    }
  }

  /// Swift names spell some words in capitals (`userID`, `outputURL`); JSON names do not (`userId`).
  private static func jsonName(swiftName: String) -> String {
    let characters = Array(swiftName)
    var name = ""
    for (index, character) in characters.enumerated() {
      let previousIsUpper = index > 0 && characters[index - 1].isUppercase
      let nextIsLower = index + 1 < characters.count && characters[index + 1].isLowercase
      name.append(character.isUppercase && previousIsUpper && !nextIsLower ? Character(character.lowercased()) : character)
    }
    return name
  }

  /// How proto3 JSON writes the zero value of a field of this type.
  private static func zero(of value: Any) -> Any {
    switch value {
    case is String: ""
    case is Int64, is UInt64: "0"
    case is Int32, is UInt32, is Float, is Double: 0
    case is Bool: false
    case is Data: ""
    case is [Any]: [Any]()
    case let value as any SwiftProtobuf.Enum: unspecifiedName(of: type(of: value))
    default: NSNull()  // an unset message or optional field
    }
  }

  /// `Easel_V1_TaskStatus` → `TASK_STATUS_UNSPECIFIED`: value 0 of every Easel enum, by the proto style guide.
  private static func unspecifiedName(of type: Any.Type) -> String {
    let name = String(describing: type).split(separator: "_").last.map(String.init) ?? ""
    var snake = ""
    for character in name {
      if character.isUppercase, !snake.isEmpty { snake.append("_") }
      snake.append(character.uppercased())
    }
    return snake + "_UNSPECIFIED"
  }
}
