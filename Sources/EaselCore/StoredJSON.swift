import Foundation

/// JSON as the stores keep it: parameters, snapshots, template definitions. Keys are sorted, so
/// equal values are equal text (a template version is compared by its text).
public enum StoredJSON {
  private static let encoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return encoder
  }()

  public static func string(_ value: some Encodable) throws -> String {
    String(decoding: try encoder.encode(value), as: UTF8.self)
  }

  public static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
    try JSONDecoder().decode(type, from: Data(text.utf8))
  }

  /// A task's outputs as a store keeps them: nil for one or none, which the output and thumbnail
  /// columns hold alone.
  public static func outputs(_ outputs: [TaskOutput]) throws -> String? {
    outputs.count > 1 ? try string(outputs) : nil
  }

  /// The outputs of a stored task row: the `outputs` column, else its single output.
  public static func outputs(_ text: String?, first output: Artifact?, thumbnail: Artifact?) throws -> [TaskOutput] {
    if let text { return try decode([TaskOutput].self, text) }
    guard let output, let thumbnail else { return [] }
    return [TaskOutput(output: output, thumbnail: thumbnail)]
  }
}
