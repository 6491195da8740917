import ArgumentParser
import EaselRPC
import Foundation

struct Backends: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Model backends and their servers: state, busy slots, queue wait, error rate; drain a server.",
    discussion: """
      Examples:
        easel backends
        easel backends drain automatic1111 http://gpu2:7860     # finish its tasks, take no new ones
        easel backends resume automatic1111 http://gpu2:7860
      Needs an admin key on TCP.
      """,
    subcommands: [List.self, Drain.self, Resume.self], defaultSubcommand: List.self)

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List every backend and its servers.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
      let response = try await connection.withClients {
        try await $0.backends.listBackends(Easel_V1_ListBackendsRequest(), metadata: $0.metadata)
      }
      print(connection.json ? try FullJSON.string(response) : TextOutput.backends(response.backends))
    }
  }

  struct Drain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Drain a server: it finishes what it runs and takes nothing new.")
    @OptionGroup var server: ServerArguments

    func run() async throws { try await server.setDraining(true) }
  }

  struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Bring a drained server back into rotation.")
    @OptionGroup var server: ServerArguments

    func run() async throws { try await server.setDraining(false) }
  }
}

/// Which server of which backend.
struct ServerArguments: ParsableArguments {
  @OptionGroup var connection: ConnectionOptions
  @Argument(help: "The backend, as `easel backends` names it.") var backend: String
  @Argument(help: "The server's URL.") var url: String

  func setDraining(_ draining: Bool) async throws {
    let request = Easel_V1_SetEndpointDrainingRequest.with {
      $0.backend = backend
      $0.url = url
      $0.draining = draining
    }
    let endpoint = try await connection.withClients { try await $0.backends.setEndpointDraining(request, metadata: $0.metadata) }
    print(connection.json ? try FullJSON.string(endpoint) : "\(backend)  " + TextOutput.endpoint(endpoint))
  }
}
