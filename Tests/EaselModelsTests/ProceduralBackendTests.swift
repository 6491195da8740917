import EaselCore
import EaselImaging
import EaselModels
import Synchronization
import Testing

/// Blocking work run where it is called: enough for a test.
struct InlineExecutor: BlockingExecutor {
  func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T { try work() }
}

struct ProceduralBackendTests {
  let imaging: VipsImageProcessor
  let backend: ProceduralBackend

  init() throws {
    imaging = try VipsImageProcessor()
    backend = ProceduralBackend(imaging: imaging, blocking: InlineExecutor())
  }

  func job(prompt: String, seed: Int64) -> GenerationJob {
    GenerationJob(
      taskID: "t", kind: .image, prompt: prompt, parameters: ["seed": .integer(seed), "width": .integer(96), "height": .integer(64)],
      inputImage: nil)
  }

  @Test func theSamePromptAndSeedPaintTheSamePNG() async throws {
    let first = try await backend.generate(job(prompt: "a red fox", seed: 7)) { _ in }
    let again = try await backend.generate(job(prompt: "a red fox", seed: 7)) { _ in }
    let other = try await backend.generate(job(prompt: "a red fox", seed: 8)) { _ in }
    #expect(first.contentType == "image/png" && imaging.contentType(of: first.bytes) == "image/png")
    #expect(first.bytes == again.bytes)
    #expect(first.bytes != other.bytes)
    let size = try imaging.header(first.bytes)
    #expect(size.width == 96 && size.height == 64)
  }

  @Test func progressEndsAtOne() async throws {
    let reports = Reports()
    _ = try await backend.generate(job(prompt: "lanterns", seed: 1)) { reports.append($0.fraction) }
    #expect(reports.values.last == 1)
  }
}

final class Reports: Sendable {
  private let storage = Mutex<[Double]>([])
  func append(_ value: Double) { storage.withLock { $0.append(value) } }
  var values: [Double] { storage.withLock { $0 } }
}
