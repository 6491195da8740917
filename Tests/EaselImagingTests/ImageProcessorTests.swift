import EaselCore
import EaselImaging
import Foundation
import Testing

@Suite struct ImageProcessorTests {
  let imaging = try! VipsImageProcessor()

  func gradient(width: Int, height: Int) throws -> [UInt8] {
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
      for x in 0..<width {
        let index = (y * width + x) * 3
        pixels[index] = UInt8(x % 256)
        pixels[index + 1] = UInt8(y % 256)
        pixels[index + 2] = 128
      }
    }
    return try imaging.png(rgb: pixels, width: width, height: height)
  }

  @Test func inputsAreFittedInside1024AsJPEG() throws {
    let png = try gradient(width: 2000, height: 1000)
    #expect(ImageFormat.sniff(png) == .png)
    let normalized = try imaging.normalizeInput(png)
    #expect(ImageFormat.sniff(normalized) == .jpeg)
    let size = try imaging.header(normalized)
    #expect(size.width == 1024 && size.height == 512)
  }

  @Test func smallInputsAreNotEnlarged() throws {
    let normalized = try imaging.normalizeInput(try gradient(width: 300, height: 200))
    let size = try imaging.header(normalized)
    #expect(size.width == 300 && size.height == 200)
  }

  @Test func thumbnailsAreExactly200Square() throws {
    for (width, height) in [(640, 480), (100, 900), (200, 200)] {
      let thumbnail = try imaging.thumbnail(of: try gradient(width: width, height: height))
      #expect(ImageFormat.sniff(thumbnail) == .jpeg)
      let size = try imaging.header(thumbnail)
      #expect(size.width == 200 && size.height == 200, "from \(width)×\(height)")
    }
  }

  @Test func garbageAndTruncatedFilesAreInvalidArguments() throws {
    let png = try gradient(width: 400, height: 400)
    let cases: [(String, [UInt8])] = [
      ("random bytes", (0..<4096).map { _ in UInt8.random(in: 0...255) }),
      ("text", Array("this is not a picture".utf8)),
      ("truncated png", Array(png.prefix(png.count / 2))),
    ]
    for (name, bytes) in cases {
      #expect(throws: EaselError.self, "\(name)") { try imaging.normalizeInput(bytes) }
    }
  }

  /// A deterministic fuzz: mutated PNGs and JPEGs either normalise to a JPEG or are refused with
  /// INVALID_ARGUMENT (or RESOURCE_EXHAUSTED); nothing crashes or hangs.
  @Test func mutatedImagesAreNormalisedOrRefusedNeverCrash() throws {
    let png = try gradient(width: 300, height: 200)
    let jpeg = try imaging.normalizeInput(png)
    var seed: UInt64 = 20_261_129  // fixed, so a failure replays
    let start = seed
    func next() -> Int {
      seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int(truncatingIfNeeded: seed >> 33)
    }
    var refused = 0
    for round in 0..<400 {
      var bytes = round.isMultiple(of: 2) ? png : jpeg
      switch round % 3 {
      case 0: for _ in 0...(next() % 8) { bytes[next() % bytes.count] = UInt8(truncatingIfNeeded: next()) }
      case 1: bytes = Array(bytes.prefix(next() % bytes.count))
      default: bytes.replaceSubrange(20..<(20 + next() % 64), with: (0..<(next() % 64)).map { _ in UInt8(truncatingIfNeeded: next()) })
      }
      do {
        let output = try imaging.normalizeInput(bytes)
        #expect(ImageFormat.sniff(output) == .jpeg, "seed \(start), round \(round)")
      } catch {
        #expect([.invalidArgument, .resourceExhausted].contains(error.code), "seed \(start), round \(round): \(error)")
        refused += 1
      }
    }
    #expect(refused > 0)
  }

  /// WebP, and HEIC and AVIF through libheif (as Debian's libvips has it), made by the `vips` command.
  @Test(arguments: ["webp", "heic", "avif"]) func otherFormatsAreAccepted(_ format: String) throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("easel-formats-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let png = folder.appendingPathComponent("in.png")
    try Data(try gradient(width: 1600, height: 1200)).write(to: png)
    let converted = folder.appendingPathComponent("in.\(format)")
    try vips(["copy", png.path, converted.path])
    let normalized = try imaging.normalizeInput(Array(try Data(contentsOf: converted)))
    #expect(ImageFormat.sniff(normalized) == .jpeg)
    let size = try imaging.header(normalized)
    #expect(size.width == 1024 && size.height == 768)
  }

  @Test func aDecompressionBombIsRefusedFromItsHeader() throws {
    let bomb = PNGBomb.claiming(width: 14000, height: 14000, from: try gradient(width: 8, height: 8))
    #expect(try imaging.header(bomb).width == 14000)
    do {
      _ = try imaging.normalizeInput(bomb)
      Issue.record("a 196-megapixel PNG was accepted")
    } catch {
      #expect(error.code == .invalidArgument)
      #expect(error.message.contains("14000×14000 pixels"))
    }
  }

  @Test func exifOrientationIsAppliedAndStripped() throws {
    // A 3000×2000 camera JPEG whose EXIF says "rotate 90° clockwise to view" (orientation 6).
    let camera = try jpeg(try gradient(width: 3000, height: 2000))
    let rotated = EXIF.withOrientation(6, jpeg: camera)
    let normalized = try imaging.normalizeInput(rotated)
    let size = try imaging.header(normalized)
    #expect(size.height == 1024 && size.width == 683, "upright and fitted inside 1024: \(size)")
    #expect(!normalized.containsExif, "metadata is stripped")
    #expect(rotated.containsExif)
  }

  /// The `vips` command's JPEG (q90) of a PNG, at full size.
  func jpeg(_ png: [UInt8]) throws -> [UInt8] {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("easel-jpeg-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    try Data(png).write(to: folder.appendingPathComponent("in.png"))
    try vips(["copy", folder.appendingPathComponent("in.png").path, folder.appendingPathComponent("out.jpg").path + "[Q=90]"])
    return Array(try Data(contentsOf: folder.appendingPathComponent("out.jpg")))
  }

  func vips(_ arguments: [String]) throws {
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["vips"] + arguments
    try process.run()
    while process.isRunning { usleep(10_000) }
    try #require(process.terminationStatus == 0, "vips \(arguments)")
  }


  @Test func proceduralPNGsDecodeToTheirSize() throws {
    let png = try gradient(width: 320, height: 240)
    let size = try imaging.header(png)
    #expect(size.width == 320 && size.height == 240)
  }
}

