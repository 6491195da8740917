import EaselCore
import Foundation
import Hummingbird
import NIOCore

/// The pages' data, each read for the session's platform (every platform for operators).
extension ConsolePages {
  func overview(_ session: ConsoleSession) async throws -> Response {
    let stats = try await store.serviceStats(platform: session.platform, now: Date())
    let counts = Dictionary(stats.counts.map { ("\($0.status.rawValue) \($0.backend)", $0.count) }, uniquingKeysWith: +)
    let paused = dependencies.pauses.pausedBackends
    let backends = Set(dependencies.backends.keys).union(stats.counts.map(\.backend)).sorted()
    var values = layout(session, here: "/")
    values["statuses"] = Self.statuses.map(\.rawValue)
    values["rows"] = backends.map { backend in
      [
        "backend": backend, "paused": paused.contains(backend),
        "cells": Self.statuses.map { status in
          ["key": "\(status.rawValue) \(backend)", "count": counts["\(status.rawValue) \(backend)"] ?? 0]
        },
      ] as [String: Any]
    }
    values["completedLastHour"] = stats.minutes.reduce(0) { $0 + $1.completed }
    values["failedLastHour"] = stats.minutes.reduce(0) { $0 + $1.failed }
    values["completedPoints"] = Self.sparkline(stats.minutes.map(\.completed))
    values["failedPoints"] = Self.sparkline(stats.minutes.map(\.failed))
    values["queueWaitP95Ms"] = stats.queueWaitP95Ms
    return try html(render("overview", values))
  }

  func overviewJSON(_ session: ConsoleSession) async throws -> Response {
    let stats = try await store.serviceStats(platform: session.platform, now: Date())
    let body: [String: Any] = [
      "counts": stats.counts.map { ["status": $0.status.rawValue, "backend": $0.backend, "count": $0.count] },
      "completedLastHour": stats.minutes.reduce(0) { $0 + $1.completed },
      "failedLastHour": stats.minutes.reduce(0) { $0 + $1.failed }, "queueWaitP95Ms": stats.queueWaitP95Ms,
    ]
    let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
    return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
  }

  /// 60 values as SVG polyline points in a 240×40 box.
  static func sparkline(_ values: [Int64]) -> String {
    let top = max(values.max() ?? 0, 1)
    return values.enumerated().map { index, value in
      "\(index * 4),\(String(format: "%.1f", 38 - Double(value) / Double(top) * 36))"
    }.joined(separator: " ")
  }

  func tasks(_ request: Request, _ session: ConsoleSession) async throws -> Response {
    let query = request.uri.queryParameters
    func parameter(_ name: String) -> String? { query.get(name).flatMap { $0.isEmpty ? nil : $0 } }
    var filter = TaskFilter()
    filter.status = parameter("status").flatMap(TaskStatus.init(rawValue:))
    filter.platform = session.platform ?? parameter("platform")
    filter.userID = parameter("user")
    filter.backend = parameter("backend")
    filter.templateCode = parameter("template")
    filter.errorCode = parameter("error_code")
    if let since = parameter("since"), let seconds = Self.seconds(since) { filter.createdAfter = Date().addingTimeInterval(-seconds) }
    if let until = parameter("until"), let seconds = Self.seconds(until) { filter.createdBefore = Date().addingTimeInterval(-seconds) }
    let cursor = try parameter("after").map { try TaskCursor(token: $0) }
    let limit = 50
    let found = try await store.tasks(matching: filter, limit: limit + 1, after: cursor)
    let shown = Array(found.prefix(limit))
    var values = layout(session, here: "/tasks", request: request)
    values["statusOptions"] = Self.statuses.map { ["value": $0.rawValue, "selected": $0 == filter.status] }
    values["filterFields"] = [
      ("user", "user"), ("platform", "platform"), ("template", "template"), ("backend", "backend"),
      ("error_code", "error code"), ("since", "created since, e.g. 2h"), ("until", "and before, e.g. 30m"),
    ].filter { $0.0 != "platform" || session.platform == nil }.map { name, placeholder in
      ["name": name, "placeholder": placeholder, "value": parameter(name) ?? ""]
    }
    values["tasks"] = shown.map(Self.row)
    if found.count > limit, let last = shown.last {
      var components = URLComponents()
      components.path = "/tasks"
      components.queryItems =
        ["status", "platform", "user", "template", "backend", "error_code", "since", "until"].compactMap { name in
          parameter(name).map { URLQueryItem(name: name, value: $0) }
        } + [URLQueryItem(name: "after", value: TaskCursor(createdAt: last.createdAt.timeIntervalSince1970, id: last.id).token)]
      values["next"] = components.string
    }
    return try html(render("tasks", values))
  }

