import EaselCore
import EaselImaging

/// A deterministic MP4: drifting colour gradients picked from the prompt and seed, or, with an
/// input image, a slow zoom into it. x264 runs single-threaded so the same input gives the same bytes.
struct ProceduralClip {
  static let sizes = ["480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080), "4k": (3840, 2160)]

  let width: Int
  let height: Int
  let fps: Int
  let duration: Int
  let colours: [String]
  let speed: Double
  let seed: UInt64
  let inputImage: [UInt8]?

  init(job: GenerationJob, seed: UInt64) {
    (width, height) = Self.sizes[job.parameters["resolution"]?.stringValue ?? "720p"] ?? (1280, 720)
    fps = Int(job.parameters["fps"]?.integerValue ?? 24)
    duration = Int(job.parameters["duration"]?.integerValue ?? 5)
    var generator = SplitMix64(seed: seed ^ FNV1a.hash(job.prompt))
    colours = (0..<3).map { _ in "0x" + String(generator.next() & 0xFF_FFFF, radix: 16).leftPadded(to: 6) }
    speed = 0.005 + generator.unit() * 0.03
    self.seed = seed
    inputImage = job.inputImage
  }

  func encode(with ffmpeg: FFmpeg) async throws -> GeneratedMedia {
    let frames = fps * duration
    let source: [String]
    if inputImage != nil {
      source = [
        "-loop", "1", "-framerate", "\(fps)", "-i", "{in}", "-vf",
        "scale=\(width * 2):\(height * 2):force_original_aspect_ratio=increase,crop=\(width * 2):\(height * 2),"
          + "zoompan=z='min(zoom+0.0015,1.5)':d=\(frames):s=\(width)x\(height):fps=\(fps)",
      ]
    } else {
      source = [
        "-f", "lavfi", "-i",
        "gradients=s=\(width)x\(height):r=\(fps):d=\(duration):seed=\(seed % 4_294_967_296):speed=\(speed):n=3:"
          + "c0=\(colours[0]):c1=\(colours[1]):c2=\(colours[2])",
      ]
    }
    let encoding = [
      "-frames:v", "\(frames)", "-c:v", "libx264", "-preset", "ultrafast", "-threads", "1", "-pix_fmt", "yuv420p",
      "-movflags", "+faststart", "-f", "mp4", "{out}",
    ]
    let bytes = try await ffmpeg.run(source + encoding, input: inputImage, outputName: "clip.mp4")
    return GeneratedMedia(bytes: bytes, contentType: "video/mp4")
  }
}

extension String {
  fileprivate func leftPadded(to length: Int) -> String {
    String(repeating: "0", count: max(0, length - count)) + self
  }
}
