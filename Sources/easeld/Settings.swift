import EaselPostgres

/// Every setting `easeld serve` reads, by its environment variable name. A config file uses the
/// same names, lowercased, with or without the `easel_` prefix, flat or nested
/// (`stable_diffusion: {api_url: …}` is `STABLE_DIFFUSION_API_URL`).
struct Setting: Sendable {
  var name: String
  var defaultValue: String
  /// How `easeld config print` shows a value that is set: secrets are masked.
  var shown: @Sendable (String) -> String = { $0 }

  static let masked: @Sendable (String) -> String = { _ in "********" }

  static let all: [Setting] = [
    Setting(name: "EASEL_DATA_DIR", defaultValue: "./easel-data"),
    Setting(name: "EASEL_DATABASE_URL", defaultValue: "", shown: { (try? DatabaseURL($0))?.description ?? "********" }),
    Setting(name: "EASEL_DATABASE_POOL_SIZE", defaultValue: "10"),
    Setting(name: "EASEL_API", defaultValue: "true"),
    Setting(name: "EASEL_UNIX_SOCKET", defaultValue: "DATA/easel.sock"),
    Setting(name: "EASEL_UNIX_SOCKET_GROUP", defaultValue: ""),
    Setting(name: "EASEL_TCP", defaultValue: "127.0.0.1:50051"),
    Setting(name: "EASEL_TLS_CERT", defaultValue: ""),
    Setting(name: "EASEL_TLS_KEY", defaultValue: ""),
    Setting(name: "EASEL_MAX_STREAMS_PER_CONNECTION", defaultValue: "100"),
    Setting(name: "EASEL_API_KEY_CACHE_MS", defaultValue: "1000"),
    Setting(name: "EASEL_METRICS", defaultValue: "none"),
    Setting(name: "EASEL_CONSOLE", defaultValue: "none"),
    Setting(name: "EASEL_CONSOLE_SECURE_COOKIE", defaultValue: "false"),
    Setting(name: "EASEL_WORKERS", defaultValue: "4"),
    Setting(name: "EASEL_WEBHOOK_ALLOWED_HOSTS", defaultValue: ""),
    Setting(name: "EASEL_WEBHOOK_TIMEOUT_MS", defaultValue: "10000"),
    Setting(name: "EASEL_WEBHOOK_RETRY_BASE_MS", defaultValue: "5000"),
    Setting(name: "EASEL_WEBHOOK_RETRY_PERIOD_SECONDS", defaultValue: "86400"),
    Setting(name: "AWS_S3_BUCKET", defaultValue: ""),
    Setting(name: "AWS_REGION", defaultValue: "us-east-1"),
    Setting(name: "AWS_ENDPOINT_URL", defaultValue: ""),
    Setting(name: "AWS_ACCESS_KEY_ID", defaultValue: ""),
    Setting(name: "AWS_SECRET_ACCESS_KEY", defaultValue: "", shown: masked),
    Setting(name: "AWS_SESSION_TOKEN", defaultValue: "", shown: masked),
    Setting(name: "EASEL_S3_URL_EXPIRY_SECONDS", defaultValue: "3600"),
    Setting(name: "EASEL_TEMPLATES_DIR", defaultValue: ""),
    Setting(name: "EASEL_MAX_ACTIVE_TASKS_PER_USER", defaultValue: "10"),
    Setting(name: "EASEL_USER_CREATES_PER_MINUTE", defaultValue: "60"),
    Setting(name: "EASEL_KEY_CREATES_PER_MINUTE", defaultValue: "600"),
    Setting(name: "EASEL_MAX_INPUT_IMAGE_BYTES", defaultValue: "4194304"),
    Setting(name: "EASEL_MAX_INPUT_PIXELS", defaultValue: "40000000"),
    Setting(name: "EASEL_VIPS_CONCURRENCY", defaultValue: "0"),
    Setting(name: "EASEL_VIPS_CACHE_MAX_OPERATIONS", defaultValue: "100"),
    Setting(name: "EASEL_DRAIN_TIMEOUT_MS", defaultValue: "30000"),
    Setting(name: "EASEL_BACKEND_LIMITS", defaultValue: "default-video=4,async-video=4"),
    Setting(name: "EASEL_PLATFORM_WEIGHTS", defaultValue: ""),
    Setting(name: "EASEL_PRIORITY_AGING_MS", defaultValue: "30000"),
    Setting(name: "EASEL_RETENTION_DAYS", defaultValue: ""),
    Setting(name: "EASEL_UPDATE_LOG_RETENTION", defaultValue: "24h"),
    Setting(name: "EASEL_PROMPT_BLOCKLIST", defaultValue: ""),
    Setting(name: "EASEL_MODERATION_API_URL", defaultValue: ""),
    Setting(name: "EASEL_MODERATION_API_KEY", defaultValue: "", shown: masked),
    Setting(name: "EASEL_MODERATION_MODEL", defaultValue: "omni-moderation-latest"),
    Setting(name: "EASEL_MODERATION_CATEGORIES", defaultValue: ""),
    Setting(name: "EASEL_MODERATION_TIMEOUT_MS", defaultValue: "3000"),
    Setting(name: "EASEL_MODERATION_FAIL_OPEN", defaultValue: "false"),
    Setting(name: "EASEL_MODERATION_PLATFORMS", defaultValue: ""),
    Setting(name: "EASEL_MAX_QUEUE_LENGTH", defaultValue: ""),
    Setting(name: "EASEL_MAX_ATTEMPTS", defaultValue: "3"),
    Setting(name: "EASEL_LEASE_SECONDS", defaultValue: "30"),
    Setting(name: "EASEL_PROCEDURAL_DELAY_MS", defaultValue: "0"),
    Setting(name: "DEFAULT_IMAGE_CREDIT_COST", defaultValue: "10"),
    Setting(name: "DEFAULT_VIDEO_CREDIT_COST", defaultValue: "50"),
    Setting(name: "HIGH_QUALITY_MULTIPLIER", defaultValue: "1.5"),
    Setting(name: "EASEL_LOG_LEVEL", defaultValue: "info"),
    Setting(name: "EASEL_LOG_FORMAT", defaultValue: "text"),
    Setting(name: "STABLE_DIFFUSION_API_URL", defaultValue: ""),
    Setting(name: "STABLE_DIFFUSION_API_KEY", defaultValue: "", shown: masked),
    Setting(name: "STABLE_DIFFUSION_ENDPOINTS", defaultValue: "", shown: { _ in "(endpoints; keys masked)" }),
    Setting(name: "STABLE_DIFFUSION_TIMEOUT_MS", defaultValue: "120000"),
    Setting(name: "COMFYUI_API_URL", defaultValue: ""),
    Setting(name: "COMFYUI_API_KEY", defaultValue: "", shown: masked),
    Setting(name: "COMFYUI_ENDPOINTS", defaultValue: "", shown: { _ in "(endpoints; keys masked)" }),
    Setting(name: "COMFYUI_TIMEOUT_MS", defaultValue: "120000"),
    Setting(name: "OPENAI_IMAGES_API_URL", defaultValue: ""),
    Setting(name: "OPENAI_IMAGES_API_KEY", defaultValue: "", shown: masked),
    Setting(name: "OPENAI_IMAGES_ENDPOINTS", defaultValue: "", shown: { _ in "(endpoints; keys masked)" }),
    Setting(name: "OPENAI_IMAGES_MODEL", defaultValue: ""),
    Setting(name: "OPENAI_IMAGES_TIMEOUT_MS", defaultValue: "120000"),
    Setting(name: "VIDEO_GENERATION_API_URL", defaultValue: ""),
    Setting(name: "VIDEO_GENERATION_API_KEY", defaultValue: "", shown: masked),
    Setting(name: "VIDEO_GENERATION_ENDPOINTS", defaultValue: "", shown: { _ in "(endpoints; keys masked)" }),
    Setting(name: "VIDEO_GENERATION_POLL_INTERVAL_MS", defaultValue: "10000"),
    Setting(name: "VIDEO_GENERATION_TIMEOUT_MS", defaultValue: "600000"),
  ]

  static let byName = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

  /// The setting a config file key stands for, if any.
  static func named(fileKey: String) -> Setting? {
    let name = fileKey.uppercased().replacingOccurrences(of: ".", with: "_").replacingOccurrences(of: "-", with: "_")
    return byName[name] ?? byName["EASEL_" + name]
  }
}
