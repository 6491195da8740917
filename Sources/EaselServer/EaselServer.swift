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

    public init(unixSocketPath: String, tcp: ServerConfiguration.TCPAddress? = nil, metrics: ServerConfiguration.TCPAddress? = nil) {
      self.unixSocketPath = unixSocketPath
      self.tcp = tcp
      self.metrics = metrics
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
    if configuration.asyncVideo != nil { names.insert("async-video") }
    if configuration.openAIImages != nil { names.insert("openai-images") }
    return names
  }

  /// The backends a configuration makes available, by the names templates use.
  static func backends(for configuration: ServerConfiguration, imaging: VipsImageProcessor) -> [String: any ModelBackend] {
    let procedural = ProceduralBackend(imaging: imaging, blocking: ThreadPools.imaging, delay: configuration.proceduralDelay)
    var backends: [String: any ModelBackend] = ["procedural": procedural]
    if let settings = configuration.automatic1111 { backends["automatic1111"] = Automatic1111Backend(settings: settings) }
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
  private let store: OpenStore
  private let logger: Logger
  private let shutdownSignals: [UnixSignal]

  /// Opens the data folder (locking it against a second server), opens and migrates the database
  /// and hands tasks interrupted by a crash back to the queue. `backends` add to or replace the built-in ones.
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
      expected: Self.addresses(configuration).count + (configuration.metrics == nil ? 0 : 1), serving: serving)
    self.readiness = readiness
    let updates = TaskUpdateHub()
    let running = RunningTasks()
    let webhookSignal = WakeSignal()
    let workerSignal = WakeSignal()
    let opened: OpenStore
    do {
      opened = try await configuration.storeLocation.open(
        logger: logger,
        onChange: { task in
          updates.publish(task)
          running.observe(task)  // a cancel request, from this node or another, stops the run here
          if WebhookEvent.caused(by: task) != nil { webhookSignal.wake() }
          if task.status == .pending { workerSignal.wake() }  // created or requeued, maybe on another node
        },
        onCommit: { task in TaskLog.record(task, logger: logger) })
    } catch {
      lock.release()
      throw error
    }
    store = opened
    do {
      group = try await Self.services(
        configuration: configuration, store: opened, updates: updates, running: running, workerSignal: workerSignal,
        webhookSignal: webhookSignal, logger: logger, backends: extraBackends, readiness: readiness, serving: serving)
    } catch {
      opened.close()
      lock.release()
      throw error
    }
  }

  /// Everything the server runs, as one ServiceGroup.
  private static func services(
    configuration: ServerConfiguration, store opened: OpenStore, updates: TaskUpdateHub, running: RunningTasks,
    workerSignal: WakeSignal,
    webhookSignal: WakeSignal, logger: Logger, backends extraBackends: [String: any ModelBackend],
    readiness: Readiness, serving: ServingState
  ) async throws -> ServiceGroup {
    let store = opened.store
    let webhookPolicy = try WebhookTargetPolicy(allowed: configuration.webhooks.allowedHosts)
    var settings = configuration.workerSettings
    settings.owner = try NodeIdentity.load(dataDirectory: configuration.dataDirectory)
    // The data folder is locked, so every PROCESSING task of a private database, and every one
    // leased to this node in a shared one, was left by a process that is gone. Other nodes' tasks
    // are theirs until their leases expire.
    let abandoned: AbandonedTasks = opened.isShared ? .expired(before: Date(), orLeasedTo: settings.owner) : .all
    let rescued = try await store.rescueAbandonedTasks(abandoned, maxAttempts: settings.maxAttempts, now: Date())
    if !rescued.isEmpty { logger.notice("requeued tasks interrupted by the last stop", metadata: ["count": "\(rescued.count)"]) }

    let imaging = try VipsImageProcessor(limits: configuration.imaging)
    let artifacts = try configuration.artifactStore()
    let metrics = EaselMetrics()
    let backends = Self.backends(for: configuration, imaging: imaging).merging(extraBackends) { _, extra in extra }
      .reduce(into: [String: any ModelBackend]()) { metered, entry in
        metered[entry.key] = MeteredBackend(name: entry.key, backend: entry.value, metrics: metrics)
      }
    let runner = TaskRunner(
      store: store, backends: backends, imaging: imaging, video: FFmpeg(), artifacts: artifacts, running: running,
      settings: settings, blocking: ThreadPools.imaging, logger: logger)
    let pool = WorkerPool(
      size: configuration.workers, store: store, runner: runner, settings: settings, logger: logger, signal: workerSignal)

    let catalog = TemplateCatalog([], store: store)
    let reloader = TemplateReloader(
      loader: TemplateLoader(knownBackends: Set(backends.keys)), directory: configuration.templatesDirectory,
      catalog: catalog, logger: logger)
    try await reloader.loadAtStart()
    let manager = TaskManager(
      store: store, templates: catalog, pricing: configuration.pricing, imaging: imaging, artifacts: artifacts,
      updates: updates, limits: configuration.limits, webhookGuard: webhookPolicy, blocking: ThreadPools.imaging,
      logger: logger)
    let webhooks = WebhookDispatcher(
      store: store, policy: webhookPolicy, settings: configuration.webhooks, wakes: webhookSignal.wakes,
      links: { artifacts.downloadURL(key: $0) }, logger: logger)

    let api: [any RegistrableRPCService] = [
      TaskServiceHandler(manager: manager, logger: logger),
      TemplateServiceHandler(
        templates: catalog, pricing: configuration.pricing, reload: { try await reloader.reload() }, logger: logger),
      CreditServiceHandler(manager: manager, logger: logger),
    ]
    let services: [any RegistrableRPCService] = (configuration.servesAPI ? api : []) + [
      HealthServiceHandler(state: serving, probe: StorageProbe(interval: .seconds(1)) {
        do {
          try await store.ping()
          try await artifacts.checkWritable()
          return true
        } catch {
          logger.warning("health check failed", metadata: ["error": "\(error)"])
          return false
        }
      }.check),
      ReflectionServiceHandler(),
      ReflectionV1AlphaServiceHandler(),
    ]
    let addresses = Self.addresses(configuration)
    // TCP callers need an API key for Easel's services; health and reflection stay open, and the
    // Unix socket is trusted through its file permissions.
    let keyCheck = ConditionalInterceptor<any ServerInterceptor>.apply(
      APIKeyAuthenticator(store: store, cacheDuration: configuration.apiKeyCacheDuration),
      to: .services([
        Easel_V1_TaskService.descriptor, Easel_V1_TemplateService.descriptor, Easel_V1_CreditService.descriptor,
      ]))
    let measure = ConditionalInterceptor<any ServerInterceptor>.apply(CallObserver(metrics: metrics, logger: logger), to: .all)
    let listeners = addresses.map { address in
      let interceptors = if case .tcp = address { [measure, keyCheck] } else { [measure] }
      return GRPCListener(
        address: address, tls: configuration.tls, socketGroup: configuration.unixSocketGroup,
        maxStreamsPerConnection: configuration.maxStreamsPerConnection, services: services,
        interceptors: interceptors, logger: logger, onListening: readiness.listening)
    }
    var lifecycle: [ServiceGroupConfiguration.ServiceConfiguration] = [
      .init(service: webhooks), .init(service: pool), .init(service: reloader),
    ]
    if let address = configuration.metrics {
      lifecycle.append(.init(service: MetricsEndpoint(address: address, logger: logger, onListening: readiness.metricsListening) {
        metrics.refresh(
          statistics: try? await store.statistics(), busyWorkers: pool.busyWorkers, workers: configuration.workers,
          subscribers: updates.subscriberCount)
        return metrics.registry.emitToBuffer()
      }))
    }
    var groupConfiguration = ServiceGroupConfiguration(
      services: lifecycle + listeners.map { .init(service: $0) }
        + [.init(service: StreamDrainer(updates: updates, serving: serving))],
      logger: logger)
    // A drain that takes too long (a 10-minute video, a stuck call) is cut short: running tasks
    // are canceled, stay PROCESSING and are requeued at the next start, so nothing is lost.
    groupConfiguration.maximumGracefulShutdownDuration = configuration.drainTimeout
    groupConfiguration.maximumCancellationDuration = .seconds(5)
    return ServiceGroup(configuration: groupConfiguration)
  }

  /// Where the server listens: always its Unix socket (which a workers-only node keeps for the
  /// health service), and TCP when configured and serving the API.
  private static func addresses(_ configuration: ServerConfiguration) -> [GRPCListener.Address] {
    var addresses: [GRPCListener.Address] = [.unix(path: configuration.unixSocketPath)]
    if let tcp = configuration.tcp, configuration.servesAPI { addresses.append(.tcp(tcp)) }
    return addresses
  }

  /// Serves until a shutdown signal, `shutdown()`, or cancellation.
  public func run() async throws {
    defer {
      readiness.finish()
      store.close()
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
