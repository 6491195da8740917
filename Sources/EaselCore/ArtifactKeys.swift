/// Storage keys, laid out as in the original design: `inputs/{user}/…`, `outputs/{user}/…`,
/// `thumbnails/{user}/…`, `previews/{user}/…`, then the platform, the task and a hash of the content
/// (`outputs/USER/PLATFORM/TASK-HASH.png`), so a key always names the same bytes.
public enum ArtifactKeys {
  public static func key(for kind: ArtifactKind, taskID: String, account: Account, contentType: String, bytes: [UInt8])
    -> String
  {
    var hash = FNV1a()
    hash.add(bytes)
    let digest = String(hash.value, radix: 16)
    let layout = Layout(kind: kind, taskID: taskID, account: account, contentType: contentType)
    return layout.key(digest: String(repeating: "0", count: 16 - digest.count) + digest)
  }

  /// What a store keeps of a key: its content hash alone when it is the key `key(for:…)` makes
  /// for this task, as the rest follows from the task (about 60 bytes a key saved); else the whole
  /// key.
  public static func compact(_ key: String, kind: ArtifactKind, taskID: String, account: Account, contentType: String)
    -> String
  {
    let layout = Layout(kind: kind, taskID: taskID, account: account, contentType: contentType)
    guard key.hasPrefix(layout.prefix), key.hasSuffix(layout.suffix),
      key.utf8.count == layout.prefix.utf8.count + 16 + layout.suffix.utf8.count
    else { return key }
    let digest = String(key.dropFirst(layout.prefix.count).dropLast(layout.suffix.count))
    return isDigest(digest) ? digest : key
  }

  /// The key that `compact` kept.
  public static func expand(_ stored: String, kind: ArtifactKind, taskID: String, account: Account, contentType: String)
    -> String
  {
    isDigest(stored) ? Layout(kind: kind, taskID: taskID, account: account, contentType: contentType).key(digest: stored) : stored
  }

  private static func isDigest(_ text: String) -> Bool {
    text.utf8.count == 16 && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
  }

  /// `FOLDER/USER/PLATFORM/TASK-` and `.EXT` around a key's content hash.
  private struct Layout {
    var prefix: String
    var suffix: String

    init(kind: ArtifactKind, taskID: String, account: Account, contentType: String) {
      let folder =
        switch kind {
        case .input: "inputs"
        case .output: "outputs"
        case .thumbnail: "thumbnails"
        case .preview: "previews"
        }
      prefix = "\(folder)/\(safe(account.userID))/\(safe(account.platform))/\(taskID)-"
      suffix = ".\(fileExtension(contentType))"
    }

    func key(digest: String) -> String { prefix + digest + suffix }
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
