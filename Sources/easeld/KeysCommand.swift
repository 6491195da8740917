import ArgumentParser
import EaselCore
import EaselRPC
import Foundation

/// API keys for TCP callers. They work on the database directly, so they also work while easeld runs.
struct KeysCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "keys", abstract: "Create, list and revoke API keys for TCP callers.",
    subcommands: [Create.self, List.self, Revoke.self])

  struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Create a key. The key is printed once, alone on the last line; only its hash is stored.",
      discussion: "Example: KEY=$(easeld keys create --platform web --scope tasks --name web-backend | tail -n 1)")

    @OptionGroup var options: MaintenanceOptions
    @Option(help: "The platform the key acts for.") var platform: String
    @Option(
      help: """
        subscribe (read and stream), tasks (also create and cancel), admin (also credits, templates and the \
        operations on its platform), operator (the operations on every platform).
        """)
    var scope: String
    @Option(help: "A label to tell keys apart.") var name: String = ""
    @Option(help: "The highest task priority (0-9) the key may ask for.") var maxPriority = FairQueue.defaultPriority

    func validate() throws {
      guard FairQueue.priorities.contains(maxPriority) else { throw ValidationError("--max-priority must be from 0 to 9") }
    }

    func run() async throws {
      guard let scope = Caller.Scope(rawValue: scope) else {
        throw ValidationError("--scope must be subscribe, tasks, admin or operator")
      }
      let account = try Account(platform: platform, userID: "-")
      let secret = APIKeySecret.generate()
      let record = APIKeyRecord(
        id: String(UUID().uuidString.lowercased().prefix(8)), platform: account.platform, scope: scope, name: name,
        createdAt: Date(), revokedAt: nil, maxPriority: maxPriority)
      try await reportingFailures {
        try await options.withExistingStore { try await $0.createAPIKey(record, secretHash: APIKeySecret.hash(secret)) }
      }
      print(
        "created key \(record.id) for platform \(record.platform), scope \(scope.rawValue), max priority \(maxPriority); "
          + "it is shown only now:")
      print(secret)
    }
  }

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
    @OptionGroup var options: MaintenanceOptions

    func run() async throws {
      for key in try await reportingFailures({ try await options.withExistingStore { try await $0.apiKeys() } }) {
        let state = key.revokedAt.map { "revoked \($0.formatted(.iso8601))" } ?? "active"
        print("\(key.id)  \(key.platform)  \(key.scope.rawValue)  \(state)  \(key.name)  max-priority \(key.maxPriority)")
      }
    }
  }

  struct Revoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Revoke a key; it stops working at once.")
    @OptionGroup var options: MaintenanceOptions
    @Argument(help: "The key's id, as `keys list` shows it.") var id: String

    func run() async throws {
      let revoked = try await reportingFailures {
        try await options.withExistingStore { try await $0.revokeAPIKey(id: id, now: Date()) }
      }
      guard revoked else { throw EaseldFailure("no key has id \(id); `easeld keys list` shows them") }
      print("revoked \(id)")
    }
  }
}
