/// The media type model APIs' bytes say they are, from their first bytes (their "magic"); the
/// worker then checks the bytes really decode as that.
enum MediaType {
  static func of(_ bytes: [UInt8]) -> String {
    if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
    if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
    if bytes.count > 12, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WEBP".utf8) {
      return "image/webp"
    }
    if bytes.count > 12, Array(bytes[4..<8]) == Array("ftyp".utf8) { return "video/mp4" }
    if bytes.starts(with: [0x1A, 0x45, 0xDF, 0xA3]) { return "video/webm" }
    return "application/octet-stream"
  }
}
