import ArgumentParser
import EaselCore
import EaselModels
import EaselServer
import Foundation

/// Environment variables, read once; flags given on the command line win over them.
struct Environment {
  private let values: [String: String]

  init(_ values: [String: String]) {
    self.values = values.filter { !$0.value.isEmpty }
  }

  subscript(name: String) -> String? { values[name] }

  func number<T: LosslessStringConvertible>(_ name: String, default fallback: T) throws -> T {
    guard let text = values[name] else { return fallback }
    guard let value = T(text) else { throw ValidationError("\(name)=\(text) is not a valid number") }
    return value
  }

  /// A model API's base URL from `name`, if set.
  func httpURL(_ name: String) throws -> String? {
    guard let url = self[name] else { return nil }
    guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
      throw ValidationError("\(name) must be an http:// or https:// URL; got \(url)")
    }
    return url
  }

  func serverConfiguration(dataDirectory: String?, unixSocket: String?, tcp: String?, workers: Int?, templates: String?)
    throws
    -> ServerConfiguration
  {
    let data = URL(fileURLWithPath: dataDirectory ?? self["EASEL_DATA_DIR"] ?? "./easel-data").standardizedFileURL
    let tcpAddress: ServerConfiguration.TCPAddress?
    do {
      tcpAddress = try ServerConfiguration.TCPAddress.parse(tcp ?? self["EASEL_TCP"] ?? "127.0.0.1:50051")
    } catch {
      throw ValidationError("--tcp: \(error.message)")
    }
    let workers = try workers ?? number("EASEL_WORKERS", default: 4)
    guard workers >= 0 else { throw ValidationError("--workers must be 0 or more") }
    let delay: Int = try number("EASEL_PROCEDURAL_DELAY_MS", default: 0)
    let pricing = Pricing(
      defaultImageCost: try number("DEFAULT_IMAGE_CREDIT_COST", default: 10),
      defaultVideoCost: try number("DEFAULT_VIDEO_CREDIT_COST", default: 50),
      highQualityMultiplier: try number("HIGH_QUALITY_MULTIPLIER", default: 1.5))
    guard pricing.defaultImageCost >= 0, pricing.defaultVideoCost >= 0, pricing.highQualityMultiplier >= 1 else {
      throw ValidationError("credit costs must be 0 or more and HIGH_QUALITY_MULTIPLIER at least 1")
    }
    var configuration = ServerConfiguration(
      dataDirectory: data, unixSocketPath: unixSocket ?? self["EASEL_UNIX_SOCKET"], tcp: tcpAddress, workers: workers,
      proceduralDelay: .milliseconds(delay), pricing: pricing,
      templatesDirectory: (templates ?? self["EASEL_TEMPLATES_DIR"]).map { URL(fileURLWithPath: $0) })
    configuration.workerSettings.maxAttempts = try number("EASEL_MAX_ATTEMPTS", default: 3)
    if let url = try httpURL("STABLE_DIFFUSION_API_URL") {
      configuration.automatic1111 = .init(
        url: url, apiKey: self["STABLE_DIFFUSION_API_KEY"],
        timeout: .milliseconds(try number("STABLE_DIFFUSION_TIMEOUT_MS", default: 120_000)))
    }
    if let url = try httpURL("OPENAI_IMAGES_API_URL") {
      configuration.openAIImages = .init(
        url: url, apiKey: self["OPENAI_IMAGES_API_KEY"], model: self["OPENAI_IMAGES_MODEL"],
        timeout: .milliseconds(try number("OPENAI_IMAGES_TIMEOUT_MS", default: 120_000)))
    }
    if let url = try httpURL("VIDEO_GENERATION_API_URL") {
      configuration.asyncVideo = .init(
        url: url, apiKey: self["VIDEO_GENERATION_API_KEY"],
        pollInterval: .milliseconds(try number("VIDEO_GENERATION_POLL_INTERVAL_MS", default: 10_000)),
        timeout: .milliseconds(try number("VIDEO_GENERATION_TIMEOUT_MS", default: 600_000)))
    }
    guard configuration.workerSettings.maxAttempts >= 1 else { throw ValidationError("EASEL_MAX_ATTEMPTS must be 1 or more") }
    configuration.drainTimeout = .milliseconds(try number("EASEL_DRAIN_TIMEOUT_MS", default: 30_000))
    configuration.maxInputImageBytes = try number("EASEL_MAX_INPUT_IMAGE_BYTES", default: 4 << 20)
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
          throw ValidationError("EASEL_BACKEND_LIMITS: \(pair) is not BACKEND=N with N ≥ 1")
        }
        configuration.workerSettings.backendLimits[parts[0]] = limit
      }
    }
    return configuration
  }
}
