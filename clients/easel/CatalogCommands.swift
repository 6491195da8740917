import ArgumentParser
import EaselRPC
import Foundation

struct Templates: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "List the templates, or show one with its parameters.",
    discussion: "Examples: easel templates; easel templates txt2img --version 1; easel templates --reload")

  @OptionGroup var connection: ConnectionOptions
  @Argument(help: "Template code.") var code: String?
  @Option(help: "Only this version of CODE.") var version: String?
  @Flag(help: "Make the server read its template files again (as SIGHUP does), then list them.")
  var reload = false

  func run() async throws {
    let json = connection.json
    if reload {
      let response = try await connection.withClients {
        try await $0.templates.reloadTemplates(Easel_V1_ReloadTemplatesRequest(), metadata: $0.metadata)
      }
      print(json ? try FullJSON.string(response) : TextOutput.templates(response.templates))
    } else if let code {
      let request = Easel_V1_GetTemplateRequest.with {
        $0.code = code
        $0.version = version ?? ""
      }
      let template = try await connection.withClients { try await $0.templates.getTemplate(request, metadata: $0.metadata) }
      print(json ? try FullJSON.string(template) : TextOutput.template(template))
    } else {
      let response = try await connection.withClients {
        try await $0.templates.listTemplates(Easel_V1_ListTemplatesRequest(), metadata: $0.metadata)
      }
      print(json ? try FullJSON.string(response) : TextOutput.templates(response.templates))
    }
  }
}

struct Credits: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Credit balances, grants and the ledger.",
    discussion: "Examples: easel credits balance --user alice; easel credits grant --user alice 100",
    subcommands: [Balance.self, Grant.self, Adjust.self, Ledger.self])

  struct Balance: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show balance, held and available credits.", discussion: "Example: easel credits balance --user alice")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var account: AccountOptions

    func run() async throws {
      let request = Easel_V1_GetBalanceRequest.with {
        $0.platform = account.platformName
        $0.userID = account.userID
      }
      let balance = try await connection.withClients { try await $0.credits.getBalance(request, metadata: $0.metadata) }
      print(connection.json ? try FullJSON.string(balance) : TextOutput.balance(balance))
    }
  }

  struct Grant: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Add credits to a user's account.", discussion: "Example: easel credits grant --user alice 100")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var account: AccountOptions
    @Argument(help: "Credits to add (positive).") var amount: Int64
    @Option(help: "Why, for the ledger.") var reason: String?
    @Option(help: "Retrying with the same key grants once.") var idempotencyKey: String?

    func run() async throws {
      let request = Easel_V1_GrantCreditsRequest.with {
        $0.platform = account.platformName
        $0.userID = account.userID
        $0.amount = amount
        $0.reason = reason ?? ""
        $0.idempotencyKey = idempotencyKey ?? ""
      }
      let balance = try await connection.withClients { try await $0.credits.grantCredits(request, metadata: $0.metadata) }
      print(connection.json ? try FullJSON.string(balance) : TextOutput.balance(balance))
    }
  }

  struct Adjust: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Correct a user's balance up or down (an ADJUST ledger entry).",
      discussion: "Example: easel credits adjust --user alice --amount=-20 --reason \"refund of order 7 reversed\"")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var account: AccountOptions
    @Option(help: "Credits to add (positive) or take away (negative; write --amount=-N).") var amount: Int64
    @Option(help: "Why, for the ledger (required).") var reason: String
    @Option(help: "Retrying with the same key adjusts once.") var idempotencyKey: String?

    func run() async throws {
      let request = Easel_V1_AdjustCreditsRequest.with {
        $0.platform = account.platformName
        $0.userID = account.userID
        $0.amount = amount
        $0.reason = reason
        $0.idempotencyKey = idempotencyKey ?? ""
      }
      let balance = try await connection.withClients { try await $0.credits.adjustCredits(request, metadata: $0.metadata) }
      print(connection.json ? try FullJSON.string(balance) : TextOutput.balance(balance))
    }
  }

  struct Ledger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List ledger entries, newest first.", discussion: "Example: easel credits ledger --user alice --limit 50")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var account: AccountOptions
    @Option(help: "Page, from 1.") var page: Int32 = 1
    @Option(help: "Entries per page, 1 to 100.") var limit: Int32 = 20

    func run() async throws {
      let request = Easel_V1_ListLedgerRequest.with {
        $0.platform = account.platformName
        $0.userID = account.userID
        $0.page = page
        $0.limit = limit
      }
      let response = try await connection.withClients { try await $0.credits.listLedger(request, metadata: $0.metadata) }
      print(connection.json ? try FullJSON.string(response) : TextOutput.ledger(response))
    }
  }
}
