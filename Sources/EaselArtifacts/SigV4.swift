import Crypto
import EaselCore
import Foundation

/// AWS Signature Version 4 for S3: signed request headers, and presigned URLs.
/// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
struct SigV4: Sendable {
  var accessKeyID: String
  var secretAccessKey: String
  var sessionToken: String?
  var region: String

  static let unsignedPayload = "UNSIGNED-PAYLOAD"

  /// The headers to send with a request: `x-amz-date`, `x-amz-content-sha256`, the token if any,
  /// and `authorization`.
  func headers(method: String, url: URL, payload: [UInt8], now: Date) -> [(String, String)] {
    let (date, stamp) = Self.timestamps(now)
    let payloadHash = Self.hex(SHA256.hash(data: payload))
    var signed: [(String, String)] = [("host", Self.host(url)), ("x-amz-content-sha256", payloadHash), ("x-amz-date", stamp)]
    if let sessionToken { signed.append(("x-amz-security-token", sessionToken)) }
    signed.sort { $0.0 < $1.0 }
    let signedNames = signed.map(\.0).joined(separator: ";")
    let canonical = [
      method, Self.canonicalPath(url), Self.canonicalQuery(url.query.map(Self.pairs) ?? []),
      signed.map { "\($0.0):\($0.1)\n" }.joined(), signedNames, payloadHash,
    ].joined(separator: "\n")
    let signature = sign(canonical, date: date, stamp: stamp)
    let authorization =
      "AWS4-HMAC-SHA256 Credential=\(accessKeyID)/\(scope(date)), SignedHeaders=\(signedNames), Signature=\(signature)"
    return signed.filter { $0.0 != "host" } + [("authorization", authorization)]
  }

  /// A GET URL anyone may use until it expires, signed in its query string.
  func presignedGET(url: URL, expires: Duration, now: Date) -> URL {
    let (date, stamp) = Self.timestamps(now)
    var query = [
      ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", "\(accessKeyID)/\(scope(date))"),
      ("X-Amz-Date", stamp), ("X-Amz-Expires", String(expires.components.seconds)), ("X-Amz-SignedHeaders", "host"),
    ]
    if let sessionToken { query.append(("X-Amz-Security-Token", sessionToken)) }
    let canonicalQuery = Self.canonicalQuery(query)
    let canonical = [
      "GET", Self.canonicalPath(url), canonicalQuery, "host:\(Self.host(url))\n", "host", Self.unsignedPayload,
    ].joined(separator: "\n")
    let signature = sign(canonical, date: date, stamp: stamp)
    var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
    components.percentEncodedQuery = canonicalQuery + "&X-Amz-Signature=\(signature)"
    return components.url!
  }

  private func scope(_ date: String) -> String { "\(date)/\(region)/s3/aws4_request" }

  private func sign(_ canonicalRequest: String, date: String, stamp: String) -> String {
    let stringToSign = [
      "AWS4-HMAC-SHA256", stamp, scope(date), Self.hex(SHA256.hash(data: Data(canonicalRequest.utf8))),
    ].joined(separator: "\n")
    var key = SymmetricKey(data: Data("AWS4\(secretAccessKey)".utf8))
    for part in [date, region, "s3", "aws4_request"] {
      key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
    }
    return Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
  }

  private static func timestamps(_ now: Date) -> (date: String, stamp: String) {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
    let stamp = formatter.string(from: now)
    return (String(stamp.prefix(8)), stamp)
  }

  static func host(_ url: URL) -> String {
    guard let port = url.port, !(url.scheme == "http" && port == 80), !(url.scheme == "https" && port == 443) else {
      return url.host ?? ""
    }
    return "\(url.host ?? ""):\(port)"
  }

  /// The path exactly as sent: callers build URLs from already-encoded keys (see `S3ArtifactStore`).
  private static func canonicalPath(_ url: URL) -> String {
    let path = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedPath ?? "/"
    return path.isEmpty ? "/" : path
  }

  private static func pairs(_ query: String) -> [(String, String)] {
    query.split(separator: "&").map { item in
      let parts = item.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
      return (parts[0], parts.count > 1 ? parts[1] : "")
    }
  }

  private static func canonicalQuery(_ pairs: [(String, String)]) -> String {
    pairs.map { (encode($0.0), encode($0.1)) }.sorted { $0 < $1 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
  }

  /// RFC 3986 encoding as SigV4 wants it: only unreserved characters stay (and `/` when asked).
  static func encode(_ text: String, keepingSlashes: Bool = false) -> String {
    var allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    if keepingSlashes { allowed.insert("/") }
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
  }

  static func hex<D: Sequence<UInt8>>(_ digest: D) -> String { digest.hexadecimal }
}
