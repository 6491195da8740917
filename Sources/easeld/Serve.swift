import ArgumentParser
import EaselCore
import EaselServer
import Foundation
import Logging

struct Serve: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Serve gRPC on a Unix socket and on TCP, and run the worker pool.",
    discussion: """
      Each option falls back to its environment variable, then to its default.
      Pricing: DEFAULT_IMAGE_CREDIT_COST (10), DEFAULT_VIDEO_CREDIT_COST (50), HIGH_QUALITY_MULTIPLIER (1.5).
      EASEL_PROCEDURAL_DELAY_MS (0) slows the offline backend down, for tests and benchmarks.
      EASEL_LOG_LEVEL: trace, debug, info (default), notice, warning, error. EASEL_LOG_FORMAT=json: one JSON object a line.
      SIGHUP reloads the template files; SIGINT and SIGTERM shut down gracefully.
      """)

  @Option(name: .customLong("data"), help: "Data folder (env EASEL_DATA_DIR, default ./easel-data).")
  var dataDirectory: String?

  @Option(help: "Unix socket path (env EASEL_UNIX_SOCKET, default DATA/easel.sock).")
  var unixSocket: String?

  @Option(help: "TCP HOST:PORT, or \"none\" (env EASEL_TCP, default 127.0.0.1:50051).")
  var tcp: String?

  @Option(help: "Concurrent generations (env EASEL_WORKERS, default 4; 0 runs no workers).")
  var workers: Int?

  @Option(help: "Folder of template files adding to or replacing the built-in pack (env EASEL_TEMPLATES_DIR).")
  var templates: String?

  func run() async throws {
    let environment = Environment(ProcessInfo.processInfo.environment)
    let level = Logger.Level(rawValue: environment["EASEL_LOG_LEVEL"] ?? "info") ?? .info
    let json = environment["EASEL_LOG_FORMAT"] == "json"
    LoggingSystem.bootstrap { label in
      if json { return JSONLogHandler(label: label, logLevel: level) }
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = level
      return handler
    }
    let logger = Logger(label: "easeld")
    let configuration = try environment.serverConfiguration(
      dataDirectory: dataDirectory, unixSocket: unixSocket, tcp: tcp, workers: workers, templates: templates)
    do {
      let server = try await EaselServer(
        configuration: configuration, logger: logger, shutdownSignals: [.sigterm, .sigint])
      try await withThrowingDiscardingTaskGroup { group in
        group.addTask { try await server.run() }
        if let endpoints = await server.ready() {
          let tcp = endpoints.tcp.map { " and tcp \($0)" } ?? ""
          let line = "easeld serving on unix:\(endpoints.unixSocketPath)\(tcp) with \(configuration.workers) workers\n"
          FileHandle.standardOutput.write(Data(line.utf8))  // unbuffered: scripts wait for this line
        }
      }
    } catch let error as EaselError {
      throw ValidationError(error.message)
    }
  }
}
