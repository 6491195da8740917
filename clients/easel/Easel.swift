import ArgumentParser

@main
struct Easel: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "easel",
    abstract: "Command-line client for easeld: create generation tasks, follow them, download results.",
    discussion: """
      Examples:
        easel credits grant --user alice 100
        easel create --template txt2img --user alice --prompt "a red fox in snow" --wait
        easel download TASK_ID --user alice -o fox.png
      """,
    subcommands: [
      Create.self, Get.self, List.self, Watch.self, Cancel.self, Download.self, Templates.self, Credits.self,
    ])
}

/// How to reach the server and how to print.
struct ConnectionOptions: ParsableArguments {
  @Option(help: "unix:PATH or HOST:PORT (env EASEL_SERVER, default unix:./easel-data/easel.sock).")
  var server: String?

  @Option(help: "API key for TCP connections (env EASEL_TOKEN).")
  var token: String?

  @Flag(help: "Print JSON for scripts instead of text for people.")
  var json = false
}

/// Who the request acts for.
struct AccountOptions: ParsableArguments {
  @Option(help: "The user the task or credits belong to (env EASEL_USER).")
  var user: String?

  @Option(help: "The caller's platform (env EASEL_PLATFORM, default \"default\").")
  var platform: String?

  func validate() throws {
    guard resolvedUser != nil else { throw ValidationError("--user is required (or set EASEL_USER)") }
  }

  var resolvedUser: String? { user ?? environment("EASEL_USER") }
  var userID: String { resolvedUser ?? "" }
  var platformName: String { platform ?? environment("EASEL_PLATFORM") ?? "" }
}
