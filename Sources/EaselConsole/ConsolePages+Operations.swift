import EaselCore
import Foundation
import Hummingbird
import NIOCore

/// Backends, credits, keys and the live event stream.
extension ConsolePages {
  func backends(_ session: ConsoleSession) async throws -> Response {
    let pauses = try await store.backendPauses()
    var values = layout(session, here: "/backends")
    // Each backend's last failures in the last hour (of the session's platform).
    var failures: [String: [GenerationTask]] = [:]
    for name in dependencies.backends.keys {
      var filter = TaskFilter()
      filter.status = .failed
      filter.backend = name
      filter.platform = session.platform
      filter.createdAfter = Date().addingTimeInterval(-3600)
      failures[name] = try await store.tasks(matching: filter, limit: 3, after: nil)
    }
    values["backends"] = dependencies.backends.keys.sorted().map { name in
      let pause = pauses.first { $0.backend == name && $0.endpoint.isEmpty }
      let statuses = dependencies.backends[name]??.statuses ?? []
      return [
        "name": name, "paused": pause != nil, "reason": pause?.reason ?? "", "canPause": session.platform == nil,
        "errors": (failures[name] ?? []).map { task in
          ["id": task.id, "error": "\(task.errorCode): \(task.errorMessage)", "age": Self.age(task.finishedAt ?? task.updatedAt)]
        },
        "endpoints": statuses.map { status in
          let draining = status.state == .draining
          return [
            "backend": name, "url": status.endpoint.url, "state": status.state.rawValue, "busy": status.busy,
            "capacity": status.endpoint.capacity, "jobs": status.jobs, "failures": status.failures,
            "drainTo": draining ? "false" : "true", "drainLabel": draining ? "Undrain" : "Drain",
          ] as [String: Any]
        },
      ] as [String: Any]
    }
    return try html(render("backends", values))
  }

  func backendAction(_ request: Request, name: String, action: String) async throws -> Response {
    let (session, fields) = try await form(request)
    guard let pool = dependencies.backends[name] else { throw HTTPError(.notFound, message: "no backend \(name)") }
    switch action {
    case "pause", "resume":
      guard session.platform == nil else {
        throw HTTPError(.forbidden, message: "pausing a backend stops every platform's tasks: it needs an operator key")
      }
      let pause = action == "pause" ? BackendPause(backend: name, reason: fields["reason"] ?? "", pausedAt: Date()) : nil
      try await store.setBackendPause(pause, backend: name, endpoint: "")
      await dependencies.pausesChanged()
      logger.notice("backend \(action)d in the console", metadata: ["backend": "\(name)", "by": "\(session.keyName)"])
    case "drain":
      guard let pool, let url = fields["endpoint"], pool.setDraining(url, fields["draining"] == "true") else {
        throw HTTPError(.notFound, message: "backend \(name) has no such server")
      }
    default:
      throw HTTPError(.notFound, message: "no action \(action)")
    }
    return Self.redirect("/backends?notice=\(name)%20\(action)")
  }

  func credits(_ request: Request, _ session: ConsoleSession) async throws -> Response {
    let query = request.uri.queryParameters
    var values = layout(session, here: "/credits", request: request, live: false)
    let platform = session.platform ?? query.get("platform") ?? ""
    values["platform"] = platform
    guard let user = query.get("user"), !user.isEmpty else { return try html(render("credits", values)) }
    values["user"] = user
    let account: Account
    do {
      account = try Account(platform: platform, userID: user)
    } catch {
      throw HTTPError(.badRequest, message: error.message)
    }
    let page = try PageRequest(page: Int32(query.get("page").flatMap(Int.init) ?? 1), limit: 50)
    let balance = try await manager.balance(of: account)
    let ledger = try await manager.ledger(of: account, page: page)
    values["account"] = [
      "balance": balance.balance, "held": balance.held, "available": balance.available,
      "ledger": ledger.items.map { entry in
        Self.withoutEmpty([
          "at": Self.date(entry.createdAt), "kind": entry.kind.rawValue, "amount": entry.amount, "reason": entry.reason,
          "task": entry.taskID ?? "", "balanceAfter": entry.balanceAfter,
        ])
      },
      "next": page.page < ledger.totalPages ? "/credits?platform=\(platform)&user=\(user)&page=\(page.page + 1)" : "",
    ].filter { !(($0.value as? String)?.isEmpty ?? false) } as [String: Any]
    return try html(render("credits", values))
  }

