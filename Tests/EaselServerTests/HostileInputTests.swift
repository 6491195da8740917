import EaselCore
import EaselRPC
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import SwiftProtobuf
import Testing

/// A seeded generator, so a failing fuzz case can be replayed.
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

extension SplitMix64 {
  mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) } }

  /// `valid` with a few random bit flips, a cut, or random bytes spliced in.
  mutating func mutate(_ valid: [UInt8]) -> [UInt8] {
    var bytes = valid
    switch Int.random(in: 0..<4, using: &self) {
    case 0 where !bytes.isEmpty:
      for _ in 0..<Int.random(in: 1...4, using: &self) {
        bytes[Int.random(in: 0..<bytes.count, using: &self)] ^= UInt8(1) << UInt8.random(in: 0...7, using: &self)
      }
    case 1 where !bytes.isEmpty: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &self)))
    case 2: bytes.insert(contentsOf: self.bytes(Int.random(in: 1...16, using: &self)), at: Int.random(in: 0...bytes.count, using: &self))
    default: bytes = self.bytes(Int.random(in: 0...200, using: &self))
    }
    return bytes
  }
}

/// Sends bytes as they are, so the server decodes whatever the test makes.
struct RawBytes: MessageSerializer, MessageDeserializer {
  func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
  func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> [UInt8] { bytes.withUnsafeBytes { Array($0) } }
}

