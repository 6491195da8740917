import Foundation

/// The name this node's workers put on their leases: made once and kept in the data folder, so
/// a restarted node recognises the tasks it was running when it stopped (the folder's lock means
/// no other live process can hold that name).
enum NodeIdentity {
  static func load(dataDirectory: URL) throws -> String {
    let file = dataDirectory.appendingPathComponent("node-id")
    if let text = try? String(contentsOf: file, encoding: .utf8) {
      let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
      if !id.isEmpty { return id }
    }
    let id = "node-" + UUID().uuidString.lowercased()
    try Data((id + "\n").utf8).write(to: file, options: .atomic)
    return id
  }
}
