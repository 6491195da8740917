import ArgumentParser
import Foundation

/// Defaults for daily use from `~/.config/easel/config.toml` (or `$XDG_CONFIG_HOME/easel/config.toml`,
/// or the file `EASEL_CLI_CONFIG` names). Flags win over environment variables, which win over the file.
/// The CLI has its own variable: `EASEL_CONFIG` names easeld's YAML file, a different format.
///
///     server = "unix:/srv/easel/easel.sock"
///     token = "…"
///     platform = "web"
///     user = "alice"
///
/// Only flat `key = "value"` lines and `#` comments are read: that is all these settings need.
struct ConfigFile {
  static let keys: Set<String> = ["server", "token", "platform", "user", "tls", "ca_cert"]

  let values: [String: String]

  static let current: ConfigFile = {
    guard let url = location, let text = try? String(contentsOf: url, encoding: .utf8) else { return ConfigFile(values: [:]) }
    do {
      return try ConfigFile(parsing: text)
    } catch {
      printError("ignoring \(url.path): \(error)")
      return ConfigFile(values: [:])
    }
  }()

  static var location: URL? {
    if let path = environment("EASEL_CLI_CONFIG") { return URL(fileURLWithPath: path) }
    if let base = environment("XDG_CONFIG_HOME") { return URL(fileURLWithPath: base).appendingPathComponent("easel/config.toml") }
    guard let home = environment("HOME") else { return nil }
    return URL(fileURLWithPath: home).appendingPathComponent(".config/easel/config.toml")
  }

  init(values: [String: String]) {
    self.values = values
  }

  init(parsing text: String) throws {
    var values: [String: String] = [:]
    for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = rawLine.trimmingCharacters(in: .whitespaces)
      if line.isEmpty || line.hasPrefix("#") { continue }
      guard let equals = line.firstIndex(of: "=") else { throw ValidationError("line \(number + 1): expected key = \"value\"") }
      let key = line[..<equals].trimmingCharacters(in: .whitespaces)
      var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
      guard Self.keys.contains(key) else {
        throw ValidationError("line \(number + 1): unknown key \(key); known: \(Self.keys.sorted().joined(separator: ", "))")
      }
      guard value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") else {
        throw ValidationError("line \(number + 1): the value of \(key) must be a quoted string")
      }
      value = String(value.dropFirst().dropLast())
      values[key] = value
    }
    self.values = values
  }

  subscript(key: String) -> String? { values[key] }
}

/// A setting from its flag, else its environment variable, else the config file.
func setting(_ flag: String?, env: String, file key: String) -> String? {
  flag ?? environment(env) ?? ConfigFile.current[key]
}
