import EaselCore
import EaselTemplates
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Reads the template files again on SIGHUP or on request. A failed reload keeps the current set,
/// and says so in the log with the file and the reason.
struct TemplateReloader: Service {
  let loader: TemplateLoader
  let directory: URL?
  let catalog: TemplateCatalog
  let logger: Logger

  /// The first load: a problem stops the server, since there is no set to keep.
  func loadAtStart() async throws {
    do {
      _ = try await load()
    } catch let failure as Refusal {
      throw EaselError.failedPrecondition("easeld cannot start: its templates are invalid: \(failure.reason)")
    }
  }

  /// A reload (SIGHUP or ReloadTemplates): the new set, or FAILED_PRECONDITION with the current set kept.
  func reload() async throws -> [Template] {
    do {
      return try await load()
    } catch let failure as Refusal {
      logger.error(
        "templates not reloaded; the current set stays",
        metadata: ["file": "\(failure.file)", "reason": "\(failure.reason)"])
      throw EaselError.failedPrecondition("templates not reloaded; the current set stays: \(failure.reason)")
    }
  }

  /// Why a set of template files was refused, and which file (or folder) it concerns.
  private struct Refusal: Error {
    var file: String
    var reason: String
  }

  private func load() async throws -> [Template] {
    let loaded: [TemplateLoader.Loaded]
    do {
      loaded = try loader.loadFiles(directory: directory)
    } catch {
      throw Refusal(file: error.problems.map(\.file).joined(separator: ", "), reason: error.description)
    }
    let before = catalog.current
    let templates = loaded.map(\.template)
    do {
      try await catalog.replace(with: templates)
    } catch let error as EaselError where error.code == .failedPrecondition {
      // The store refused a changed definition under a known version; its message names the template.
      let file = loaded.first { error.message.contains("template \($0.template.code) version") }?.file
      throw Refusal(file: file ?? directory?.path ?? "built-in", reason: error.message)
    }
    logger.notice("templates loaded", metadata: changes(from: before, to: templates))
    return templates
  }

  /// What a reload changed, by template code: added, removed, and new versions.
  private func changes(from before: [Template], to after: [Template]) -> Logger.Metadata {
    let old = Dictionary(before.map { ($0.code, $0.version) }) { first, _ in first }
    let new = Dictionary(after.map { ($0.code, $0.version) }) { first, _ in first }
    let added = new.keys.filter { old[$0] == nil }.sorted()
    let removed = old.keys.filter { new[$0] == nil }.sorted()
    let updated = new.keys.filter { old[$0] != nil && old[$0] != new[$0] }.sorted().map { "\($0) \(old[$0]!)→\(new[$0]!)" }
    var metadata: Logger.Metadata = ["count": "\(after.count)"]
    if !added.isEmpty { metadata["added"] = "\(added.joined(separator: ", "))" }
    if !removed.isEmpty { metadata["removed"] = "\(removed.joined(separator: ", "))" }
    if !updated.isEmpty { metadata["new_versions"] = "\(updated.joined(separator: ", "))" }
    return metadata
  }

  func run() async throws {
    for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
      logger.info("SIGHUP: reloading the template files")
      _ = try? await reload()  // a refusal is logged by reload
    }
  }
}
