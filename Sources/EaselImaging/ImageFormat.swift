import CEaselVips

/// Image formats Easel accepts from callers, told apart by their bytes.
public enum ImageFormat: String, Sendable, CaseIterable {
  case jpeg, png, webp, heif

  /// Asks libvips which loader would read these bytes; nil for anything Easel does not accept.
  public static func sniff(_ bytes: [UInt8]) -> ImageFormat? {
    guard (try? Vips.start()) != nil else { return nil }
    let loader = bytes.withUnsafeBytes { raw -> String? in
      guard let base = raw.baseAddress, let name = easel_vips_loader(base, raw.count) else { return nil }
      return String(cString: name)
    }
    guard let loader = loader?.lowercased() else { return nil }
    return allCases.first { loader.contains($0.rawValue) }
  }
}
