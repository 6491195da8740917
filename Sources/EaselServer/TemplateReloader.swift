import EaselCore
import EaselTemplates
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Reads the template files again on SIGHUP or on request. A failed reload keeps the current set.
struct TemplateReloader: Service {
  let loader: TemplateLoader
  let directory: URL?
  let catalog: TemplateCatalog
  let logger: Logger

  func reload() async throws -> [Template] {
    let templates: [Template]
    do {
      templates = try loader.load(directory: directory)
    } catch {
      logger.error("templates not reloaded", metadata: ["problems": "\(error.description)"])
      throw EaselError.failedPrecondition("templates not reloaded; the current set stays: \(error.description)")
    }
    try await catalog.replace(with: templates)
    logger.notice("templates loaded", metadata: ["count": "\(templates.count)"])
    return templates
  }

  func run() async throws {
    for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
      _ = try? await reload()
    }
  }
}
