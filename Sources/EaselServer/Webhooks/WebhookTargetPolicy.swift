import EaselCore
import Foundation

/// Keeps webhooks off the operator's own network (SSRF): a URL must be http(s) and every address
/// its host resolves to must be public — not loopback, private, link-local (cloud metadata lives
/// there), shared, multicast or reserved — unless the operator allows the host or a CIDR holding
/// the address (`EASEL_WEBHOOK_ALLOWED_HOSTS`). Checked when a task is created and again before
/// each delivery attempt, since DNS answers can change.
public struct WebhookTargetPolicy: WebhookGuard {
  let allowedHosts: Set<String>
  let allowedNetworks: [IPNetwork]

  /// `allowed`: host names, IP addresses and CIDRs (`127.0.0.1`, `hooks.internal`, `10.1.0.0/16`).
  public init(allowed: [String]) throws(EaselError) {
    var hosts: Set<String> = []
    var networks: [IPNetwork] = []
    for entry in allowed.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !entry.isEmpty {
      if let network = IPNetwork(entry) {
        networks.append(network)
      } else if entry.contains("/") {
        throw .invalidArgument("EASEL_WEBHOOK_ALLOWED_HOSTS: \(entry) is not a valid CIDR")
      } else {
        hosts.insert(entry)
      }
    }
    allowedHosts = hosts
    allowedNetworks = networks
  }

  public func check(_ text: String) async throws(EaselError) {
    guard text.count <= WebhookRequest.maxURLLength else {
      throw .invalidArgument("webhook_url is longer than \(WebhookRequest.maxURLLength) characters")
    }
    guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
      let host = url.host?.lowercased(), !host.isEmpty, url.user == nil, url.password == nil
    else { throw .invalidArgument("webhook_url must be an http:// or https:// URL without credentials; got \(text)") }
    if allowedHosts.contains(host) { return }
    let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
    let addresses: [IPAddress]
    if let literal = IPAddress(bare) {
      addresses = [literal]
    } else {
      do {
        addresses = try await ThreadPools.resolver.run { try IPAddress.resolve(bare) }
      } catch {
        throw .invalidArgument("webhook_url host \(host) does not resolve")
      }
    }
    for address in addresses where !allowedNetworks.contains(where: { $0.contains(address) }) {
      if let reason = address.nonPublicReason {
        throw .invalidArgument(
          "webhook_url host \(host) is \(address) (\(reason)); the operator may allow it with EASEL_WEBHOOK_ALLOWED_HOSTS")
      }
    }
  }
}

/// An IPv4 or IPv6 address as its network-order bytes.
struct IPAddress: Hashable, Sendable, CustomStringConvertible {
  let bytes: [UInt8]

  init?(_ text: String) {
    var v4 = in_addr()
    var v6 = in6_addr()
    if inet_pton(AF_INET, text, &v4) == 1 {
      bytes = withUnsafeBytes(of: &v4) { Array($0) }
    } else if inet_pton(AF_INET6, text, &v6) == 1 {
      bytes = withUnsafeBytes(of: &v6) { Array($0) }
    } else {
      return nil
    }
  }

  init(bytes: [UInt8]) { self.bytes = bytes }

  static func resolve(_ host: String) throws -> [IPAddress] {
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var list: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { throw POSIXError(.EHOSTUNREACH) }
    defer { freeaddrinfo(list) }
    var addresses: [IPAddress] = []
    for info in sequence(first: first, next: { $0.pointee.ai_next }) {
      guard let address = info.pointee.ai_addr else { continue }
      switch Int32(address.pointee.sa_family) {
      case AF_INET:
        address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
          var raw = v4.pointee.sin_addr
          addresses.append(IPAddress(bytes: withUnsafeBytes(of: &raw) { Array($0) }))
        }
      case AF_INET6:
        address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
          var raw = v6.pointee.sin6_addr
          addresses.append(IPAddress(bytes: withUnsafeBytes(of: &raw) { Array($0) }))
        }
      default: continue
      }
    }
    return addresses
  }

  var description: String {
    var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    let family = bytes.count == 4 ? AF_INET : AF_INET6
    _ = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
    return String(cString: buffer)
  }

  /// Why the address is not on the public internet, or nil if it is.
  var nonPublicReason: String? {
    if bytes.count == 16, bytes.prefix(10).allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
      return IPAddress(bytes: Array(bytes.suffix(4))).nonPublicReason  // IPv4-mapped
    }
    let ranges = bytes.count == 4 ? Self.nonPublicV4 : Self.nonPublicV6
    return ranges.first { $0.network.contains(self) }?.reason
  }

  private static let nonPublicV4: [(network: IPNetwork, reason: String)] = [
    ("0.0.0.0/8", "this network"), ("10.0.0.0/8", "private"), ("100.64.0.0/10", "shared address space"),
    ("127.0.0.0/8", "loopback"), ("169.254.0.0/16", "link-local, where cloud metadata services live"),
    ("172.16.0.0/12", "private"), ("192.0.0.0/24", "IETF protocol assignments"), ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"), ("224.0.0.0/4", "multicast"), ("240.0.0.0/4", "reserved"),
  ].map { (IPNetwork($0.0)!, $0.1) }

  private static let nonPublicV6: [(network: IPNetwork, reason: String)] = [
    ("::/128", "unspecified"), ("::1/128", "loopback"), ("fc00::/7", "unique local"), ("fe80::/10", "link-local"),
    ("ff00::/8", "multicast"), ("64:ff9b::/96", "NAT64"), ("2001:db8::/32", "documentation"),
  ].map { (IPNetwork($0.0)!, $0.1) }
}

/// An address block in CIDR form; a bare address is a block of one.
struct IPNetwork: Hashable, Sendable {
  let base: IPAddress
  let prefixLength: Int

  init?(_ text: String) {
    let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
    guard let base = IPAddress(parts[0]) else { return nil }
    let bits = base.bytes.count * 8
    let length = parts.count == 2 ? Int(parts[1]) : bits
    guard let length, (0...bits).contains(length) else { return nil }
    self.base = base
    prefixLength = length
  }

  func contains(_ address: IPAddress) -> Bool {
    guard address.bytes.count == base.bytes.count else { return false }
    var remaining = prefixLength
    for (a, b) in zip(address.bytes, base.bytes) where remaining > 0 {
      let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
      if a & mask != b & mask { return false }
      remaining -= 8
    }
    return true
  }
}
