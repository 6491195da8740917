import ArgumentParser
import EaselCore
import EaselServer
import Foundation
import Logging

struct Serve: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Serve gRPC on a Unix socket and on TCP, and run the worker pool.",
    discussion: """
      Each option falls back to its environment variable, then to the config file, then to its default;
      `easeld config print` shows the result. Every setting is listed in the README.
      Pricing: DEFAULT_IMAGE_CREDIT_COST (10), DEFAULT_VIDEO_CREDIT_COST (50), HIGH_QUALITY_MULTIPLIER (1.5).
      EASEL_PROCEDURAL_DELAY_MS (0) slows the offline backend down, for tests and benchmarks.
      EASEL_LOG_LEVEL: trace, debug, info (default), notice, warning, error. EASEL_LOG_FORMAT=json: one JSON object a line.
      SIGHUP reloads the template files; SIGINT and SIGTERM shut down gracefully.
      Exit codes: 0 after a graceful shutdown, 1 when the server cannot start or fails, 64 for a command-line mistake.
      """)

  @OptionGroup var options: ServeOptions

  func run() async throws {
    var (logging, configuration) = try await reportingFailures {
      let environment = try options.environment()
      return (try environment.logging(), try environment.serverConfiguration())
    }
    // Before anything makes an HTTP client: each takes the tracer there is when it is made.
    let traced = Telemetry.tracesRequested(ProcessInfo.processInfo.environment)
    if traced { configuration.telemetry = try await reportingFailures { try Telemetry.bootstrapTracing() } }
    LoggingSystem.bootstrap(
      { label, metadataProvider in
        if logging.json { return JSONLogHandler(label: label, logLevel: logging.level, metadataProvider: metadataProvider) }
        var handler = StreamLogHandler.standardError(label: label, metadataProvider: metadataProvider)
        handler.logLevel = logging.level
        return handler
      }, metadataProvider: traced ? Telemetry.loggingMetadata : nil)
    let logger = Logger(label: "easeld")
    logger.info("opening the store", metadata: ["store": "\(configuration.storeLocation)"])
    try await reportingFailures {
      let server = try await EaselServer(
        configuration: configuration, logger: logger, shutdownSignals: [.sigterm, .sigint])
      try await withThrowingDiscardingTaskGroup { group in
        group.addTask { try await server.run() }
        if let endpoints = await server.ready() {
          let tcp = endpoints.tcp.map { " and tcp \($0)" } ?? ""
          let metrics =
            (endpoints.metrics.map { ", metrics on http://\($0)/metrics" } ?? "")
            + (endpoints.console.map { ", console on http://\($0)/" } ?? "")
          let api = configuration.servesAPI ? "" : " (health only: API off)"
          let line =
            "easeld serving on unix:\(endpoints.unixSocketPath)\(api)\(tcp) with \(configuration.workers) workers\(metrics)\n"
          FileHandle.standardOutput.write(Data(line.utf8))  // unbuffered: scripts wait for this line
        }
      }
    }
  }
}
