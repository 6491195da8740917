import EaselRPC
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@Suite(.timeLimit(.minutes(2))) struct ReflectionTests {
  @Test func reflectionListsTheServicesAndDescribesTheirMethods() async throws {
    try await withTestServer(workers: 0) { server in
      try await withUnixClient(server.endpoints.unixSocketPath) { client in
        let reflection = Grpc_Reflection_V1_ServerReflection.Client(wrapping: client)
        let requests: [Grpc_Reflection_V1_ServerReflectionRequest] = [
          .with { $0.listServices = "" },
          .with { $0.fileContainingSymbol = "easel.v1.TaskService.CreateTask" },
          .with { $0.fileContainingSymbol = "easel.v1.NoSuchThing" },
        ]
        let responses = try await reflection.serverReflectionInfo(
          request: StreamingClientRequest { writer in try await writer.write(contentsOf: requests) }
        ) { response in
          try await response.messages.reduce(into: []) { $0.append($1) }
        }
        #expect(responses.count == 3)
        let services = responses[0].listServicesResponse.service.map(\.name)
        #expect(Set(services).isSuperset(of: [
          "easel.v1.TaskService", "easel.v1.TemplateService", "easel.v1.CreditService", "grpc.health.v1.Health",
        ]))
        let files = try responses[1].fileDescriptorResponse.fileDescriptorProto.map {
          try Google_Protobuf_FileDescriptorProto(serializedBytes: $0)
        }
        #expect(files.first?.name == "easel/v1/tasks.proto")
        #expect(Set(files.map(\.name)).isSuperset(of: ["google/protobuf/struct.proto", "easel/v1/common.proto"]))
        let method = files.first?.service.first { $0.name == "TaskService" }?.method.first { $0.name == "CreateTask" }
        #expect(method?.inputType == ".easel.v1.CreateTaskRequest")
        #expect(responses[2].errorResponse.errorCode == Int32(RPCError.Code.notFound.rawValue))
      }
    }
  }
}
