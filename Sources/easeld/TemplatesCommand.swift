import ArgumentParser
import EaselServer
import EaselTemplates
import Foundation

struct TemplatesCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "templates", abstract: "Work with template files.", subcommands: [Check.self])

  struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Validate the built-in pack plus a folder of template files, without serving.",
      discussion: """
        Checks what `easeld serve` would load with the same --config, environment and flags: the
        templates folder and the backends configured there. Prints each template that would be
        served, or each file and its problem (exit 1).
        """)

    @OptionGroup var options: MaintenanceOptions

    @Argument(help: "Folder of template files (default: EASEL_TEMPLATES_DIR, or the config file's templates_dir).")
    var directory: String?

    func run() async throws {
      let configuration = try await reportingFailures { try options.configuration() }
      let folder = directory.map { URL(fileURLWithPath: $0) } ?? configuration.templatesDirectory
      do {
        let templates = try configuration.templateLoader(backends: EaselServer.backendNames(for: configuration)).load(directory: folder)
        for template in templates {
          print("\(template.code) v\(template.version)  \(template.kind.rawValue)  \(template.backend)  \(template.name)")
        }
        print("\(templates.count) templates OK")
      } catch {
        FileHandle.standardError.write(Data("\(error.description)\n".utf8))
        throw ExitCode(1)
      }
    }
  }
}
