import ArgumentParser
import EaselCore
import Foundation

struct WebhooksCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "webhooks", abstract: "Webhook signing secrets.", subcommands: [Secret.self])

  struct Secret: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print a platform's webhook signing secret (made on first use), alone on the last line.",
      discussion: """
        Receivers verify each POST with it, as Standard Webhooks libraries do (whsec_ form).
        Example: SECRET=$(easeld webhooks secret --platform web | tail -n 1)
        """)

    @OptionGroup var options: MaintenanceOptions
    @Option(help: "The platform whose webhooks the secret signs.") var platform: String
    @Flag(help: "Replace the secret; deliveries from now on are signed with the new one.") var rotate = false

    func run() async throws {
      let platform = try Account(platform: platform, userID: "-").platform
      let secret = try await reportingFailures {
        try await options.withExistingStore { try await $0.webhookSecret(platform: platform, rotate: rotate, now: Date()) }
      }
      print("webhook signing secret of platform \(platform)\(rotate ? " (new)" : ""):")
      print(secret)
    }
  }
}
