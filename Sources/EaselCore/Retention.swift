import Foundation

/// How long ended tasks keep their artifacts (`EASEL_RETENTION_DAYS`): a period for every
/// platform, and periods of their own for some. nil keeps them until `easeld purge`.
public struct RetentionSettings: Sendable {
  public var defaultPeriod: Duration?
  public var platformPeriods: [String: Duration]

  public init(defaultPeriod: Duration? = nil, platformPeriods: [String: Duration] = [:]) {
    self.defaultPeriod = defaultPeriod
    self.platformPeriods = platformPeriods
  }

  public func period(for platform: String) -> Duration? { platformPeriods[platform] ?? defaultPeriod }

  /// A new task's retention: its platform's, or the shorter one the request asks for (`retention_ms`;
  /// 0 or nil: the platform's). Asking for longer is INVALID_ARGUMENT.
  public func retention(for platform: String, requestedMs: Int64?) throws(EaselError) -> Duration? {
    let platformPeriod = period(for: platform)
    guard let requestedMs, requestedMs != 0 else { return platformPeriod }
    guard requestedMs > 0 else { throw .invalidArgument("retention_ms must be 0 (the platform's) or more; got \(requestedMs)") }
    let requested = Duration.milliseconds(requestedMs)
    if let platformPeriod, requested > platformPeriod {
      throw .invalidArgument(
        "retention_ms may only shorten platform \(platform)'s retention of \(platformPeriod.milliseconds) ms; got \(requestedMs)")
    }
    return requested
  }
}

extension GenerationTask {
  /// Artifacts that a retention sweep deletes: everything the task stored.
  public var artifactKeys: [String] {
    let single: [String?] = [output?.key, thumbnail?.key, preview?.key, inputImageKey]
    let several: [String] = outputs.flatMap { [$0.output.key, $0.thumbnail.key] }
    return Set(single.compactMap { $0 } + several).sorted()
  }

  /// Exempt from (or back under) the retention sweep; false when nothing changed.
  public mutating func pin(_ pinned: Bool, now: Date) -> Bool {
    guard (pinnedAt != nil) != pinned else { return false }
    pinnedAt = pinned ? now : nil
    return true
  }

  /// The sweep deleted its artifacts; the task and its ledger stay.
  public mutating func markArtifactsExpired(now: Date) {
    artifactsExpiredAt = now
  }
}
