import Foundation

/// A stable digest of what a request asked for, so a reused idempotency key with different
/// content can be told apart from a retry. Not a security boundary; FNV-1a is enough.
enum RequestFingerprint {
  static func of(template: String, parameters: Parameters, inputImage: [UInt8]?, outputs: Int = 1) -> String {
    var hash = FNV1a()
    hash.add(template)
    if outputs != 1 { hash.add("\u{2}\(outputs)") }  // one output hashes as before outputs could be asked for
    for (name, value) in parameters.sorted(by: { $0.key < $1.key }) {
      hash.add("\u{1}\(name)=\(value.kindTag)\(value.text)")
    }
    if let inputImage { hash.add(inputImage) }
    return String(hash.value, radix: 16)
  }
}

/// FNV-1a, 64 bits: a fast, stable hash (not for security).
public struct FNV1a {
  public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

  public static func hash(_ text: String) -> UInt64 {
    var hash = FNV1a()
    hash.add(text)
    return hash.value
  }

  mutating func add(_ bytes: some Sequence<UInt8>) {
    for byte in bytes {
      value = (value ^ UInt64(byte)) &* 0x100_0000_01b3
    }
  }

  mutating func add(_ text: String) { add(text.utf8) }
}

extension ParameterValue {
  fileprivate var kindTag: String {
    switch self {
    case .string: "s"
    case .integer, .number: "n"
    case .bool: "b"
    }
  }
}