  static func row(_ task: GenerationTask) -> [String: Any] {
    withoutEmpty([
      "id": task.id, "status": task.status.rawValue, "progress": Int((task.progress * 100).rounded()),
      "prompt": task.prompt.count > 80 ? String(task.prompt.prefix(80)) + "…" : task.prompt, "user": task.account.userID,
      "platform": task.account.platform, "template": task.template.code, "backend": task.backend, "cost": task.creditCost,
      "attempts": task.attempts, "age": age(task.createdAt),
      "thumbnail": task.thumbnail == nil || task.artifactsExpiredAt != nil ? "" : "/artifacts/\(task.id)/thumbnail",
    ])
  }

  /// Mustache shows a section for any present value, an empty text included: absent ones hide it.
  static func withoutEmpty(_ values: [String: Any]) -> [String: Any] {
    values.filter { !(($0.value as? String)?.isEmpty ?? false) }
  }

  /// "30m", "2h", "1d" in seconds.
  static func seconds(_ text: String) -> Double? {
    guard let unit = text.last, let number = Double(text.dropLast()) else { return nil }
    switch unit {
    case "m": return number * 60
    case "h": return number * 3600
    case "d": return number * 86_400
    default: return nil
    }
  }

  /// The task, if it exists and the session's platform may see it.
  func visibleTask(_ id: String, _ session: ConsoleSession) async throws -> GenerationTask {
    guard let task = try await store.task(id: id), session.sees(task.account.platform) else {
      throw HTTPError(.notFound, message: "task \(id) does not exist")
    }
    return task
  }

  func task(_ id: String, _ session: ConsoleSession) async throws -> Response {
    let task = try await visibleTask(id, session)
    var values = layout(session, here: "/tasks")
    values.merge(Self.row(task)) { $1 }
    values["prompt"] = task.prompt
    values["template"] = "\(task.template.code) v\(task.template.version) — \(task.template.name)"
    values["numOutputs"] = task.numOutputs
    values["created"] = Self.date(task.createdAt)
    values["finished"] = task.finishedAt.map { Self.date($0) } ?? ""
    values["error"] = task.errorCode.isEmpty ? "" : "\(task.errorCode): \(task.errorMessage)"
    values["retryOf"] = task.retryOf ?? ""
    values["cancellable"] = !task.status.isTerminal
    values["retryable"] = task.isRetryable
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    values["parameters"] = String(decoding: try encoder.encode(task.parameters), as: UTF8.self)
    if task.artifactsExpiredAt == nil {
      values["outputs"] = task.outputs.enumerated().map { index, made in
        [
          "number": index + 1, "url": "/artifacts/\(task.id)/output?index=\(index)",
          "thumbnail": "/artifacts/\(task.id)/thumbnail?index=\(index)", "isVideo": made.output.contentType.hasPrefix("video/"),
        ] as [String: Any]
      }
      values["preview"] = task.preview == nil ? "" : "/artifacts/\(task.id)/preview?step=\(task.previewStep)"
      values["previewSlot"] = task.preview != nil || !task.status.isTerminal
      values["previewStep"] = task.previewStep
    }
    let timeline = try await store.updates(ofTask: task.id, account: task.account, afterSequence: 0) ?? []
    values["timeline"] = timeline.map { state in
      [
        "sequence": state.sequence, "at": Self.date(state.updatedAt), "status": state.status.rawValue,
        "progress": Int((state.progress * 100).rounded()), "attempts": state.attempts, "node": state.leaseOwner ?? "",
        "error": state.errorCode.isEmpty ? "" : "\(state.errorCode): \(state.errorMessage)",
      ] as [String: Any]
    }
    values["ledger"] = try await store.ledgerEntries(taskID: task.id).map { entry in
      ["at": Self.date(entry.createdAt), "kind": entry.kind.rawValue, "amount": entry.amount, "reason": entry.reason, "balanceAfter": entry.balanceAfter]
        as [String: Any]
    }
    values["webhooks"] = try await store.webhookDeliveries(taskID: task.id).map { record in
      let last = record.attempts.last.map { attempt in attempt.statusCode.map { "HTTP \($0)" } ?? attempt.error ?? "" } ?? "not tried"
      return [
        "id": record.delivery.id, "event": record.delivery.event.rawValue, "url": record.delivery.url,
        "state": record.state.rawValue, "attempts": record.attempts.count, "last": last,
      ] as [String: Any]
    }
    return try html(render("task", Self.withoutEmpty(values)))
  }

  func artifact(_ request: Request, id: String, kind name: String) async throws -> Response {
    let session = try session(request)
    let task = try await visibleTask(id, session)
    guard let kind = ArtifactKind(rawValue: name) else { throw HTTPError(.notFound, message: "no such artifact kind") }
    let index = request.uri.queryParameters.get("index").flatMap(Int.init) ?? 0
    let artifact: (bytes: [UInt8], contentType: String)
    do {
      artifact = try await manager.artifact(kind, index: index, taskID: task.id, account: task.account)
    } catch let error as EaselError {
      throw HTTPError(.notFound, message: error.message)
    }
    return Response(
      status: .ok, headers: [.contentType: artifact.contentType, .cacheControl: "private, max-age=60"],
      body: .init(byteBuffer: ByteBuffer(bytes: artifact.bytes)))
  }
}
