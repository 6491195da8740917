import ArgumentParser
import EaselRPC
import Foundation
import SwiftProtobuf

/// `easel admin …`: AdminService, for operators (an operator or admin key on TCP).
struct Admin: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Operations: retry failed tasks, pause backends, resend webhooks, read statistics.",
    subcommands: [Retry.self, Pause.self, Resume.self, Pauses.self, Webhooks.self, Redeliver.self, Stats.self])

  struct Retry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Retry one task, or every task a filter matches (count them first with --dry-run).",
      discussion: """
        Examples: easel admin retry TASK_ID --user alice
                  easel admin retry --status failed --backend automatic1111 --error-code model_error --since 2h --dry-run
        """)

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "One task's id (with --user); leave out to retry by filter.") var id: String?
    @Option(help: "The task's user (one task), or only this user's tasks (filter).") var user: String?
    @Option(help: "The platform (one task: the task's; filter: only this platform's).") var platform: String?
    @Option(help: "failed (default), canceled or expired.") var status: String?
    @Option(help: "Only tasks of this backend.") var backend: String?
    @Option(help: "Only tasks of this template.") var template: String?
    @Option(help: "Only tasks that failed with this error code.") var errorCode: String?
    @Option(help: "Only tasks created within this long, e.g. 30m, 2h, 1d.") var since: String?
    @Option(help: "At most this many (1 to 1000).") var limit: Int32 = 100
    @Flag(help: "Count what would be retried; create nothing.") var dryRun = false

    func run() async throws {
      var request = Easel_V1_RetryTaskRequest()
      request.dryRun = dryRun
      request.limit = limit
      if let id {
        guard let user else { throw ValidationError("retrying one task needs --user") }
        request.taskID = id
        request.userID = user
        request.platform = platform ?? ""
      } else {
        request.filter.platform = platform ?? ""
        request.filter.userID = user ?? ""
        request.filter.backend = backend ?? ""
        request.filter.templateCode = template ?? ""
        request.filter.errorCode = errorCode ?? ""
        if let status {
          let statuses: [String: Easel_V1_TaskStatus] = ["failed": .failed, "canceled": .canceled, "expired": .expired]
          guard let value = statuses[status.lowercased()] else { throw ValidationError("--status is failed, canceled or expired") }
          request.filter.status = value
        }
        if let since {
          let ms = try milliseconds(since, option: "--since")
          request.filter.createdAfter = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(-Double(ms) / 1000))
        }
      }
      let response = try await connection.withClients { try await $0.admin.retryTask(request, metadata: $0.metadata) }
      if connection.json { return print(try FullJSON.string(response)) }
      if dryRun { return print("\(response.matched) task(s) would be retried") }
      print("\(response.retried.count) of \(response.matched) retried")
      for task in response.retried { print("  \(task.retryOf) → \(task.id)") }
      for failure in response.failures { print("  \(failure.taskID): \(failure.message)") }
    }
  }

  struct Pause: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Stop dispatch to a backend (or one of its servers); its tasks wait PENDING.",
      discussion: "Example: easel admin pause automatic1111 --reason \"driver upgrade\"")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The backend.") var backend: String
    @Option(help: "One server of its fleet (its URL).") var endpoint: String?
    @Option(help: "Why, for the others.") var reason: String = ""

    func run() async throws {
      let request = Easel_V1_PauseBackendRequest.with {
        $0.backend = backend
        $0.endpoint = endpoint ?? ""
        $0.reason = reason
      }
      let pause = try await connection.withClients { try await $0.admin.pauseBackend(request, metadata: $0.metadata) }
      print(connection.json ? try FullJSON.string(pause) : "paused \(Admin.name(pause))")
    }
  }

  struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Let a paused backend (or server) take tasks again.", discussion: "Example: easel admin resume automatic1111")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The backend.") var backend: String
    @Option(help: "One server of its fleet (its URL).") var endpoint: String?

    func run() async throws {
      let request = Easel_V1_ResumeBackendRequest.with {
        $0.backend = backend
        $0.endpoint = endpoint ?? ""
      }
      let pause = try await connection.withClients { try await $0.admin.resumeBackend(request, metadata: $0.metadata) }
      print(connection.json ? try FullJSON.string(pause) : "resumed \(Admin.name(pause))")
    }
  }

  struct Pauses: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the paused backends and servers.")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let response = try await connection.withClients {
        try await $0.admin.listBackendPauses(.init(), metadata: $0.metadata)
      }
      if connection.json { return print(try FullJSON.string(response)) }
      if response.pauses.isEmpty { print("nothing is paused") }
      for pause in response.pauses {
        print("\(Admin.name(pause))  since \(pause.pausedAt.date.formatted(.iso8601))\(pause.reason.isEmpty ? "" : "  \(pause.reason)")")
      }
    }
  }

  struct Webhooks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "A task's webhook deliveries, or the platform's failed ones.",
      discussion: "Examples: easel admin webhooks --task TASK_ID --user alice; easel admin webhooks --platform web")

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "One task's deliveries.") var task: String?
    @Option(help: "The task's user.") var user: String?
    @Option(help: "The platform.") var platform: String?
    @Option(help: "Failed deliveries shown, 1 to 100.") var limit: Int32 = 20

    func run() async throws {
      let request = Easel_V1_ListWebhookDeliveriesRequest.with {
        $0.taskID = task ?? ""
        $0.userID = user ?? ""
        $0.platform = platform ?? ""
        $0.limit = limit
      }
      let response = try await connection.withClients { try await $0.admin.listWebhookDeliveries(request, metadata: $0.metadata) }
      if connection.json { return print(try FullJSON.string(response)) }
      for delivery in response.deliveries {
        let last = delivery.attempts.last.map { $0.statusCode != 0 ? "HTTP \($0.statusCode)" : $0.error } ?? "not tried"
        print("\(delivery.id)  \(delivery.state)  \(delivery.event)  task \(delivery.taskID)  \(delivery.attempts.count) attempt(s), last: \(last)")
      }
    }
  }

  struct Redeliver: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Send a webhook delivery again, now.", discussion: "Example: easel admin redeliver DELIVERY_ID")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The delivery's id (see `easel admin webhooks`).") var id: String

    func run() async throws {
      let delivery = try await connection.withClients {
        try await $0.admin.redeliverWebhook(.with { $0.deliveryID = id }, metadata: $0.metadata)
      }
      print(connection.json ? try FullJSON.string(delivery) : "delivery \(delivery.id) queued again")
    }
  }

  struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Tasks by status and backend, the last hour, waits and run times.")

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Only this platform's tasks.") var platform: String?

    func run() async throws {
      let stats = try await connection.withClients {
        try await $0.admin.getStats(.with { $0.platform = platform ?? "" }, metadata: $0.metadata)
      }
      if connection.json { return print(try FullJSON.string(stats)) }
      for count in stats.counts { print("\(TextOutput.status(count.status))  \(count.backend)  \(count.count)") }
      let completed = stats.minutes.reduce(0) { $0 + $1.completed }
      let failed = stats.minutes.reduce(0) { $0 + $1.failed }
      print("last hour: \(completed) completed, \(failed) failed")
      print("queue wait p50 \(stats.queueWaitP50Ms) ms, p95 \(stats.queueWaitP95Ms) ms; run time p50 \(stats.runTimeP50Ms) ms, p95 \(stats.runTimeP95Ms) ms")
      for credits in stats.capturedToday { print("captured today: \(credits.platform) \(credits.captured)") }
    }
  }

  static func name(_ pause: Easel_V1_BackendPause) -> String {
    pause.endpoint.isEmpty ? pause.backend : "\(pause.backend) server \(pause.endpoint)"
  }
}
