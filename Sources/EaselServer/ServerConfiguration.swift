import EaselArtifacts
import EaselCore
import EaselImaging
import EaselModels
import EaselPostgres
import EaselTemplates
import Foundation
import ServiceLifecycle

/// Everything `easeld serve` needs, resolved from flags and environment by the executable.
public struct ServerConfiguration: Sendable {
  public struct TCPAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
      self.host = host
      self.port = port
    }

    /// Parses `HOST:PORT` (IPv6 hosts in brackets, `[::1]:50051`); "none" means no TCP listener.
    public static func parse(_ text: String) throws(EaselError) -> TCPAddress? {
      if text == "none" { return nil }
      guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
        (0...65535).contains(port)
      else { throw .invalidArgument("\(text) is not HOST:PORT (or \"none\")") }
      var host = String(text[..<colon])
      if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
      guard !host.isEmpty else { throw .invalidArgument("\(text) has no host") }
      return TCPAddress(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
  }

  /// PEM files for TLS on the TCP listener.
  public struct TLSFiles: Sendable {
    public var certificateChain: String
    public var privateKey: String

    public init(certificateChain: String, privateKey: String) {
      self.certificateChain = certificateChain
      self.privateKey = privateKey
    }
  }

  public var dataDirectory: URL
  /// A shared PostgreSQL database instead of the SQLite file in the data folder.
  public var databaseURL: DatabaseURL?
  /// Most connections to PostgreSQL this process opens.
  public var databasePoolSize = 10
  /// Whether to serve Easel's API; a workers-only node serves just the health service, on its Unix socket.
  public var servesAPI = true
  public var unixSocketPath: String
  public var tcp: TCPAddress?
  public var workers: Int
  public var proceduralDelay: Duration
  public var pricing: Pricing
  /// Template files that add to or replace the built-in pack; nil serves the built-ins only.
  public var templatesDirectory: URL?
  /// Leases, attempts and retry pacing of the workers.
  public var workerSettings = WorkerSettings()
  /// A Stable Diffusion WebUI-compatible API; when set, the built-in image templates use it.
  public var automatic1111: Automatic1111Backend.Settings?
  /// How the queue shares the workers between platforms (`EASEL_PLATFORM_WEIGHTS`).
  public var scheduling = SchedulingSettings()
  /// How long ended tasks keep their artifacts (`EASEL_RETENTION_DAYS`), and how often the sweep runs.
  public var retention = RetentionSettings()
  public var retentionSweepInterval: Duration = .seconds(60)
  /// How long the update log keeps each entry (`EASEL_UPDATE_LOG_RETENTION`): how far back streams
  /// can resume.
  public var updateLogRetention: Duration = .seconds(86_400)
  /// Words and patterns prompts may not contain (`EASEL_PROMPT_BLOCKLIST`): a file for every
  /// platform and files of some platforms' own, reloaded on SIGHUP.
  public var promptBlocklists = BlocklistFiles()
  /// The trace exporter (`Telemetry.bootstrapTracing`), run with the server; nil: no traces.
  public var telemetry: (any Service)?
  /// A moderation API in the OpenAI format (`EASEL_MODERATION_API_URL`) that checks prompts too.
  public var moderation: ModerationSettings?
  /// ComfyUI servers; templates use them with `backend: comfyui` and a workflow.
  public var comfyUI: ComfyUIBackend.Settings?
  /// The original design's asynchronous video API; when set, the built-in video templates use it.
  public var asyncVideo: AsyncVideoBackend.Settings?
  /// How long a graceful shutdown may take before running work is canceled (and requeued later).
  public var drainTimeout: Duration = .seconds(30)
  /// Input image limits (the largest `input_image` is RESOURCE_EXHAUSTED above `maxInputBytes`)
  /// and libvips' threads and cache.
  public var imaging = VipsImageProcessor.Limits()
  /// Per-user and per-key limits on task creation.
  public var limits = UsageLimits()
  /// When set, the Unix socket is 0660 and owned by this group (name or number) instead of 0600.
  public var unixSocketGroup: String?
  /// TLS on the TCP listener; nil serves plaintext.
  public var tls: TLSFiles?
  /// How long a checked API key is trusted without asking the store again: how long a revocation
  /// may take to act. Zero checks every call.
  public var apiKeyCacheDuration: Duration = .seconds(1)
  /// Concurrent HTTP/2 streams (calls) one connection may have open.
  public var maxStreamsPerConnection = 100
  /// Where Prometheus metrics are served over HTTP (`/metrics`); nil turns them off.
  public var metrics: TCPAddress?
  /// The operator console (`--console HOST:PORT`, `EASEL_CONSOLE`); nil: off.
  public var console: TCPAddress?
  /// Mark the console's session cookie Secure (when a TLS proxy serves it: `EASEL_CONSOLE_SECURE_COOKIE`).
  public var consoleSecureCookie = false
  /// Artifacts in an S3-compatible bucket instead of the data folder.
  public var s3: S3ArtifactStore.Settings?
  /// Webhook delivery: allowed private hosts, timeouts, retries.
  public var webhooks = WebhookSettings()
  /// An OpenAI-compatible images API.
  public var openAIImages: OpenAIImagesBackend.Settings?

  public init(
    dataDirectory: URL, unixSocketPath: String? = nil, tcp: TCPAddress? = TCPAddress(host: "127.0.0.1", port: 50051),
    workers: Int = 4, proceduralDelay: Duration = .zero, pricing: Pricing = Pricing(), templatesDirectory: URL? = nil
  ) {
    self.dataDirectory = dataDirectory
    self.unixSocketPath = unixSocketPath ?? dataDirectory.appendingPathComponent("easel.sock").path
    self.tcp = tcp
    self.workers = workers
    self.proceduralDelay = proceduralDelay
    self.pricing = pricing
    self.templatesDirectory = templatesDirectory
  }

  public var databasePath: String { dataDirectory.appendingPathComponent("easel.sqlite").path }

  public var storeLocation: StoreLocation {
    if let databaseURL { return .postgres(databaseURL, poolSize: databasePoolSize) }
    return .sqlite(path: databasePath)
  }
  public var artifactsDirectory: URL { dataDirectory.appendingPathComponent("artifacts", isDirectory: true) }

  /// The configured artifact store: the S3 bucket if set, else files in the data folder.
  public func artifactStore() throws -> any ArtifactStore {
    if let s3 { return S3ArtifactStore(settings: s3) }
    return try LocalArtifactStore(root: artifactsDirectory, sharedDatabase: databaseURL != nil)
  }
}

extension ServerConfiguration {
  /// Loads templates for a server with these backends and this content policy.
  public func templateLoader(backends: Set<String>) -> TemplateLoader {
    var loader = TemplateLoader(knownBackends: backends)
    loader.canCheckOutputs = moderation != nil
    return loader
  }
}
