import EaselImaging
import Foundation

/// Figure 5: Easel's input normalisation and thumbnails against the `vipsthumbnail` command doing
/// the same on the same files (large JPEGs), both one file after another with libvips' own threads.
struct ImagingBench {
  struct Figures {
    var files: Int
    var normalizePerSecond: Double
    var vipsNormalizePerSecond: Double
    var thumbnailPerSecond: Double
    var vipsThumbnailPerSecond: Double
  }

  let folder: URL
  let files: Int
  let rounds: Int

  func run() async throws -> Figures {
    let imaging = try VipsImageProcessor(limits: .init(maxInputBytes: 64 << 20))
    let inputs = try makeInputs(imaging)
    let bytes = try inputs.map { Array(try Data(contentsOf: $0)) }
    let output = folder.appendingPathComponent("vips-out")
    try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)

    func rate(_ body: () throws -> Void) rethrows -> Double {
      let start = ContinuousClock.now
      for _ in 0..<rounds { try body() }
      return Double(files * rounds) / (ContinuousClock.now - start).seconds
    }
    let paths = inputs.map(\.path)
    return Figures(
      files: files,
      normalizePerSecond: try rate { for image in bytes { _ = try imaging.normalizeInput(image) } },
      vipsNormalizePerSecond: try rate {
        try shell("vipsthumbnail", paths + ["-s", "1024x1024>", "-o", "\(output.path)/%s_n.jpg[Q=85,strip]"])
      },
      thumbnailPerSecond: try rate { for image in bytes { _ = try imaging.thumbnail(of: image) } },
      vipsThumbnailPerSecond: try rate {
        try shell("vipsthumbnail", paths + ["-s", "200x200", "--smartcrop", "centre", "-o", "\(output.path)/%s_t.jpg[Q=80,strip]"])
      })
  }

  /// 3000×2000 JPEGs (q90) of smooth gradients with some texture, made once per run.
  private func makeInputs(_ imaging: VipsImageProcessor) throws -> [URL] {
    try (0..<files).map { index in
      let (width, height) = (3000, 2000)
      var pixels = [UInt8](repeating: 0, count: width * height * 3)
      for y in 0..<height {
        for x in 0..<width {
          let at = (y * width + x) * 3
          pixels[at] = UInt8((x + index * 40) % 256)
          pixels[at + 1] = UInt8((y * 3 + x / 7) % 256)
          pixels[at + 2] = UInt8((x ^ y) & 0xFF)
        }
      }
      let png = folder.appendingPathComponent("input\(index).png")
      try Data(try imaging.png(rgb: pixels, width: width, height: height)).write(to: png)
      let jpeg = folder.appendingPathComponent("input\(index).jpg")
      try shell("vips", ["copy", png.path, "\(jpeg.path)[Q=90]"])
      return jpeg
    }
  }
}
