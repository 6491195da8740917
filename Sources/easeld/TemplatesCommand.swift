import ArgumentParser
import EaselServer
import EaselTemplates
import Foundation

struct TemplatesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "templates", abstract: "Work with template files.", subcommands: [Check.self])

  struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Validate the built-in pack plus a folder of template files, without serving.",
      discussion: "Prints each template that would be served, or each file and its problem (exit 1).")

    @Argument(help: "Folder of template files (env EASEL_TEMPLATES_DIR); leave out to check the built-ins only.")
    var directory: String?

    func run() throws {
      let folder = directory ?? Environment(ProcessInfo.processInfo.environment)["EASEL_TEMPLATES_DIR"]
      do {
        let templates = try TemplateLoader(knownBackends: EaselServer.builtinBackends)
          .load(directory: folder.map { URL(fileURLWithPath: $0) })
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
