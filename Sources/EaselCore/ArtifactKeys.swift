/// Storage keys, laid out as in the original design: `inputs/{user}/…`, `outputs/{user}/…`,
/// `thumbnails/{user}/…`, `previews/{user}/…`, then the platform, the task and a hash of the content
/// (`outputs/USER/PLATFORM/TASK-HASH.png`), so a key always names the same bytes.
public enum ArtifactKeys {
  public static func key(for kind: ArtifactKind, taskID: String, account: Account, contentType: String, bytes: [UInt8])
    -> String
  {
    let folder =
      switch kind {
      case .input: "inputs"
      case .output: "outputs"
      case .thumbnail: "thumbnails"
      case .preview: "previews"
      }
    var hash = FNV1a()
    hash.add(bytes)
    let digest = String(hash.value, radix: 16)
    let name = "\(taskID)-\(String(repeating: "0", count: 16 - digest.count))\(digest).\(fileExtension(contentType))"
    return "\(folder)/\(safe(account.userID))/\(safe(account.platform))/\(name)"
  }

  static func fileExtension(_ contentType: String) -> String {
    switch contentType {
    case "image/png": "png"
    case "image/jpeg": "jpg"
    case "image/webp": "webp"
    case "video/mp4": "mp4"
    case "video/webm": "webm"
    default: "bin"
    }
  }

  /// Keeps a path segment inside its folder whatever the caller's identifiers contain.
  static func safe(_ segment: String) -> String {
    let allowed = segment.unicodeScalars.map { scalar -> String in
      switch scalar {
      case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": String(scalar)
      default: "%" + String(scalar.value, radix: 16)
      }
    }.joined()
    return allowed.hasPrefix(".") ? "%2e" + allowed.dropFirst() : allowed
  }
}
