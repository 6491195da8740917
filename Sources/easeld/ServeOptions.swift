import ArgumentParser

/// The flags of `easeld serve` (also taken by `easeld config print`); each wins over its
/// environment variable, which wins over the config file.
struct ServeOptions: ParsableArguments {
  @Option(help: "Config file, YAML or JSON, keyed by the environment variable names (env EASEL_CONFIG).")
  var config: String?

  @Option(name: .customLong("data"), help: "Data folder (env EASEL_DATA_DIR, default ./easel-data).")
  var dataDirectory: String?

  @Option(help: "Unix socket path (env EASEL_UNIX_SOCKET, default DATA/easel.sock).")
  var unixSocket: String?

  @Option(help: "TCP HOST:PORT, or \"none\" (env EASEL_TCP, default 127.0.0.1:50051).")
  var tcp: String?

  @Option(help: "Concurrent generations (env EASEL_WORKERS, default 4; 0 runs no workers).")
  var workers: Int?

  @Flag(inversion: .prefixedNo, help: "Serve Easel's API; --no-api runs a workers-only node (env EASEL_API, default true).")
  var api: Bool?

  @Option(help: "Folder of template files adding to or replacing the built-in pack (env EASEL_TEMPLATES_DIR).")
  var templates: String?

  @Option(help: "Serve the operator console on HOST:PORT, e.g. 127.0.0.1:8080 (env EASEL_CONSOLE, default none).")
  var console: String?

  /// Flags, environment and config file, layered.
  func environment() throws -> Environment {
    let flags: [(String, String, String?)] = [
      ("EASEL_DATA_DIR", "--data", dataDirectory), ("EASEL_UNIX_SOCKET", "--unix-socket", unixSocket),
      ("EASEL_TCP", "--tcp", tcp), ("EASEL_WORKERS", "--workers", workers.map(String.init)),
      ("EASEL_TEMPLATES_DIR", "--templates", templates), ("EASEL_CONSOLE", "--console", console), ("EASEL_API", api == false ? "--no-api" : "--api", api.map(String.init)),
    ]
    var given: [String: (flag: String, value: String)] = [:]
    for (name, flag, value) in flags { if let value { given[name] = (flag, value) } }
    return try Environment.load(config: config, flags: given)
  }
}
