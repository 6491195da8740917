import ArgumentParser
import EaselArtifacts
import EaselCore
import EaselModels
import EaselPostgres
import EaselServer
import Foundation
import Logging

/// Settings by their environment variable names, from the command line's flags, the environment
/// and a config file, in that order of precedence.
struct Environment {
  enum Source: Equatable {
    case flag(String)
    case environment
    case file(String)
  }

  private let values: [String: (value: String, source: Source)]

  /// `flags` maps setting names to the flag that set them and its value.
  init(_ environment: [String: String], file: (path: String, values: [String: String])? = nil,
       flags: [String: (flag: String, value: String)] = [:]) {
    var values: [String: (value: String, source: Source)] = [:]
    for (name, value) in file?.values ?? [:] { values[name] = (value, .file(file!.path)) }
    for (name, value) in environment where !value.isEmpty { values[name] = (value, .environment) }
    for (name, flag) in flags { values[name] = (flag.value, .flag(flag.flag)) }
    self.values = values
  }

  /// The process environment, under the config file it names with `config` (a flag) or EASEL_CONFIG.
  static func load(config: String?, flags: [String: (flag: String, value: String)]) throws -> Environment {
    let environment = ProcessInfo.processInfo.environment
    guard let path = config ?? environment["EASEL_CONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) else {
      return Environment(environment, flags: flags)
    }
    return Environment(environment, file: (path, try ConfigFile.load(path: path)), flags: flags)
  }

  subscript(name: String) -> String? { values[name]?.value }

  func source(of name: String) -> Source? { values[name]?.source }

  /// Where a setting came from, for error messages: `--workers`, `EASEL_WORKERS`, or the file.
  func describe(_ name: String) -> String {
    switch values[name]?.source {
    case .flag(let flag): flag
    case .file(let path): "\(name) (from \(path))"
    case .environment, nil: name
    }
  }

  func number<T: LosslessStringConvertible>(_ name: String, default fallback: T) throws -> T {
    guard let text = self[name] else { return fallback }
    guard let value = T(text) else { throw ValidationError("\(describe(name)): \(text) is not a valid number") }
    return value
  }