@Suite(.timeLimit(.minutes(3))) struct HostileInputTests {
  /// A valid request per method, to mutate.
  static let seeds: [(MethodDescriptor, any SwiftProtobuf.Message)] = [
    (Easel_V1_TaskService.Method.CreateTask.descriptor,
     Easel_V1_CreateTaskRequest.with {
       $0.userID = "fuzz"
       $0.templateCode = "txt2img"
       $0.parameters = Google_Protobuf_Struct(fields: ["prompt": .init(stringValue: "a cat")])
       $0.idempotencyKey = "k1"
     }),
    (Easel_V1_TaskService.Method.GetTask.descriptor, Easel_V1_GetTaskRequest.with { $0.userID = "fuzz"; $0.taskID = "t" }),
    (Easel_V1_TaskService.Method.ListTasks.descriptor, Easel_V1_ListTasksRequest.with { $0.userID = "fuzz"; $0.limit = 5 }),
    (Easel_V1_TaskService.Method.CancelTask.descriptor, Easel_V1_CancelTaskRequest.with { $0.userID = "fuzz"; $0.taskID = "t" }),
    (Easel_V1_CreditService.Method.GetBalance.descriptor, Easel_V1_GetBalanceRequest.with { $0.userID = "fuzz" }),
    (Easel_V1_CreditService.Method.GrantCredits.descriptor,
     Easel_V1_GrantCreditsRequest.with { $0.userID = "fuzz"; $0.amount = 5; $0.reason = "r"; $0.idempotencyKey = "g" }),
    (Easel_V1_CreditService.Method.AdjustCredits.descriptor,
     Easel_V1_AdjustCreditsRequest.with { $0.userID = "fuzz"; $0.amount = -1; $0.reason = "r"; $0.idempotencyKey = "a" }),
    (Easel_V1_CreditService.Method.ListLedger.descriptor, Easel_V1_ListLedgerRequest.with { $0.userID = "fuzz" }),
    (Easel_V1_TemplateService.Method.GetTemplate.descriptor, Easel_V1_GetTemplateRequest.with { $0.code = "txt2img" }),
    (Easel_V1_TemplateService.Method.ListTemplates.descriptor, Easel_V1_ListTemplatesRequest()),
  ]

  @Test func randomAndMutatedRequestsNeverBreakTheServer() async throws {
    var random = SplitMix64(state: 20_261_129)
    try await withTestServer(workers: 1) { server in
      try await server.grant("fuzz", 1_000)
      try await withUnixClient(server.endpoints.unixSocketPath) { client in
        var statuses: [RPCError.Code: Int] = [:]
        for (descriptor, seed) in Self.seeds {
          let valid: [UInt8] = try seed.serializedBytes()
          for _ in 0..<60 {
            let payload = random.mutate(valid)
            do {
              _ = try await client.unary(
                request: ClientRequest(message: payload), descriptor: descriptor, serializer: RawBytes(),
                deserializer: RawBytes(), options: .defaults) { try $0.message }
            } catch let error as RPCError {
              statuses[error.code, default: 0] += 1
              #expect(error.code != .unknown && error.code != .unavailable, "\(descriptor): \(error)")
            }
          }
        }
        #expect(statuses[.invalidArgument, default: 0] > 0, "malformed bytes are INVALID_ARGUMENT: \(statuses)")
      }
      // Still serving, and the normal path still works (the harness audits credits afterwards).
      #expect(try await server.health.check(.init()).status == .serving)
      let task = try await server.finished("fuzz", try await server.create("fuzz").id)
      #expect(task.status == .completed)
    }
  }

  @Test func malformedFramesOnARawSocketLeaveTheServerServing() async throws {
    var random = SplitMix64(state: 7)
    let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    // An empty SETTINGS frame, then a frame header claiming 16 MiB of a made-up type.
    let settings: [UInt8] = [0, 0, 0, 4, 0, 0, 0, 0, 0]
    let oversized: [UInt8] = [0xFF, 0xFF, 0xFF, 0xEE, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF]
    try await withTestServer(workers: 0) { server in
      let port = try #require(server.endpoints.tcp).port
      let inputs: [[UInt8]] = [
        random.bytes(4096),
        preface + random.bytes(4096),
        preface + settings + oversized + random.bytes(64),
        preface + settings + [0, 0, 8, 1, 5, 0, 0, 0, 1] + random.bytes(8),  // HEADERS with junk HPACK
        Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
      ]
      for input in inputs {
        try await sendAndDrain(input, toPort: port)
        #expect(try await server.health.check(.init()).status == .serving)
      }
      let overTCP = try await server.withTCPClient { client in
        try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init()).status
      }
      #expect(overTCP == .serving)
    }
  }

  @Test func theServerAdvertisesItsPerConnectionStreamCap() async throws {
    try await withTestServer(workers: 0, configure: { $0.maxStreamsPerConnection = 7 }) { server in
      let port = try #require(server.endpoints.tcp).port
      let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [0, 0, 0, 4, 0, 0, 0, 0, 0]
      let reply = try await sendAndDrain(preface, toPort: port, waitingAtMost: 1)
      // The server's first frame is its SETTINGS; SETTINGS_MAX_CONCURRENT_STREAMS is id 3. HTTP/2
      // refuses streams beyond it, so one connection can't hold more calls open than that.
      try #require(reply.count >= 9 && reply[3] == 4)
      let length = Int(reply[0]) << 16 | Int(reply[1]) << 8 | Int(reply[2])
      let payload = reply[9..<(9 + length)]
      let settings = stride(from: payload.startIndex, to: payload.endIndex, by: 6).map { at in
        (id: Int(payload[at]) << 8 | Int(payload[at + 1]),
         value: payload[(at + 2)..<(at + 6)].reduce(0) { $0 << 8 | Int($1) })
      }
      #expect(settings.first { $0.id == 3 }?.value == 7)
    }
  }
}

/// Writes `bytes` to a fresh TCP connection and reads what comes back until the server closes it
/// (or `seconds` pass without a byte). Runs on a plain thread: blocking socket calls must not hold
/// up the in-process server.
@discardableResult
func sendAndDrain(_ bytes: [UInt8], toPort port: Int, waitingAtMost seconds: Int = 3) async throws -> [UInt8] {
  try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8], any Error>) in
    Thread.detachNewThread {
      let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      defer { close(fd) }
      var address = sockaddr_in()
      address.sin_family = sa_family_t(AF_INET)
      address.sin_port = in_port_t(UInt16(port).bigEndian)
      address.sin_addr.s_addr = inet_addr("127.0.0.1")
      let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
      }
      guard connected == 0 else { return continuation.resume(throwing: POSIXError(.ECONNREFUSED)) }
      var timeout = timeval(tv_sec: seconds, tv_usec: 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
      _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      var received: [UInt8] = []
      var buffer = [UInt8](repeating: 0, count: 4096)
      while case let count = recv(fd, &buffer, buffer.count, 0), count > 0 { received += buffer.prefix(count) }
      continuation.resume(returning: received)
    }
  }
}
