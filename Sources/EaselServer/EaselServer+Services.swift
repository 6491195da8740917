import EaselArtifacts
import EaselConsole
import EaselCore
import EaselImaging
import EaselModels
import EaselRPC
import EaselTemplates
import Foundation
import GRPCCore
import Logging
import ServiceLifecycle

extension EaselServer {
  /// Everything the server runs, as one ServiceGroup.
  static func services(
    configuration: ServerConfiguration, store opened: OpenStore, updates: TaskUpdateHub, running: RunningTasks,
    workerSignal: WakeSignal,
    webhookSignal: WakeSignal, logger: Logger, backends extraBackends: [String: any ModelBackend],
    readiness: Readiness, serving: ServingState
  ) throws -> ServiceGroup {
    let store = opened.store
    let webhookPolicy = try WebhookTargetPolicy(allowed: configuration.webhooks.allowedHosts)
    var settings = configuration.workerSettings
    settings.owner = try NodeIdentity.load(dataDirectory: configuration.dataDirectory)
    let imaging = try VipsImageProcessor(limits: configuration.imaging)
    let artifacts = try configuration.artifactStore()
    let metrics = EaselMetrics()
    let unmetered = Self.backends(for: configuration, imaging: imaging).merging(extraBackends) { _, extra in extra }
    let backends = unmetered.reduce(into: [String: any ModelBackend]()) { metered, entry in
      metered[entry.key] = MeteredBackend(name: entry.key, backend: entry.value, metrics: metrics)
    }
    let runner = TaskRunner(
      store: store, backends: backends, imaging: imaging, video: FFmpeg(), artifacts: artifacts, running: running,
      settings: settings, blocking: ThreadPools.imaging,
      outputScreen: configuration.moderation.map {
        OutputModeration(client: ModerationClient(settings: $0), metrics: metrics, logger: logger)
      }, logger: logger)
    let pauses = BackendPauses()
    let pool = WorkerPool(
      size: configuration.workers, store: store, runner: runner, backends: backends, settings: settings,
      scheduling: configuration.scheduling, pauses: pauses, logger: logger, signal: workerSignal)
    let fleetPools = unmetered.compactMapValues { ($0 as? any FleetBackend)?.pool }
    let pauseWatcher = PauseWatcher(store: store, pauses: pauses, pools: fleetPools, logger: logger) { workerSignal.wake() }

    let catalog = TemplateCatalog([], store: store)
    let reloader = TemplateReloader(
      loader: configuration.templateLoader(backends: Set(backends.keys)), directory: configuration.templatesDirectory,
      catalog: catalog, logger: logger)
    let promptPolicy = try PromptPolicy(
      files: configuration.promptBlocklists, moderation: configuration.moderation.map { ModerationClient(settings: $0) },
      metrics: metrics, logger: logger)
    let started = ReadySignal()
    let startUp = StartUp(store: opened, settings: settings, reloader: reloader, done: started, logger: logger)
    let manager = TaskManager(
      store: store, templates: catalog, pricing: configuration.pricing, imaging: imaging, artifacts: artifacts,
      updates: updates, limits: configuration.limits, webhookGuard: webhookPolicy, scheduling: configuration.scheduling,
      retention: configuration.retention, contentScreen: promptPolicy, blocking: ThreadPools.imaging, logger: logger)
    let webhooks = WebhookDispatcher(
      store: store, policy: webhookPolicy, settings: configuration.webhooks, wakes: webhookSignal.wakes,
      links: { artifacts.downloadURL(key: $0) }, logger: logger)

    let api: [any RegistrableRPCService] = [
      TaskServiceHandler(manager: manager, logger: logger),
      TemplateServiceHandler(
        templates: catalog, pricing: configuration.pricing, reload: { try await reloader.reload() }, logger: logger),
      CreditServiceHandler(manager: manager, logger: logger),
      BackendServiceHandler(backends: unmetered.mapValues { ($0 as? any FleetBackend)?.pool }, logger: logger),
      AdminServiceHandler(
        manager: manager, store: store, backends: unmetered.mapValues { ($0 as? any FleetBackend)?.pool },
        pausesChanged: { await pauseWatcher.refresh() }, logger: logger),
    ]
    let services: [any RegistrableRPCService] = (configuration.servesAPI ? api : []) + [
      HealthServiceHandler(
        state: serving,
        probe: StorageProbe(interval: .seconds(1)) {
        do {
          try await store.ping()
          try await artifacts.checkWritable()
          return true
        } catch {
          logger.warning("health check failed", metadata: ["error": "\(error)"])
          return false
        }
        }.check,
        backendInRotation: { name in
          guard let backend = unmetered[name] else { return nil }
          return (backend as? any FleetBackend)?.pool.hasServerInRotation ?? true
        }),
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
        Easel_V1_BackendService.descriptor, Easel_V1_AdminService.descriptor,
      ]))
    let measure = ConditionalInterceptor<any ServerInterceptor>.apply(CallObserver(metrics: metrics, logger: logger), to: .all)
    // Calls are spans only when traces are exported: otherwise the interceptor would be per-call work for nothing.
    let trace = configuration.telemetry.map { _ in ConditionalInterceptor<any ServerInterceptor>.apply(TracingInterceptor(), to: .all) }
    let listeners = addresses.map { address in
      let checked = if case .tcp = address { [measure, keyCheck] } else { [measure] }
      let interceptors = (trace.map { [$0] } ?? []) + checked
      return GRPCListener(
        address: address, tls: configuration.tls, socketGroup: configuration.unixSocketGroup,
        maxStreamsPerConnection: configuration.maxStreamsPerConnection, services: services,
        interceptors: interceptors, logger: logger, onListening: readiness.listening)
    }
    // The store first (so it stops last), then start-up; everything else waits for start-up.
    // Fleet backends (extra backends included) are probed; aliases share one fleet, probed once.
    let fleets = unmetered.values.compactMap { $0 as? any FleetBackend }
      .reduce(into: [String: any FleetBackend]()) { fleets, fleet in fleets[fleet.pool.backend] = fleet }
    let prober = FleetProber(fleets: Array(fleets.values), logger: logger, wake: { workerSignal.wake() })
    let sweeper = ArtifactSweeper(
      store: store, artifacts: artifacts, interval: configuration.retentionSweepInterval, logger: logger)
    let trimmer = UpdateLogTrimmer(log: store, retention: configuration.updateLogRetention, logger: logger)
    var gated: [any Service] = [webhooks, pauseWatcher, pool, reloader, prober, sweeper, trimmer]
    if !configuration.promptBlocklists.isEmpty { gated.append(promptPolicy) }  // it reloads on SIGHUP
    if let address = configuration.metrics {
      gated.append(MetricsEndpoint(address: address, logger: logger, onListening: readiness.metricsListening) {
        metrics.refresh(
          statistics: try? await store.statistics(), busyWorkers: pool.busyWorkers, workers: configuration.workers,
          subscribers: updates.subscriberCount)
        metrics.refresh(fleets: fleets.values.map(\.pool))
        return metrics.registry.emitToBuffer()
      })
    }
    if let address = configuration.console, configuration.servesAPI {
      var console = ConsoleSettings(host: address.host, port: address.port)
      console.secureCookie = configuration.consoleSecureCookie
      gated.append(
        try ConsoleServer(
          settings: console,
          dependencies: ConsoleDependencies(
            manager: manager, store: store, updates: updates, backends: unmetered.mapValues { ($0 as? any FleetBackend)?.pool },
            pauses: pauses, pausesChanged: { await pauseWatcher.refresh() }, hashKey: APIKeySecret.hash),
          logger: logger,
          onListening: { bound in
            let port = Int(bound.split(separator: ":").last ?? "") ?? address.port
            readiness.consoleListening(.init(host: address.host, port: port))
          }))
    }
    gated += listeners
    // The trace exporter first of all, so it stops last and sends the spans of the shutdown too.
    let first: [any Service] = (configuration.telemetry.map { [$0] } ?? []) + (opened.service.map { [$0] } ?? []) + [startUp]
    let all = first + gated.map { Gated(gate: started, service: $0) } + [StreamDrainer(updates: updates, serving: serving)]
    var groupConfiguration = ServiceGroupConfiguration(services: all.map { .init(service: $0) }, logger: logger)
    // A drain that takes too long (a 10-minute video, a stuck call) is cut short: running tasks
    // are canceled, stay PROCESSING and are requeued at the next start, so nothing is lost.
    groupConfiguration.maximumGracefulShutdownDuration = configuration.drainTimeout
    groupConfiguration.maximumCancellationDuration = .seconds(5)
    return ServiceGroup(configuration: groupConfiguration)
  }
}
