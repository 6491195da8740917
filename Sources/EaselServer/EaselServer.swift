import EaselArtifacts
import EaselCore
import EaselImaging
import EaselModels
import EaselRPC
import EaselSQLite
import EaselTemplates
import Foundation
import GRPCCore
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// A whole Easel server: store, workers and both gRPC listeners in one `ServiceGroup`,
/// started in that order and stopped in reverse.
public final class EaselServer: Sendable {
  /// Where a running server can be reached.
  public struct Endpoints: Sendable {
    public var unixSocketPath: String
    public var tcp: ServerConfiguration.TCPAddress?
    /// The Prometheus endpoint (`http://HOST:PORT/metrics`), when turned on.
    public var metrics: ServerConfiguration.TCPAddress?
    /// The operator console (`http://HOST:PORT/`), when turned on.
    public var console: ServerConfiguration.TCPAddress?

    public init(
      unixSocketPath: String, tcp: ServerConfiguration.TCPAddress? = nil, metrics: ServerConfiguration.TCPAddress? = nil,
      console: ServerConfiguration.TCPAddress? = nil
    ) {
      self.unixSocketPath = unixSocketPath
      self.tcp = tcp
      self.metrics = metrics
      self.console = console
    }
  }

  /// The model backends every server has; templates may name these (or ones passed to `init`).
  /// `default-image` and `default-video` are what the built-in templates use: the configured
  /// model API for that kind, else `procedural`.
  public static let builtinBackends: Set<String> = ["procedural", "default-image", "default-video"]

  /// The backend names templates may use with this configuration.
  public static func backendNames(for configuration: ServerConfiguration) -> Set<String> {
    var names = builtinBackends
    if configuration.automatic1111 != nil { names.insert("automatic1111") }
    if configuration.comfyUI != nil { names.insert("comfyui") }
    if configuration.asyncVideo != nil { names.insert("async-video") }
    if configuration.openAIImages != nil { names.insert("openai-images") }
    return names
  }

  /// The backends a configuration makes available, by the names templates use.
  static func backends(for configuration: ServerConfiguration, imaging: VipsImageProcessor) -> [String: any ModelBackend] {
    let procedural = ProceduralBackend(imaging: imaging, blocking: ThreadPools.imaging, delay: configuration.proceduralDelay)
    var backends: [String: any ModelBackend] = ["procedural": procedural]
    if let settings = configuration.automatic1111 { backends["automatic1111"] = Automatic1111Backend(settings: settings) }
    if let settings = configuration.comfyUI { backends["comfyui"] = ComfyUIBackend(settings: settings) }
    if let settings = configuration.asyncVideo { backends["async-video"] = AsyncVideoBackend(settings: settings) }
    if let settings = configuration.openAIImages { backends["openai-images"] = OpenAIImagesBackend(settings: settings) }
    backends["default-image"] = backends["automatic1111"] ?? backends["openai-images"] ?? procedural
    backends["default-video"] = backends["async-video"] ?? procedural
    return backends
  }

  public let configuration: ServerConfiguration
  private let group: ServiceGroup
  private let lock: DataDirectoryLock
  private let readiness: Readiness
  private let logger: Logger
  private let shutdownSignals: [UnixSignal]

  /// Opens the data folder (locking it against a second server) and assembles the services;
  /// `run()` connects and migrates the database, hands tasks interrupted by a stop back to the
  /// queue, loads the templates, then serves. `backends` add to or replace the built-in ones.
  public init(
    configuration: ServerConfiguration, logger: Logger, backends extraBackends: [String: any ModelBackend] = [:],
    shutdownSignals: [UnixSignal] = []
  ) async throws {
    self.configuration = configuration
    self.logger = logger
    if configuration.databaseURL != nil, configuration.s3 == nil {
      logger.warning(
        """
        artifacts are kept on this node's disk while the database is shared: other nodes cannot serve them \
        (FetchArtifact answers FAILED_PRECONDITION there); set AWS_S3_BUCKET, AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID \
        and AWS_SECRET_ACCESS_KEY for artifact storage every node shares
        """)
    }
    self.shutdownSignals = shutdownSignals
    try FileManager.default.createDirectory(
      at: configuration.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    lock = try DataDirectoryLock(directory: configuration.dataDirectory)

    let serving = ServingState()
    let readiness = Readiness(
      expected: Self.addresses(configuration).count + (configuration.metrics == nil ? 0 : 1)
        + (configuration.console == nil || !configuration.servesAPI ? 0 : 1), serving: serving)
    self.readiness = readiness
    let updates = TaskUpdateHub()
    let running = RunningTasks()
    let webhookSignal = WakeSignal()
    let workerSignal = WakeSignal()
    let opened: OpenStore
    do {
      opened = try configuration.storeLocation.open(
        logger: logger,
        onChange: { change in
          updates.publish(change)  // asks for the task only if a stream here follows it
          if change.status == .pending {
            workerSignal.wake()  // created or requeued, maybe on another node
          } else if let task = change.task {  // (a pending task has no run to stop and causes no webhook event)
            running.observe(task)  // a cancel request, from this node or another, stops the run here
            let reportsProgress = task.status == .processing && !WebhookEvent.progressEvents(of: task, newPreview: true).isEmpty
            if reportsProgress || WebhookEvent.caused(by: task) != nil { webhookSignal.wake() }
          }
        },
        onCommit: { task in TaskLog.record(task, logger: logger) },
        onMissedChanges: { updates.finishAll(throwing: .missedTrimmedChanges) },
        wantsTask: { change in change.status != .pending || updates.follows(change) })
      group = try Self.services(
        configuration: configuration, store: opened, updates: updates, running: running, workerSignal: workerSignal,
        webhookSignal: webhookSignal, logger: logger, backends: extraBackends, readiness: readiness, serving: serving)
    } catch {
      lock.release()
      throw error
    }
  }

  /// Where the server listens: always its Unix socket (which a workers-only node keeps for the
  /// health service), and TCP when configured and serving the API.
  static func addresses(_ configuration: ServerConfiguration) -> [GRPCListener.Address] {
    var addresses: [GRPCListener.Address] = [.unix(path: configuration.unixSocketPath)]
    if let tcp = configuration.tcp, configuration.servesAPI { addresses.append(.tcp(tcp)) }
    return addresses
  }

  /// Serves until a shutdown signal, `shutdown()`, or cancellation.
  public func run() async throws {
    defer {
      readiness.finish()
      lock.release()
    }
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await self.group.run() }
      if !shutdownSignals.isEmpty {
        tasks.addTask { await self.shutdownOnSignal() }
      }
      try await tasks.next()  // the services ended
      tasks.cancelAll()
    }
  }

  /// Starts a graceful shutdown at the first shutdown signal, saying so in the log.
  private func shutdownOnSignal() async {
    var first = true
    for await signal in await UnixSignalsSequence(trapping: shutdownSignals) {
      if first {
        logger.notice("shutting down gracefully", metadata: ["reason": "signal \(signal)"])
        await group.triggerGracefulShutdown()
      } else {
        logger.notice("already shutting down", metadata: ["reason": "signal \(signal)"])
      }
      first = false
    }
  }

  /// Waits until every listener is bound; nil if the server stopped first.
  public func ready() async -> Endpoints? {
    await readiness.endpoints()
  }

  /// Starts a graceful shutdown: stop accepting calls, finish running ones and running tasks.
  public func shutdown() async {
    logger.notice("shutting down gracefully", metadata: ["reason": "requested"])
    await group.triggerGracefulShutdown()
  }
}
