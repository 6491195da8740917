import EaselCore
import Foundation
import Hummingbird
import Logging
import Mustache
import NIOCore

/// The console's routes: the login, the pages, their actions (each POST checked against the
/// session's CSRF token), artifacts and the live event stream.
struct ConsolePages: Sendable {
  static let cookie = "easel_console"
  static let statuses: [TaskStatus] = [.pending, .processing, .completed, .failed, .canceled, .expired]

  let dependencies: ConsoleDependencies
  let templates: MustacheLibrary
  let sessions: ConsoleSessions
  let logins: RateLimiter
  let logger: Logger
  let secureCookie: Bool

  var store: any AdminRecords & APIKeyStore & UpdateLog & WebhookStore & TaskRecords { dependencies.store }
  var manager: TaskManager { dependencies.manager }

  func register(on router: Router<ConsoleContext>) {
    router.get("/assets/console.css") { _, _ in Self.asset(ConsoleAssets.css, type: "text/css; charset=utf-8") }
    router.get("/assets/console.js") { _, _ in Self.asset(ConsoleAssets.javascript, type: "text/javascript; charset=utf-8") }
    router.get("/login") { _, _ in try html(render("login", [:])) }
    router.post("/login") { request, context in try await login(request, context: context) }
    router.post("/logout") { request, _ in
      _ = try await form(request)
      if let token = request.cookies[Self.cookie]?.value { sessions.close(token) }
      var response = Self.redirect("/login")
      response.setCookie(Cookie(name: Self.cookie, value: "", maxAge: 0, path: "/", httpOnly: true, sameSite: .strict))
      return response
    }
    router.get("/") { request, _ in try await page(request) { session in try await overview(session) } }
    router.get("/overview.json") { request, _ in try await overviewJSON(try session(request)) }
    router.get("/tasks") { request, _ in try await page(request) { session in try await tasks(request, session) } }
    router.get("/tasks/:id") { request, context in
      try await page(request) { session in try await task(try context.parameters.require("id"), session) }
    }
    router.post("/tasks/:id/cancel") { request, context in
      let (session, _) = try await form(request)
      let task = try await visibleTask(try context.parameters.require("id"), session)
      _ = try await manager.cancelTask(id: task.id, account: task.account, interruptWait: .seconds(5))
      return Self.redirect("/tasks/\(task.id)?notice=canceled")
    }
    router.post("/tasks/:id/retry") { request, context in
      let (session, _) = try await form(request)
      let task = try await visibleTask(try context.parameters.require("id"), session)
      let retried = try await manager.retry(task)
      return Self.redirect("/tasks/\(retried.id)?notice=retry%20of%20\(task.id)")
    }
    router.post("/webhooks/:id/redeliver") { request, context in
      let (session, _) = try await form(request)
      guard let record = try await store.redeliverWebhook(id: try context.parameters.require("id"), platform: session.platform, now: Date())
      else { throw HTTPError(.notFound, message: "no such webhook delivery") }
      return Self.redirect("/tasks/\(record.delivery.task.id)?notice=webhook%20queued%20again")
    }
    router.get("/artifacts/:id/:kind") { request, context in
      try await artifact(request, id: try context.parameters.require("id"), kind: try context.parameters.require("kind"))
    }
    router.get("/backends") { request, _ in try await page(request) { session in try await backends(session) } }
    router.post("/backends/:name/:action") { request, context in
      try await backendAction(request, name: try context.parameters.require("name"), action: try context.parameters.require("action"))
    }
    router.get("/credits") { request, _ in try await page(request) { session in try await credits(request, session) } }
    router.post("/credits/grant") { request, _ in try await grant(request) }
    router.get("/keys") { request, _ in try await page(request) { session in try await keys(session) } }
    router.post("/keys/:id/revoke") { request, context in
      let (session, _) = try await form(request)
      let id = try context.parameters.require("id")
      guard let key = try await store.apiKeys().first(where: { $0.id == id }), session.sees(key.platform) else {
        throw HTTPError(.notFound, message: "no such key")
      }
      _ = try await store.revokeAPIKey(id: id, now: Date())
      logger.notice("API key revoked in the console", metadata: ["key.id": "\(id)", "by": "\(session.keyName)"])
      return Self.redirect("/keys?notice=key%20\(id)%20revoked")
    }
    router.get("/events") { request, _ in try events(try session(request)) }
  }

  // MARK: Sessions

