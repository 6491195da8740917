import Crypto
import Foundation

/// Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
/// keyed with the bytes of the platform's `whsec_…` secret. https://www.standardwebhooks.com
struct WebhookSigner: Sendable {
  let key: SymmetricKey

  init?(secret: String) {
    guard secret.hasPrefix("whsec_"), let bytes = Data(base64Encoded: String(secret.dropFirst("whsec_".count))) else {
      return nil
    }
    key = SymmetricKey(data: bytes)
  }

  func headers(id: String, timestamp: Date, body: [UInt8]) -> [(String, String)] {
    let seconds = String(Int64(timestamp.timeIntervalSince1970))
    var signed = Data("\(id).\(seconds).".utf8)
    signed.append(contentsOf: body)
    let signature = Data(HMAC<SHA256>.authenticationCode(for: signed, using: key)).base64EncodedString()
    return [("webhook-id", id), ("webhook-timestamp", seconds), ("webhook-signature", "v1,\(signature)")]
  }
}