  /// A grant (positive) or an adjustment (negative), with the reason the form requires.
  func grant(_ request: Request) async throws -> Response {
    let (session, fields) = try await form(request)
    let platform = session.platform ?? fields["platform"] ?? ""
    let user = fields["user"] ?? ""
    guard let amount = Int64(fields["amount"] ?? ""), amount != 0 else {
      throw HTTPError(.badRequest, message: "the amount must be a whole number other than 0")
    }
    let reason = (fields["reason"] ?? "").trimmingCharacters(in: .whitespaces)
    guard !reason.isEmpty else { throw HTTPError(.badRequest, message: "a reason is required") }
    do {
      let account = try Account(platform: platform, userID: user)
      let key = "console-\(ConsoleSessions.randomToken().prefix(16))"
      if amount > 0 {
        _ = try await manager.grantCredits(to: account, amount: amount, reason: reason, idempotencyKey: key)
      } else {
        _ = try await manager.adjustCredits(of: account, by: amount, reason: reason, idempotencyKey: key)
      }
    } catch let error as EaselError {
      throw HTTPError(.badRequest, message: error.message)
    }
    logger.notice("credits changed in the console", metadata: ["platform": "\(platform)", "user": "\(user)", "amount": "\(amount)", "by": "\(session.keyName)"])
    var components = URLComponents()
    components.path = "/credits"
    components.queryItems = [.init(name: "platform", value: platform), .init(name: "user", value: user), .init(name: "notice", value: "applied \(amount)")]
    return Self.redirect(components.string ?? "/credits")
  }

  func keys(_ session: ConsoleSession) async throws -> Response {
    var values = layout(session, here: "/keys", live: false)
    values["keys"] = try await store.apiKeys().filter { session.sees($0.platform) }.map { key in
      [
        "id": key.id, "platform": key.platform, "scope": key.scope.rawValue, "name": key.name,
        "created": Self.date(key.createdAt), "revoked": key.revokedAt != nil,
        "state": key.revokedAt.map { "revoked \(Self.date($0))" } ?? "active",
      ] as [String: Any]
    }
    return try html(render("keys", values))
  }

  /// Server-Sent Events: each change of a task the session may see, as `event: task` with the
  /// fields a page shows; a comment every 15 s keeps proxies from closing an idle stream.
  func events(_ session: ConsoleSession) throws -> Response {
    let changes = session.platform.map { dependencies.updates.subscribe(.init(scope: .platform($0), taskID: nil)) }
      ?? dependencies.updates.subscribeEverywhere()
    let (messages, feed) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(256))
    let producer = Task {
      await withTaskGroup(of: Void.self) { group in
        group.addTask {
          do {
            for try await change in changes { feed.yield(Self.event(change.task)) }
          } catch {}
          feed.finish()
        }
        group.addTask {
          while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(15))
            feed.yield(": keep-alive\n\n")
          }
        }
        await group.next()
        group.cancelAll()
      }
    }
    return Response(
      status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
      body: ResponseBody { writer in
        defer { producer.cancel() }
        try await writer.write(ByteBuffer(string: ": connected\n\n"))
        for await message in messages { try await writer.write(ByteBuffer(string: message)) }
        try await writer.finish(nil)
      })
  }

  static func event(_ task: GenerationTask) -> String {
    let fields: [String: Any] = [
      "id": task.id, "status": task.status.rawValue, "progress": Int((task.progress * 100).rounded()),
      "attempts": task.attempts, "platform": task.account.platform, "user": task.account.userID, "backend": task.backend,
      "previewStep": task.previewStep,
    ]
    let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
    return "event: task\ndata: \(String(decoding: data, as: UTF8.self))\n\n"
  }
}
