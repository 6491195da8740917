import ArgumentParser
import Foundation
import Yams

/// A YAML or JSON config file (JSON is YAML), read into settings by their environment names.
enum ConfigFile {
  static func load(path: String) throws -> [String: String] {
    let text: String
    do {
      text = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
      throw ValidationError("can't read config file \(path): \(error.localizedDescription)")
    }
    let document: Any?
    do {
      document = try Yams.load(yaml: text)
    } catch {
      throw ValidationError("config file \(path) is not valid YAML or JSON: \(error)")
    }
    guard let document else { return [:] }
    guard let table = document as? [String: Any] else {
      throw ValidationError("config file \(path) must be a mapping of setting names to values")
    }
    var values: [String: String] = [:]
    try flatten(table, prefix: "", into: &values, path: path)
    return values
  }

  private static func flatten(_ table: [String: Any], prefix: String, into values: inout [String: String], path: String)
    throws
  {
    for (key, value) in table {
      let fullKey = prefix.isEmpty ? key : "\(prefix)_\(key)"
      if let setting = Setting.named(fileKey: fullKey) {
        values[setting.name] = try text(of: value, key: fullKey, path: path)
      } else if let nested = value as? [String: Any] {
        try flatten(nested, prefix: fullKey, into: &values, path: path)
      } else {
        throw ValidationError("config file \(path): unknown setting \(fullKey)")
      }
    }
  }

  /// Scalars as written; a list as `a,b`; a mapping as `k=v,k=v` (EASEL_BACKEND_LIMITS); a list
  /// of mappings (a fleet's endpoints) as JSON.
  private static func text(of value: Any, key: String, path: String) throws -> String {
    switch value {
    case let list as [Any] where list.contains(where: { $0 is [String: Any] }):
      let data = try JSONSerialization.data(withJSONObject: list, options: [.sortedKeys, .withoutEscapingSlashes])
      return String(decoding: data, as: UTF8.self)
    case let list as [Any]: return try list.map { try text(of: $0, key: key, path: path) }.joined(separator: ",")
    case let table as [String: Any]:
      return try table.keys.sorted().map { "\($0)=\(try text(of: table[$0]!, key: key, path: path))" }.joined(separator: ",")
    case let string as String: return string
    case let bool as Bool: return bool ? "true" : "false"
    case let int as Int: return String(int)
    case let double as Double: return String(double)
    default: throw ValidationError("config file \(path): \(key) has a value of an unsupported kind")
    }
  }
}
