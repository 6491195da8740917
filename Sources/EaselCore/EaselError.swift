/// An error a caller can act on. The code maps one-to-one onto a gRPC status in the RPC layer;
/// the message is shown to the caller, so it never carries internals or secrets.
public struct EaselError: Error, Hashable, Sendable, CustomStringConvertible {
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    private enum Wrapped: String, Hashable, Sendable {
      case invalidArgument, notFound, failedPrecondition, resourceExhausted
      case permissionDenied, unauthenticated, unavailable, internalError, outOfRange
    }
    private let wrapped: Wrapped
    private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

    public static let invalidArgument = Code(.invalidArgument)
    public static let notFound = Code(.notFound)
    public static let failedPrecondition = Code(.failedPrecondition)
    public static let resourceExhausted = Code(.resourceExhausted)
    public static let permissionDenied = Code(.permissionDenied)
    public static let unauthenticated = Code(.unauthenticated)
    public static let unavailable = Code(.unavailable)
    public static let internalError = Code(.internalError)
    /// A resume point the update log no longer reaches (its retention window trimmed it).
    public static let outOfRange = Code(.outOfRange)

    public var description: String { wrapped.rawValue }
  }

  public var code: Code
  public var message: String
  /// What a program may branch on, sent as `easel-…` trailers: `error-code`, and for content
  /// policy refusals `content-category`.
  public var details: [String: String] = [:]

  public init(_ code: Code, _ message: String, details: [String: String] = [:]) {
    self.code = code
    self.message = message
    self.details = details
  }

  public var description: String { "\(code): \(message)" }

  public static func invalidArgument(_ message: String) -> EaselError { .init(.invalidArgument, message) }
  public static func notFound(_ message: String) -> EaselError { .init(.notFound, message) }
  public static func failedPrecondition(_ message: String) -> EaselError { .init(.failedPrecondition, message) }
  public static func internalError(_ message: String) -> EaselError { .init(.internalError, message) }

  /// A resume token from before the part of the update log its retention window trimmed.
  public static func resumePointTrimmed(_ updateID: Int64) -> EaselError {
    .init(
      .outOfRange,
      "resume token u\(updateID) is older than the update log's retention window (EASEL_UPDATE_LOG_RETENTION); "
        + "open a new stream without a resume token: it starts with the current state of every unfinished task")
  }

  /// A live stream's node was cut off from the database for longer than the update log's retention,
  /// and changes the stream needed were trimmed before the node read them.
  public static let missedTrimmedChanges = EaselError(
    .outOfRange,
    "this server lost its database connection for longer than the update log's retention window "
      + "(EASEL_UPDATE_LOG_RETENTION), and changes this stream needed were trimmed meanwhile; open a new stream "
      + "without a resume point: it starts with the current state of every unfinished task")

  /// A request the content policy refuses (`content_blocked`), naming the category, never the term.
  public static func contentBlocked(category: String) -> EaselError {
    .init(
      .invalidArgument, "the request was refused by the content policy (content_blocked, category \(category))",
      details: ["error-code": "content_blocked", "content-category": category])
  }
}