  /// A model API's base URL from `name`, if set.
  func httpURL(_ name: String) throws -> String? {
    guard let url = self[name] else { return nil }
    guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
      throw ValidationError("\(describe(name)) must be an http:// or https:// URL; got \(url)")
    }
    return url
  }

  func serverConfiguration() throws -> ServerConfiguration {
    _ = try logging()
    let data = URL(fileURLWithPath: self["EASEL_DATA_DIR"] ?? "./easel-data").standardizedFileURL
    let workers = try number("EASEL_WORKERS", default: 4)
    guard workers >= 0 else { throw ValidationError("\(describe("EASEL_WORKERS")) must be 0 or more") }
    let delay: Int = try number("EASEL_PROCEDURAL_DELAY_MS", default: 0)
    let pricing = Pricing(
      defaultImageCost: try number("DEFAULT_IMAGE_CREDIT_COST", default: 10),
      defaultVideoCost: try number("DEFAULT_VIDEO_CREDIT_COST", default: 50),
      highQualityMultiplier: try number("HIGH_QUALITY_MULTIPLIER", default: 1.5))
    guard pricing.defaultImageCost >= 0, pricing.defaultVideoCost >= 0, pricing.highQualityMultiplier >= 1 else {
      throw ValidationError("credit costs must be 0 or more and HIGH_QUALITY_MULTIPLIER at least 1")
    }
    var configuration = ServerConfiguration(
      dataDirectory: data, unixSocketPath: self["EASEL_UNIX_SOCKET"], tcp: try address("EASEL_TCP", default: "127.0.0.1:50051"),
      workers: workers, proceduralDelay: .milliseconds(delay), pricing: pricing,
      templatesDirectory: self["EASEL_TEMPLATES_DIR"].map { URL(fileURLWithPath: $0) })
    configuration.unixSocketGroup = self["EASEL_UNIX_SOCKET_GROUP"]
    configuration.databaseURL = try databaseURL()
    configuration.databasePoolSize = try number("EASEL_DATABASE_POOL_SIZE", default: 10)
    guard configuration.databasePoolSize >= 1 else { throw ValidationError("\(describe("EASEL_DATABASE_POOL_SIZE")) must be 1 or more") }
    configuration.servesAPI = try boolean("EASEL_API", default: true)
    configuration.s3 = try s3Settings()
    configuration.webhooks.allowedHosts = (self["EASEL_WEBHOOK_ALLOWED_HOSTS"] ?? "").split(separator: ",").map(String.init)
    configuration.webhooks.timeout = .milliseconds(try number("EASEL_WEBHOOK_TIMEOUT_MS", default: 10_000))
    configuration.webhooks.retryBase = .milliseconds(try number("EASEL_WEBHOOK_RETRY_BASE_MS", default: 5_000))
    configuration.webhooks.retryPeriod = .seconds(try number("EASEL_WEBHOOK_RETRY_PERIOD_SECONDS", default: 86_400))
    configuration.tls = try tls()
    configuration.metrics = try address("EASEL_METRICS", default: "none")
    configuration.console = try address("EASEL_CONSOLE", default: "none")
    configuration.consoleSecureCookie = try boolean("EASEL_CONSOLE_SECURE_COOKIE", default: false)
    let keyCache: Int = try number("EASEL_API_KEY_CACHE_MS", default: 1000)
    guard keyCache >= 0 else { throw ValidationError("\(describe("EASEL_API_KEY_CACHE_MS")) must be 0 or more") }
    configuration.apiKeyCacheDuration = .milliseconds(keyCache)
    configuration.maxStreamsPerConnection = try number("EASEL_MAX_STREAMS_PER_CONNECTION", default: 100)
    guard configuration.maxStreamsPerConnection >= 1 else {
      throw ValidationError("\(describe("EASEL_MAX_STREAMS_PER_CONNECTION")) must be 1 or more")
    }
    configuration.workerSettings.maxAttempts = try number("EASEL_MAX_ATTEMPTS", default: 3)
    let leaseSeconds: Int = try number("EASEL_LEASE_SECONDS", default: 30)
    guard leaseSeconds >= 3 else { throw ValidationError("\(describe("EASEL_LEASE_SECONDS")) must be 3 or more") }
    configuration.workerSettings.leaseDuration = .seconds(leaseSeconds)
    let webUIs = try endpoints(
      urls: "STABLE_DIFFUSION_API_URL", key: "STABLE_DIFFUSION_API_KEY", list: "STABLE_DIFFUSION_ENDPOINTS", capacity: 1)
    if !webUIs.isEmpty {
      configuration.automatic1111 = .init(
        endpoints: webUIs, timeout: .milliseconds(try number("STABLE_DIFFUSION_TIMEOUT_MS", default: 120_000)))
    }
    let comfyUIs = try endpoints(urls: "COMFYUI_API_URL", key: "COMFYUI_API_KEY", list: "COMFYUI_ENDPOINTS", capacity: 1)
    if !comfyUIs.isEmpty {
      configuration.comfyUI = .init(
        endpoints: comfyUIs, timeout: .milliseconds(try number("COMFYUI_TIMEOUT_MS", default: 120_000)))
    }
    let imageAPIs = try endpoints(
      urls: "OPENAI_IMAGES_API_URL", key: "OPENAI_IMAGES_API_KEY", list: "OPENAI_IMAGES_ENDPOINTS",
      capacity: OpenAIImagesBackend.defaultCapacity)
    if !imageAPIs.isEmpty {
      configuration.openAIImages = .init(
        endpoints: imageAPIs, model: self["OPENAI_IMAGES_MODEL"],
        timeout: .milliseconds(try number("OPENAI_IMAGES_TIMEOUT_MS", default: 120_000)))
    }
    let videoAPIs = try endpoints(
      urls: "VIDEO_GENERATION_API_URL", key: "VIDEO_GENERATION_API_KEY", list: "VIDEO_GENERATION_ENDPOINTS",
      capacity: AsyncVideoBackend.defaultCapacity)
    if !videoAPIs.isEmpty {
      configuration.asyncVideo = .init(
        endpoints: videoAPIs, pollInterval: .milliseconds(try number("VIDEO_GENERATION_POLL_INTERVAL_MS", default: 10_000)),
        timeout: .milliseconds(try number("VIDEO_GENERATION_TIMEOUT_MS", default: 600_000)))
    }
    guard configuration.workerSettings.maxAttempts >= 1 else { throw ValidationError("\(describe("EASEL_MAX_ATTEMPTS")) must be 1 or more") }
    configuration.drainTimeout = .milliseconds(try number("EASEL_DRAIN_TIMEOUT_MS", default: 30_000))
    configuration.imaging = .init(
      maxInputBytes: try number("EASEL_MAX_INPUT_IMAGE_BYTES", default: 4 << 20),
      maxInputPixels: try number("EASEL_MAX_INPUT_PIXELS", default: 40_000_000),
      concurrency: try number("EASEL_VIPS_CONCURRENCY", default: 0),
      cacheMaxOperations: try number("EASEL_VIPS_CACHE_MAX_OPERATIONS", default: 100))
    configuration.limits = UsageLimits(
      maxActiveTasksPerUser: try number("EASEL_MAX_ACTIVE_TASKS_PER_USER", default: 10),
      userCreatesPerMinute: try number("EASEL_USER_CREATES_PER_MINUTE", default: 60),
      keyCreatesPerMinute: try number("EASEL_KEY_CREATES_PER_MINUTE", default: 600))
    guard configuration.limits.maxActiveTasksPerUser >= 1, configuration.limits.userCreatesPerMinute >= 1,
      configuration.limits.keyCreatesPerMinute >= 1
    else { throw ValidationError("task limits must be 1 or more") }
    if let limits = self["EASEL_BACKEND_LIMITS"] {
      for pair in limits.split(separator: ",") {
        let parts = pair.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let limit = Int(parts[1]), limit >= 1 else {
          throw ValidationError("\(describe("EASEL_BACKEND_LIMITS")): \(pair) is not BACKEND=N with N ≥ 1")
        }
        configuration.workerSettings.backendLimits[parts[0]] = limit
      }
    }
    for pair in (self["EASEL_MAX_QUEUE_LENGTH"] ?? "").split(separator: ",") {
      let parts = pair.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
      guard parts.count == 2, let length = Int(parts[1]), length >= 1 else {
        throw ValidationError("\(describe("EASEL_MAX_QUEUE_LENGTH")): \(pair) is not BACKEND=N with N ≥ 1")
      }
      configuration.limits.maxQueueLength[parts[0]] = length
    }
    let aging: Int = try number("EASEL_PRIORITY_AGING_MS", default: 30_000)
    guard aging >= 1 else { throw ValidationError("\(describe("EASEL_PRIORITY_AGING_MS")) must be 1 or more") }
    configuration.scheduling.priorityAging = .milliseconds(aging)
    for entry in (self["EASEL_PROMPT_BLOCKLIST"] ?? "").split(separator: ",") {
      let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
      guard parts.allSatisfy({ !$0.isEmpty }) else {
        throw ValidationError("\(describe("EASEL_PROMPT_BLOCKLIST")): \(entry) is not FILE or PLATFORM=FILE")
      }
      if parts.count == 2 {
        configuration.promptBlocklists.platforms[parts[0]] = URL(fileURLWithPath: parts[1])
      } else {
        configuration.promptBlocklists.everyPlatform = URL(fileURLWithPath: parts[0])
      }
    }
    if let url = try httpURL("EASEL_MODERATION_API_URL") {
      var moderation = ModerationSettings(url: url, key: self["EASEL_MODERATION_API_KEY"])
      moderation.model = self["EASEL_MODERATION_MODEL"] ?? moderation.model
      moderation.categories = Set((self["EASEL_MODERATION_CATEGORIES"] ?? "").split(separator: ",").map {
        $0.trimmingCharacters(in: .whitespaces)
      })
      moderation.timeout = .milliseconds(try number("EASEL_MODERATION_TIMEOUT_MS", default: 3_000))
      moderation.failOpen = try boolean("EASEL_MODERATION_FAIL_OPEN", default: false)
      moderation.platforms = Set((self["EASEL_MODERATION_PLATFORMS"] ?? "").split(separator: ",").map {
        $0.trimmingCharacters(in: .whitespaces)
      })
      configuration.moderation = moderation
    }
    for entry in (self["EASEL_RETENTION_DAYS"] ?? "").split(separator: ",") {
      let parts = entry.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
      guard (1...2).contains(parts.count), let days = Double(parts[parts.count - 1]), days > 0 else {
        throw ValidationError("\(describe("EASEL_RETENTION_DAYS")): \(entry) is not DAYS or PLATFORM=DAYS with DAYS > 0")
      }
      let period = Duration.milliseconds(Int64(days * 86_400_000))
      if parts.count == 2 { configuration.retention.platformPeriods[parts[0]] = period } else { configuration.retention.defaultPeriod = period }
    }
    if let retention = self["EASEL_UPDATE_LOG_RETENTION"] {
      let seconds = try DurationText.seconds(retention, of: describe("EASEL_UPDATE_LOG_RETENTION"))
      guard seconds >= 1 else { throw ValidationError("\(describe("EASEL_UPDATE_LOG_RETENTION")) must be 1s or more") }
      configuration.updateLogRetention = .milliseconds(Int64(seconds * 1000))
    }
    for pair in (self["EASEL_PLATFORM_WEIGHTS"] ?? "").split(separator: ",") {
      let parts = pair.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
      guard parts.count == 2, let weight = Double(parts[1]), weight > 0, weight <= 1000 else {
        throw ValidationError("\(describe("EASEL_PLATFORM_WEIGHTS")): \(pair) is not PLATFORM=WEIGHT with 0 < WEIGHT ≤ 1000")
      }
      configuration.scheduling.platformWeights[parts[0]] = weight
    }
    return configuration
  }

  /// The shared PostgreSQL database, when EASEL_DATABASE_URL is set.
  func databaseURL() throws -> DatabaseURL? {
    guard let text = self["EASEL_DATABASE_URL"] else { return nil }
    do {
      return try DatabaseURL(text)
    } catch {
      throw ValidationError("\(describe("EASEL_DATABASE_URL")): \(error.message)")
    }
  }

  /// EASEL_LOG_LEVEL and EASEL_LOG_FORMAT, refused like any other invalid setting.
  func logging() throws -> (level: Logger.Level, json: Bool) {
    let levelText = self["EASEL_LOG_LEVEL"] ?? "info"
    guard let level = Logger.Level(rawValue: levelText.lowercased()) else {
      throw ValidationError(
        "\(describe("EASEL_LOG_LEVEL")): \(levelText) is not one of trace, debug, info, notice, warning, error, critical")
    }
    switch (self["EASEL_LOG_FORMAT"] ?? "text").lowercased() {
    case "text": return (level, false)
    case "json": return (level, true)
    case let format: throw ValidationError("\(describe("EASEL_LOG_FORMAT")): \(format) is not text or json")
    }
  }

  func boolean(_ name: String, default fallback: Bool) throws -> Bool {
    switch self[name]?.lowercased() {
    case nil: return fallback
    case "true", "on", "yes", "1": return true
    case "false", "off", "no", "0": return false
    case let text?: throw ValidationError("\(describe(name)): \(text) is not true or false")
    }
  }

  /// S3-compatible artifact storage, when AWS_S3_BUCKET is set.
  func s3Settings() throws -> S3ArtifactStore.Settings? {
    guard let bucket = self["AWS_S3_BUCKET"] else { return nil }
    guard let accessKey = self["AWS_ACCESS_KEY_ID"], let secret = self["AWS_SECRET_ACCESS_KEY"] else {
      throw ValidationError("AWS_S3_BUCKET needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    }
    var settings = S3ArtifactStore.Settings(
      bucket: bucket, region: self["AWS_REGION"] ?? "us-east-1", endpoint: try httpURL("AWS_ENDPOINT_URL"),
      accessKeyID: accessKey, secretAccessKey: secret, sessionToken: self["AWS_SESSION_TOKEN"])
    let expiry: Int = try number("EASEL_S3_URL_EXPIRY_SECONDS", default: 3600)
    guard (1...604_800).contains(expiry) else {
      throw ValidationError("\(describe("EASEL_S3_URL_EXPIRY_SECONDS")) must be between 1 and 604800 (7 days, the SigV4 limit)")
    }
    settings.urlExpiry = .seconds(expiry)
    return settings
  }

  /// A `HOST:PORT` setting; "none" turns its listener off.
  private func address(_ name: String, default fallback: String) throws -> ServerConfiguration.TCPAddress? {
    do {
      return try ServerConfiguration.TCPAddress.parse(self[name] ?? fallback)
    } catch {
      throw ValidationError("\(describe(name)): \(error.message)")
    }
  }

  /// TLS for the TCP listener: both files or neither, and both readable now rather than at the first call.
  private func tls() throws -> ServerConfiguration.TLSFiles? {
    switch (self["EASEL_TLS_CERT"], self["EASEL_TLS_KEY"]) {
    case (nil, nil): return nil
    case (let cert?, let key?):
      for (name, path) in [("EASEL_TLS_CERT", cert), ("EASEL_TLS_KEY", key)]
      where !FileManager.default.isReadableFile(atPath: path) {
        throw ValidationError("\(describe(name)): can't read \(path)")
      }
      return .init(certificateChain: cert, privateKey: key)
    default: throw ValidationError("EASEL_TLS_CERT and EASEL_TLS_KEY must be set together")
    }
  }
}
