import EaselCore
import Foundation
import Testing

/// What a store may leave out of a task row because the task's template version says it.
@Suite struct TemplateTaskFieldsTests {
  func task(_ template: Template, _ supplied: Parameters) throws -> GenerationTask {
    let request = try template.resolve(supplied, hasInputImage: template.inputImage == .required)
    let new = NewTask(
      id: "t1", account: try Account(platform: "p", userID: "u"), template: template, request: request, creditCost: 1,
      inputImageKey: nil, idempotency: nil)
    return GenerationTask(new: new, now: Date(timeIntervalSince1970: 1))
  }

  @Test func defaultsAndThePromptParameterAreLeftOutAndPutBack() throws {
    let template = Fixtures.image
    let task = try task(template, ["prompt": .string("a fox"), "width": .integer(64), "seed": .integer(7)])
    let own = try #require(template.ownParameters(of: task))
    #expect(own == ["width": .integer(64), "seed": .integer(7)])
    #expect(template.allParameters(own: own, prompt: task.prompt) == task.parameters)
    // A value sent equal to its default is left out too, and comes back the same.
    let atDefault = try self.task(template, ["prompt": .string("a fox"), "width": .integer(512)])
    let ownAtDefault = try #require(template.ownParameters(of: atDefault))
    #expect(ownAtDefault.isEmpty)
    #expect(template.allParameters(own: ownAtDefault, prompt: "a fox") == atDefault.parameters)
  }

  @Test func aBuiltPromptKeepsItsParameters() throws {
    let template = Fixtures.outfit
    let task = try task(template, ["clothingDescription": .string("a red coat")])
    let own = try #require(template.ownParameters(of: task))
    #expect(own == ["clothingDescription": .string("a red coat")])
    #expect(template.allParameters(own: own, prompt: task.prompt) == task.parameters)
  }

  @Test func aPromptParameterWithADefaultComesBackAsSent() throws {
    var template = Fixtures.image
    template.parameters[0].defaultValue = .string("a cat")
    let sent = try task(template, ["prompt": .string("a fox")])
    let own = try #require(template.ownParameters(of: sent))
    #expect(template.allParameters(own: own, prompt: "a fox")["prompt"] == .string("a fox"))
    let defaulted = try task(template, [:])
    #expect(template.allParameters(own: try #require(template.ownParameters(of: defaulted)), prompt: "a cat") == defaulted.parameters)
  }

  @Test func whatCouldNotBePutBackExactlyIsKept() throws {
    let template = Fixtures.image
    var missingDefault = try task(template, ["prompt": .string("a fox")])
    missingDefault.parameters["quality"] = nil
    #expect(template.ownParameters(of: missingDefault) == nil, "putting the default back would add a parameter")

    var otherPrompt = try task(template, ["prompt": .string("a fox")])
    otherPrompt.parameters["prompt"] = .string("  a fox ")
    #expect(template.ownParameters(of: otherPrompt) == nil, "the prompt is not the parameter as sent")

    var otherName = try task(template, ["prompt": .string("a fox")])
    otherName.template.name = ""
    #expect(template.ownParameters(of: otherName) == nil)

    var otherOptions = try task(template, ["prompt": .string("a fox")])
    otherOptions.backendOptions = ["steps": .integer(4)]
    #expect(template.ownParameters(of: otherOptions) == nil)
  }
}
