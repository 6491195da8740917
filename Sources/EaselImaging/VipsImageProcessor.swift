import CEaselVips
import EaselCore

/// Image work through libvips: untrusted inputs are sniffed, size-checked from their header,
/// fully decoded, rotated upright, stripped and re-encoded.
public struct VipsImageProcessor: ImageProcessor {
  public struct Limits: Sendable {
    public var maxInputBytes: Int
    /// Checked from the header, before any pixel is decoded.
    public var maxInputPixels: Int
    /// libvips worker threads per operation; 0 means one per core.
    public var concurrency: Int
    /// Operations libvips keeps in its cache.
    public var cacheMaxOperations: Int

    public init(
      maxInputBytes: Int = 4 << 20, maxInputPixels: Int = 40_000_000, concurrency: Int = 0, cacheMaxOperations: Int = 100
    ) {
      self.maxInputBytes = maxInputBytes
      self.maxInputPixels = maxInputPixels
      self.concurrency = concurrency
      self.cacheMaxOperations = cacheMaxOperations
    }
  }

  public static let inputMaxSize: Int32 = 1024
  public static let inputQuality: Int32 = 85
  public static let thumbnailSize: Int32 = 200
  public static let thumbnailQuality: Int32 = 80
  public static let previewMaxSize: Int32 = 512
  public static let previewQuality: Int32 = 70

  let limits: Limits

  public init(limits: Limits = Limits()) throws {
    try Vips.start(concurrency: limits.concurrency, cacheMaxOperations: limits.cacheMaxOperations)
    self.limits = limits
  }

  public func normalizeInput(_ bytes: [UInt8]) throws(EaselError) -> [UInt8] {
    guard bytes.count <= limits.maxInputBytes else {
      throw EaselError(.resourceExhausted, "input_image is \(bytes.count) bytes; the limit is \(limits.maxInputBytes) bytes")
    }
    guard ImageFormat.sniff(bytes) != nil else {
      throw .invalidArgument("input_image is not a JPEG, PNG, WebP or HEIF image")
    }
    let size = try header(bytes, field: "input_image")
    guard size.width * size.height <= limits.maxInputPixels else {
      throw .invalidArgument(
        "input_image is \(size.width)×\(size.height) pixels; the limit is \(limits.maxInputPixels) pixels")
    }
    return try transform(bytes, field: "input_image") { input, out, length in
      easel_vips_fit_jpeg(input.baseAddress!, input.count, Self.inputMaxSize, Self.inputQuality, out, length)
    }
  }

  public func thumbnail(of bytes: [UInt8]) throws(EaselError) -> [UInt8] {
    guard ImageFormat.sniff(bytes) != nil else { throw .invalidArgument("the output is not an image") }
    return try transform(bytes, field: "output") { input, out, length in
      easel_vips_cover_jpeg(input.baseAddress!, input.count, Self.thumbnailSize, Self.thumbnailQuality, out, length)
    }
  }

  public func preview(of bytes: [UInt8]) throws(EaselError) -> [UInt8] {
    guard ImageFormat.sniff(bytes) != nil else { throw .invalidArgument("the preview is not an image") }
    return try transform(bytes, field: "preview") { input, out, length in
      easel_vips_fit_jpeg(input.baseAddress!, input.count, Self.previewMaxSize, Self.previewQuality, out, length)
    }
  }

  public func contentType(of bytes: [UInt8]) -> String? {
    ImageFormat.sniff(bytes).map { "image/\($0.rawValue)" }
  }

  /// Width and height from the header alone, without decoding pixels.
  public func header(_ bytes: [UInt8], field: String = "image") throws(EaselError) -> (width: Int, height: Int) {
    guard !bytes.isEmpty else { throw .invalidArgument("\(field) is empty") }
    var width: Int32 = 0
    var height: Int32 = 0
    let status = bytes.withUnsafeBytes { raw in
      easel_vips_header(raw.baseAddress!, raw.count, &width, &height)
    }
    guard status == 0 else { throw .invalidArgument("\(field) can't be read: \(Vips.takeError())") }
    return (Int(width), Int(height))
  }

  /// Encodes packed RGB pixels as PNG.
  public func png(rgb pixels: [UInt8], width: Int, height: Int) throws -> [UInt8] {
    precondition(pixels.count == width * height * 3, "pixel buffer does not match the size")
    return try pixels.withUnsafeBufferPointer { pixels in
      try Vips.buffer { out, length in
        easel_vips_png_from_rgb(pixels.baseAddress!, Int32(width), Int32(height), out, length)
      }
    }
  }

  /// Runs a shim call that reads `bytes` and hands out a new buffer; libvips' failure becomes INVALID_ARGUMENT.
  private func transform(
    _ bytes: [UInt8], field: String,
    _ call: (UnsafeRawBufferPointer, UnsafeMutablePointer<UnsafeMutableRawPointer?>, UnsafeMutablePointer<Int>) -> Int32
  ) throws(EaselError) -> [UInt8] {
    do {
      return try bytes.withUnsafeBytes { raw in try Vips.buffer { out, length in call(raw, out, length) } }
    } catch {
      throw .invalidArgument("\(field) can't be decoded: \(error)")
    }
  }
}
