import ArgumentParser

@main
struct Easeld: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "easeld",
    abstract: "The Easel server: AI image and video generation as paid, tracked tasks, over gRPC.",
    subcommands: [Serve.self, KeysCommand.self, CheckLedger.self, TemplatesCommand.self, PurgeCommand.self, ConfigCommand.self, WebhooksCommand.self],
    defaultSubcommand: Serve.self)
}
