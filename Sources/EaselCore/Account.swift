/// Who a request acts for. Credits, tasks and artifacts belong to exactly one account.
public struct Account: Hashable, Sendable, Codable, CustomStringConvertible {
  public static let defaultPlatform = "default"
  public static let maxIdentifierLength = 128

  public let platform: String
  public let userID: String

  /// Validates caller-supplied identifiers; an empty platform means `default`.
  public init(platform: String, userID: String) throws(EaselError) {
    let platform = platform.isEmpty ? Account.defaultPlatform : platform
    try Account.check(platform, field: "platform")
    guard !userID.isEmpty else { throw .invalidArgument("user_id is required") }
    try Account.check(userID, field: "user_id")
    self.platform = platform
    self.userID = userID
  }

  private static func check(_ value: String, field: String) throws(EaselError) {
    guard value.count <= maxIdentifierLength else {
      throw .invalidArgument("\(field) is longer than \(maxIdentifierLength) characters")
    }
    guard value.unicodeScalars.allSatisfy({ !$0.properties.isWhitespace && $0.value >= 0x20 && $0.value != 0x7F })
    else { throw .invalidArgument("\(field) must not contain spaces or control characters") }
  }

  public var description: String { "\(platform)/\(userID)" }
}
