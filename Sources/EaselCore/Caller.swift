import Foundation

/// Who is calling, and what they may do. TCP callers present an API key bound to one platform
/// and one scope; a caller on the Unix socket is local and trusted as admin of every platform.
public struct Caller: Hashable, Sendable {
  public enum Scope: String, Hashable, Sendable, CaseIterable, Codable {
    /// Read and stream tasks, artifacts and balances.
    case subscribe
    /// Also create and cancel tasks.
    case tasks
    /// Also grant and adjust credits, reload templates, drain model servers, and the operations
    /// (AdminService) on its own platform.
    case admin
    /// The operations of `admin` on every platform: for the people who run the service.
    case `operator`
  }

  public enum Action: String, Hashable, Sendable {
    case readTasks = "read tasks"
    case createTasks = "create tasks"
    case cancelTasks = "cancel or pin tasks"
    case readCredits = "read credits"
    case changeCredits = "grant or adjust credits"
    case readTemplates = "read templates"
    case manageTemplates = "reload templates"
    case manageBackends = "read or drain model servers"
    case operate = "retry tasks, pause backends, resend webhooks or read service statistics"
  }

  /// nil for the local (Unix socket) caller, who may act for any platform.
  public let platform: String?
  public let scope: Scope
  public let keyID: String?
  /// The highest task priority this caller may ask for.
  public let maxPriority: Int

  public init(platform: String?, scope: Scope, keyID: String?, maxPriority: Int = FairQueue.defaultPriority) {
    self.platform = platform
    self.scope = scope
    self.keyID = keyID
    self.maxPriority = maxPriority
  }

  public static let local = Caller(platform: nil, scope: .admin, keyID: nil, maxPriority: FairQueue.priorities.upperBound)

  @TaskLocal public static var current: Caller = .local

  public func allows(_ action: Action) -> Bool {
    switch action {
    case .readTasks, .readCredits, .readTemplates: true
    case .createTasks, .cancelTasks: scope != .subscribe
    case .changeCredits, .manageTemplates, .manageBackends, .operate: scope == .admin || scope == .operator
    }
  }

  /// Throws PERMISSION_DENIED unless the caller's scope allows `action`.
  public func require(_ action: Action) throws(EaselError) {
    guard allows(action) else {
      throw EaselError(.permissionDenied, "an API key with scope \(scope.rawValue) can't \(action.rawValue)")
    }
  }

  /// The account a request acts for: its platform defaults to the key's, and must be the key's.
  public func account(platform requested: String, userID: String) throws(EaselError) -> Account {
    guard let own = platform, scope != .operator else { return try Account(platform: requested, userID: userID) }
    let effective = requested.isEmpty ? own : requested
    guard effective == own else {
      throw EaselError(.permissionDenied, "this API key belongs to platform \(own); it can't act for platform \(effective)")
    }
    return try Account(platform: effective, userID: userID)
  }

  /// The platform an operation is limited to: the admin key's own (an empty request means it, any
  /// other is PERMISSION_DENIED); nil (every platform, or the one asked for) for operators and the
  /// Unix socket.
  public func operatedPlatform(_ requested: String) throws(EaselError) -> String? {
    guard let own = platform, scope != .operator else { return requested.isEmpty ? nil : requested }
    guard requested.isEmpty || requested == own else {
      throw EaselError(.permissionDenied, "this API key belongs to platform \(own); it can't act for platform \(requested)")
    }
    return own
  }

  /// Whose tasks a stream may follow: one user's, or with an empty `userID` the whole platform's.
  /// Every key may read any user of its platform, so a platform stream grants nothing more.
  public func updateScope(platform requested: String, userID: String) throws(EaselError) -> UpdateScope {
    guard userID.isEmpty else { return .account(try account(platform: requested, userID: userID)) }
    return .platform(try account(platform: requested, userID: "-").platform)
  }
}

/// A stored API key; the secret itself is never stored, only its SHA-256.
public struct APIKeyRecord: Hashable, Sendable {
  public var id: String
  public var platform: String
  public var scope: Caller.Scope
  public var name: String
  public var createdAt: Date
  public var revokedAt: Date?
  /// The highest task priority the key may ask for (`keys create --max-priority`).
  public var maxPriority: Int

  public init(
    id: String, platform: String, scope: Caller.Scope, name: String, createdAt: Date, revokedAt: Date?,
    maxPriority: Int = FairQueue.defaultPriority
  ) {
    self.maxPriority = maxPriority
    self.id = id
    self.platform = platform
    self.scope = scope
    self.name = name
    self.createdAt = createdAt
    self.revokedAt = revokedAt
  }

  public var caller: Caller { Caller(platform: platform, scope: scope, keyID: id, maxPriority: maxPriority) }
}
