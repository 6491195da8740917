import ArgumentParser
import Foundation

struct ConfigCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "config", abstract: "Show the configuration easeld serve would run with.",
    subcommands: [Print.self])

  struct Print: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print every setting's effective value and where it came from; secrets are masked.",
      discussion: """
        Takes the same flags as serve, and fails as serve would on an invalid setting.
        Example: easeld config print --config /etc/easel/easel.yaml
        """)

    @OptionGroup var options: ServeOptions

    func run() async throws {
      let environment = try await reportingFailures {
        let environment = try options.environment()
        _ = try environment.serverConfiguration()  // the same validation as at start
        return environment
      }
      for setting in Setting.all {
        let value = environment[setting.name]
        let shown = value.map(setting.shown) ?? setting.defaultValue
        let source =
          switch environment.source(of: setting.name) {
          case .flag(let flag): flag
          case .environment: "env"
          case .file(let path): path
          case nil: "default"
          }
        print("\(setting.name)=\(shown)\t# \(source)")
      }
    }
  }
}