  func login(_ request: Request, context: ConsoleContext) async throws -> Response {
    guard logins.allow(context.clientAddress) else {
      return try html(render("login", ["error": "Too many attempts from this address; wait a minute."]), status: .tooManyRequests)
    }
    let fields = try await Self.fields(of: request)
    let secret = fields["key"] ?? ""
    guard !secret.isEmpty, let key = try await store.apiKey(secretHash: dependencies.hashKey(secret)), key.revokedAt == nil else {
      return try html(render("login", ["error": "That key is not valid."]), status: .unauthorized)
    }
    guard key.scope == .operator || key.scope == .admin else {
      return try html(
        render("login", ["error": "That key's scope is \(key.scope.rawValue); the console needs an operator or admin key."]),
        status: .forbidden)
    }
    let token = sessions.open(caller: key.caller, keyName: key.name.isEmpty ? key.id : key.name)
    logger.notice("console login", metadata: ["key.id": "\(key.id)", "scope": "\(key.scope.rawValue)"])
    var response = Self.redirect("/")
    response.setCookie(
      Cookie(
        name: Self.cookie, value: token, maxAge: Int(sessions.lifetime.components.seconds), path: "/", secure: secureCookie,
        httpOnly: true, sameSite: .strict))
    return response
  }

  func session(_ request: Request) throws -> ConsoleSession {
    guard let token = request.cookies[Self.cookie]?.value, let session = sessions.session(token) else {
      throw HTTPError(.unauthorized, message: "log in first")
    }
    return session
  }

  /// A page for a logged-in person; anyone else goes to the login.
  func page(_ request: Request, _ render: (ConsoleSession) async throws -> Response) async throws -> Response {
    guard let token = request.cookies[Self.cookie]?.value, let session = sessions.session(token) else { return Self.redirect("/login") }
    return try await render(session)
  }

  /// A posted form, after its CSRF token is checked against the session's.
  func form(_ request: Request) async throws -> (ConsoleSession, [String: String]) {
    let session = try session(request)
    let fields = try await Self.fields(of: request)
    guard let token = fields["csrf"], token == session.csrf else {
      throw HTTPError(.forbidden, message: "missing or wrong CSRF token; reload the page and try again")
    }
    return (session, fields)
  }

  static func fields(of request: Request) async throws -> [String: String] {
    let body = try await request.body.collect(upTo: 64 << 10)
    // application/x-www-form-urlencoded, read leniently: a malformed escape stays as it came.
    func decoded(_ part: Substring) -> String {
      let spaced = part.replacingOccurrences(of: "+", with: " ")
      return spaced.removingPercentEncoding ?? spaced
    }
    var fields: [String: String] = [:]
    for pair in String(buffer: body).split(separator: "&") {
      let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      fields[decoded(parts[0])] = parts.count > 1 ? decoded(parts[1]) : ""
    }
    return fields
  }

  // MARK: Rendering

  func render(_ name: String, _ values: [String: Any]) throws -> String {
    guard let html = templates.render(values, withTemplate: name) else {
      throw HTTPError(.internalServerError, message: "page \(name) is missing")
    }
    return html
  }

  func html(_ text: String, status: HTTPResponse.Status = .ok) throws -> Response {
    Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
  }

  /// The values every page's layout uses.
  func layout(_ session: ConsoleSession, here: String, request: Request? = nil, live: Bool = true) -> [String: Any] {
    let links = [("/", "Overview"), ("/tasks", "Tasks"), ("/backends", "Backends"), ("/credits", "Credits"), ("/keys", "Keys")]
    var values: [String: Any] = [
      "nav": links.map { ["href": $0.0, "label": $0.1, "here": $0.0 == here] },
      "who": "\(session.keyName) (\(session.caller.scope.rawValue)\(session.platform.map { ", platform \($0)" } ?? ", every platform"))",
      "csrf": session.csrf, "live": live,
    ]
    if let notice = request?.uri.queryParameters.get("notice") { values["notice"] = notice }
    return values
  }

  static func asset(_ text: String, type: String) -> Response {
    Response(
      status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=3600"],
      body: .init(byteBuffer: ByteBuffer(string: text)))
  }

  static func redirect(_ location: String) -> Response {
    Response(status: .seeOther, headers: [.location: location])
  }

  static func date(_ date: Date?) -> String { date?.formatted(.iso8601) ?? "" }

  static func age(_ date: Date, now: Date = Date()) -> String {
    let seconds = Int(now.timeIntervalSince(date))
    switch seconds {
    case ..<60: return "\(max(seconds, 0))s"
    case ..<3600: return "\(seconds / 60)m"
    case ..<86_400: return "\(seconds / 3600)h"
    default: return "\(seconds / 86_400)d"
    }
  }
}
