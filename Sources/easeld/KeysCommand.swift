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

    @OptionGroup var data: DataFolderOption
    @Option(help: "The platform the key acts for.") var platform: String
    @Option(help: "subscribe (read and stream), tasks (also create and cancel), admin (also credits and templates).")
    var scope: String
    @Option(help: "A label to tell keys apart.") var name: String = ""

    func run() async throws {
      guard let scope = Caller.Scope(rawValue: scope) else {
        throw ValidationError("--scope must be subscribe, tasks or admin")
      }
      let account = try Account(platform: platform, userID: "-")
      let secret = APIKeySecret.generate()
      let record = APIKeyRecord(
        id: String(UUID().uuidString.lowercased().prefix(8)), platform: account.platform, scope: scope, name: name,
        createdAt: Date(), revokedAt: nil)
      try await data.withStore { try await $0.createAPIKey(record, secretHash: APIKeySecret.hash(secret)) }
      print("created key \(record.id) for platform \(record.platform), scope \(scope.rawValue); it is shown only now:")
      print(secret)
    }
  }

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
    @OptionGroup var data: DataFolderOption

    func run() async throws {
      for key in try await data.withStore({ try await $0.apiKeys() }) {
        let state = key.revokedAt.map { "revoked \($0.formatted(.iso8601))" } ?? "active"
        print("\(key.id)  \(key.platform)  \(key.scope.rawValue)  \(state)  \(key.name)")
      }
    }
  }

  struct Revoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Revoke a key; it stops working at once.")
    @OptionGroup var data: DataFolderOption
    @Argument(help: "The key's id, as `keys list` shows it.") var id: String

    func run() async throws {
      guard try await data.withStore({ try await $0.revokeAPIKey(id: id, now: Date()) }) else { throw ValidationError("no key has id \(id)") }
      print("revoked \(id)")
    }
  }
}
