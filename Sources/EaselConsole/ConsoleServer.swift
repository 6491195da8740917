import EaselCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Mustache
import NIOCore
import ServiceLifecycle

/// Where the console listens (`easeld serve --console HOST:PORT`) and how long a login lasts.
public struct ConsoleSettings: Sendable {
  public var host: String
  public var port: Int
  public var sessionLifetime: Duration = .seconds(8 * 3600)
  /// Login attempts a client address may make a minute.
  public var loginAttemptsPerMinute = 10
  /// Mark the session cookie Secure (set when a TLS proxy serves the console).
  public var secureCookie = false

  public init(host: String, port: Int) {
    self.host = host
    self.port = port
  }
}

/// What the console reads and acts through: the same use cases and store as the gRPC services.
public struct ConsoleDependencies: Sendable {
  public var manager: TaskManager
  public var store: any AdminRecords & APIKeyStore & UpdateLog & WebhookStore & TaskRecords
  public var updates: TaskUpdateHub
  /// Every backend name, with its fleet's pool (nil for backends without servers).
  public var backends: [String: EndpointPool?]
  public var pauses: BackendPauses
  public var pausesChanged: @Sendable () async -> Void
  /// The stored form of an API key's secret (its SHA-256).
  public var hashKey: @Sendable (String) -> String

  public init(
    manager: TaskManager, store: any AdminRecords & APIKeyStore & UpdateLog & WebhookStore & TaskRecords,
    updates: TaskUpdateHub, backends: [String: EndpointPool?], pauses: BackendPauses,
    pausesChanged: @escaping @Sendable () async -> Void, hashKey: @escaping @Sendable (String) -> String
  ) {
    self.manager = manager
    self.store = store
    self.updates = updates
    self.backends = backends
    self.pauses = pauses
    self.pausesChanged = pausesChanged
    self.hashKey = hashKey
  }
}

/// The request context: the client's address, for the login rate limit.
struct ConsoleContext: RequestContext {
  var coreContext: CoreRequestContextStorage
  let clientAddress: String

  init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
  }
}

/// The operator console: an HTTP server (Hummingbird) rendering pages on the server (Mustache),
/// kept live by Server-Sent Events from the same update hub as the gRPC streams.
public final class ConsoleServer: Service, Sendable {
  let settings: ConsoleSettings
  let pages: ConsolePages
  let logger: Logger
  let onListening: @Sendable (String) -> Void

  public init(
    settings: ConsoleSettings, dependencies: ConsoleDependencies, logger: Logger,
    onListening: @escaping @Sendable (String) -> Void = { _ in }
  ) throws {
    self.settings = settings
    self.logger = logger
    self.onListening = onListening
    pages = ConsolePages(
      dependencies: dependencies, templates: try ConsoleTemplates.library(),
      sessions: ConsoleSessions(lifetime: settings.sessionLifetime),
      logins: RateLimiter(perMinute: settings.loginAttemptsPerMinute), logger: logger, secureCookie: settings.secureCookie)
  }

  public func run() async throws {
    let router = Router(context: ConsoleContext.self)
    router.add(middleware: SecurityHeaders())
    pages.register(on: router)
    let app = Application(
      router: router, configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: nil),
      onServerRunning: { [onListening, logger] channel in
        let address = channel.localAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?"
        logger.notice("console serving", metadata: ["address": "http://\(address)"])
        onListening(address)
      }, logger: logger)
    try await app.run()
  }
}

/// Sent with every response: a strict Content-Security-Policy (this server's own script and
/// stylesheet only, no inline code), no framing, no sniffing, no referrer.
struct SecurityHeaders: RouterMiddleware {
  typealias Context = ConsoleContext

  static let policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; connect-src 'self'; "
    + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
    var response: Response
    do {
      response = try await next(request, context)
    } catch let error as HTTPError {
      response = error.response(allocator: ByteBufferAllocator())
    } catch let error as EaselError {
      // A refusal of the domain's (a bad page token, too few credits): its message, its status.
      response = HTTPError(error.httpStatus, message: error.message).response(allocator: ByteBufferAllocator())
    }
    response.headers[.contentSecurityPolicy] = Self.policy
    response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
    response.headers[.xContentTypeOptions] = "nosniff"
    response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
    response.headers[.cacheControl] = response.headers[.cacheControl] ?? "no-store"
    return response
  }
}

extension HTTPError {
  func response(allocator: ByteBufferAllocator) -> Response {
    let text = body ?? status.reasonPhrase
    return Response(
      status: status, headers: [.contentType: "text/plain; charset=utf-8"],
      body: .init(byteBuffer: ByteBuffer(string: text)))
  }
}

extension EaselError {
  var httpStatus: HTTPResponse.Status {
    switch code {
    case .invalidArgument, .failedPrecondition: .badRequest
    case .notFound: .notFound
    case .permissionDenied: .forbidden
    case .unauthenticated: .unauthorized
    case .resourceExhausted: .tooManyRequests
    case .unavailable: .serviceUnavailable
    default: .internalServerError
    }
  }
}
