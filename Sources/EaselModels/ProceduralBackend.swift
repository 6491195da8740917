import EaselCore
import EaselImaging
import Foundation

/// The offline backend: paints a deterministic picture (libvips) or clip (ffmpeg) from the prompt
/// and seed, with no network, so Easel works out of the box and tests and benchmarks can shape load
/// with `delay`.
public struct ProceduralBackend: ModelBackend {
  let imaging: VipsImageProcessor
  let ffmpeg: FFmpeg
  let delay: Duration
  let blocking: any BlockingExecutor

  public init(imaging: VipsImageProcessor, blocking: any BlockingExecutor, ffmpeg: FFmpeg = FFmpeg(), delay: Duration = .zero) {
    self.imaging = imaging
    self.blocking = blocking
    self.ffmpeg = ffmpeg
    self.delay = delay
  }

  public func generate(_ job: GenerationJob, progress: @escaping ProgressHandler) async throws
    -> GeneratedMedia
  {
    if delay > .zero { try await Task.sleep(for: delay) }
    let seed = UInt64(truncatingIfNeeded: job.parameters["seed"]?.integerValue ?? 0)
    if job.kind == .video {
      let clip = ProceduralClip(job: job, seed: seed)
      let media = try await clip.encode(with: ffmpeg)
      await progress(GenerationProgress(1))
      return media
    }
    let width = Int(job.parameters["width"]?.integerValue ?? 512)
    let height = Int(job.parameters["height"]?.integerValue ?? 512)
    let painting = ProceduralPainting(prompt: job.prompt, seed: seed)
    let png = try await blocking.run { [imaging] in
      try imaging.png(rgb: painting.render(width: width, height: height), width: width, height: height)
    }
    await progress(GenerationProgress(1))
    return GeneratedMedia(bytes: png, contentType: "image/png")
  }
}

/// Layered colour waves whose directions, frequencies and palette come from a hash of prompt and seed.
struct ProceduralPainting {
  struct Wave {
    var dx: Float, dy: Float, frequency: Float, phase: Float
  }

  let waves: [Wave]
  let palette: [(Float, Float, Float)]

  init(prompt: String, seed: UInt64) {
    var generator = SplitMix64(seed: seed ^ FNV1a.hash(prompt))
    waves = (0..<3).map { _ in
      let angle = Float(generator.unit()) * 2 * .pi
      return Wave(
        dx: cos(angle), dy: sin(angle), frequency: 2 + Float(generator.unit()) * 10, phase: Float(generator.unit()) * 6)
    }
    palette = (0..<3).map { _ in (Float(generator.unit()), Float(generator.unit()), Float(generator.unit())) }
  }

  func render(width: Int, height: Int) -> [UInt8] {
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    let scale = 1 / Float(max(width, height))
    pixels.withUnsafeMutableBufferPointer { out in
      for y in 0..<height {
        for x in 0..<width {
          let u = Float(x) * scale, v = Float(y) * scale
          var rgb: (Float, Float, Float) = (0, 0, 0)
          for (wave, colour) in zip(waves, palette) {
            let intensity = 0.5 + 0.5 * sin((u * wave.dx + v * wave.dy) * wave.frequency * 2 * .pi + wave.phase)
            rgb.0 += intensity * colour.0
            rgb.1 += intensity * colour.1
            rgb.2 += intensity * colour.2
          }
          let index = (y * width + x) * 3
          out[index] = UInt8(min(255, rgb.0 * 110))
          out[index + 1] = UInt8(min(255, rgb.1 * 110))
          out[index + 2] = UInt8(min(255, rgb.2 * 110))
        }
      }
    }
    return pixels
  }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64).
struct SplitMix64: RandomNumberGenerator {
  private var state: UInt64
  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
