import ArgumentParser

@main
struct Easel: AsyncParsableCommand {

  static let configuration = CommandConfiguration(
    commandName: "easel",
    abstract: "Command-line client for easeld: create generation tasks, follow them, download results.",
    discussion: """
      Settings: flags, then environment variables, then ~/.config/easel/config.toml
      (key = "value" lines for server, token, platform, user, tls and ca_cert; EASEL_CLI_CONFIG names
      another file). Exit codes: 0 success, 1 failure (the server's message on stderr), 64 usage mistake.

      Examples:
        easel credits grant --user alice 100
        easel create --template txt2img --user alice --prompt "a red fox in snow" --wait
        easel download TASK_ID --user alice -o fox.png
      """,
    subcommands: [
      Create.self, Quote.self, Get.self, List.self, Watch.self, Cancel.self, Pin.self, Download.self, BatchCommand.self,
      Templates.self,
      Credits.self,
      Backends.self, Admin.self, Completion.self,
    ])
}

/// How to reach the server and how to print.
struct ConnectionOptions: ParsableArguments {
  @Option(
    help: "unix:PATH, HOST:PORT, or https://HOST:PORT / tls://HOST:PORT for TLS (env EASEL_SERVER, config `server`, default unix:./easel-data/easel.sock).")
  var server: String?

  @Flag(help: "Connect to HOST:PORT with TLS (env EASEL_TLS=1, config `tls`).")
  var tls = false

  @Option(help: "PEM file of the CA (or self-signed certificate) to trust for TLS instead of the system's (env EASEL_CA_CERT, config `ca_cert`).")
  var caCert: String?

  @Option(help: "API key for TCP connections (env EASEL_TOKEN, config `token`).")
  var token: String?

  @Flag(help: "Print JSON for scripts instead of text for people.")
  var json = false
}

/// Who the request acts for.
struct AccountOptions: ParsableArguments {
  @Option(help: "The user the task or credits belong to (env EASEL_USER, config `user`).")
  var user: String?

  @Option(help: "The caller's platform (env EASEL_PLATFORM, config `platform`, default \"default\").")
  var platform: String?

  func validate() throws {
    guard resolvedUser != nil else { throw ValidationError("--user is required (or set EASEL_USER)") }
  }

  var resolvedUser: String? { setting(user, env: "EASEL_USER", file: "user") }
  var userID: String { resolvedUser ?? "" }
  var platformName: String { setting(platform, env: "EASEL_PLATFORM", file: "platform") ?? "" }
}

struct Completion: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print a shell completion script.",
    discussion: """
      Examples:
        easel completion bash > /etc/bash_completion.d/easel
        easel completion zsh > "${fpath[1]}/_easel"
        easel completion fish > ~/.config/fish/completions/easel.fish
      """)

  @Argument(help: "bash, zsh or fish.") var shell: String

  func run() throws {
    guard let kind = CompletionShell(rawValue: shell) else {
      throw ValidationError("unknown shell \(shell); choose bash, zsh or fish")
    }
    print(Easel.completionScript(for: kind))
  }
}