/// Rewrites a PNG's IHDR to claim another size (with a valid CRC), as a decompression bomb would.
enum PNGBomb {
  static func claiming(width: UInt32, height: UInt32, from png: [UInt8]) -> [UInt8] {
    var bytes = png
    // 8-byte signature, 4-byte length, "IHDR", then width and height.
    for (offset, value) in [(16, width), (20, height)] {
      for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32(index))) }
    }
    let crc = crc32(bytes[12..<29])
    for index in 0..<4 { bytes[29 + index] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(index))) }
    return bytes
  }

  static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
    }
    return ~crc
  }
}

/// Inserts a minimal EXIF block (just the orientation tag) after a JPEG's start-of-image marker.
enum EXIF {
  static func withOrientation(_ orientation: UInt8, jpeg: [UInt8]) -> [UInt8] {
    let tiff: [UInt8] = [
      0x4D, 0x4D, 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08,  // big-endian TIFF header, IFD at offset 8
      0x00, 0x01,  // one entry
      0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, orientation, 0x00, 0x00,  // Orientation, SHORT, 1
      0x00, 0x00, 0x00, 0x00,  // no next IFD
    ]
    let payload = Array("Exif".utf8) + [0, 0] + tiff
    let length = payload.count + 2
    let segment: [UInt8] = [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload
    return Array(jpeg.prefix(2)) + segment + jpeg.dropFirst(2)
  }
}

extension [UInt8] {
  var containsExif: Bool {
    let marker = Array("Exif".utf8)
    return indices.dropLast(marker.count).contains { Array(self[$0..<$0 + marker.count]) == marker }
  }
}

@Suite struct ImagingMemoryTests {
  /// Resident memory in bytes, from /proc.
  static func residentBytes() throws -> Int {
    let fields = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8).split(separator: " ")
    return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
  }

  /// Other tests run in the same process at the same time, so the bound is loose; a leak of the
  /// decoded image (720 KB a thumbnail) would still show as about 1.4 GB.
  @Test func thousandsOfThumbnailsLeaveMemoryFlat() throws {
    let imaging = try VipsImageProcessor()
    let source = try imaging.png(rgb: [UInt8](repeating: 77, count: 600 * 400 * 3), width: 600, height: 400)
    for _ in 0..<200 { _ = try imaging.thumbnail(of: source) }  // warm up caches and allocators
    let before = try Self.residentBytes()
    for _ in 0..<2000 { _ = try imaging.thumbnail(of: source) }
    let growth = try Self.residentBytes() - before
    #expect(growth < 512 << 20, "resident memory grew by \(growth >> 20) MiB over 2,000 thumbnails")
  }
}
