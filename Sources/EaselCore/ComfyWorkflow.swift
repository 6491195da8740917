import Foundation

/// A ComfyUI workflow in API format (what ComfyUI's "Export (API)" saves: node id → `class_type`
/// and `inputs`) and a template's bindings from its parameters to node inputs. Checked when the
/// template loads, so a task never reaches ComfyUI with a binding that goes nowhere.
public struct ComfyWorkflow: Hashable, Sendable {
  /// `"6.inputs.text"`: the input `text` of node `6`.
  public struct Binding: Hashable, Sendable, Codable {
    public var node: String
    public var input: String

    public init(_ path: String) throws(EaselError) {
      let parts = path.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
      guard parts.count == 3, parts[1] == "inputs", !parts[0].isEmpty, !parts[2].isEmpty else {
        throw .invalidArgument("binding \"\(path)\" should read NODE.inputs.INPUT, for example 6.inputs.text")
      }
      node = String(parts[0])
      input = String(parts[2])
    }

    public var path: String { "\(node).inputs.\(input)" }
  }

  /// The backend option names a comfyui template's workflow and bindings are kept under, so each
  /// task records the workflow it ran.
  public static let workflowOption = "workflow"
  public static let bindingsOption = "bindings"
  /// The binding that receives the uploaded input image's name.
  public static let inputImageBinding = "input_image"
  /// The binding that receives a task's `num_outputs` (say, EmptyLatentImage's batch_size); a
  /// workflow without it makes several outputs by running once per output.
  public static let batchSizeBinding = "batch_size"

  public var nodes: [String: JSONValue]
  public var bindings: [String: Binding]

  /// Parses and checks: every node has a `class_type` and `inputs`, some node saves an output,
  /// and every binding names a node and an input the workflow has.
  public init(json: Data, bindings paths: [String: String]) throws(EaselError) {
    guard let document = try? JSONDecoder().decode(JSONValue.self, from: json), let nodes = document.objectValue else {
      throw .invalidArgument("the workflow is not a JSON object of nodes (save it with ComfyUI's \"Export (API)\")")
    }
    for (id, node) in nodes where node["class_type"]?.stringValue == nil || node["inputs"]?.objectValue == nil {
      throw .invalidArgument("workflow node \(id) has no class_type and inputs (is this the API format?)")
    }
    guard nodes.values.contains(where: { Self.isOutput(classType: $0["class_type"]?.stringValue ?? "") }) else {
      throw .invalidArgument("the workflow has no output node (SaveImage, a Save… or Preview… node, VHS_VideoCombine)")
    }
    var bindings: [String: Binding] = [:]
    for (parameter, path) in paths.sorted(by: { $0.key < $1.key }) {
      let binding = try Binding(path)
      guard let node = nodes[binding.node] else {
        throw .invalidArgument("binding \(parameter): \(path) names node \(binding.node), which the workflow lacks")
      }
      guard node["inputs"]?[binding.input] != nil else {
        let classType = node["class_type"]?.stringValue ?? "?"
        throw .invalidArgument(
          "binding \(parameter): \(path) names input \(binding.input), which node \(binding.node) (\(classType)) lacks")
      }
      bindings[parameter] = binding
    }
    self.nodes = nodes
    self.bindings = bindings
  }

  /// ComfyUI's output nodes (its own and the common video pack's) save or show results.
  public static func isOutput(classType: String) -> Bool {
    classType.hasPrefix("Save") || classType.hasPrefix("Preview") || classType == "VHS_VideoCombine"
  }

  /// The workflow with each bound input set to its value; inputs without a value keep the workflow's.
  public func prompt(_ values: [String: JSONValue]) -> [String: JSONValue] {
    var nodes = nodes
    for (parameter, binding) in bindings {
      guard let value = values[parameter], case .object(var node) = nodes[binding.node],
        case .object(var inputs) = node["inputs"]
      else { continue }
      inputs[binding.input] = value
      node["inputs"] = .object(inputs)
      nodes[binding.node] = .object(node)
    }
    return nodes
  }

  /// The class of a node, for error messages.
  public func classType(of node: String) -> String? { nodes[node]?["class_type"]?.stringValue }

  /// As a task's backend options carry it.
  public var options: Parameters {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let workflow = (try? encoder.encode(nodes)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    let paths = bindings.mapValues(\.path)
    let bindings = (try? encoder.encode(paths)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    return [Self.workflowOption: .string(workflow), Self.bindingsOption: .string(bindings)]
  }

  /// Back from a task's backend options.
  public init(options: Parameters) throws(EaselError) {
    guard let workflow = options[Self.workflowOption]?.stringValue else {
      throw .failedPrecondition("the task's template has no ComfyUI workflow")
    }
    let text = options[Self.bindingsOption]?.stringValue ?? "{}"
    guard let paths = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)) else {
      throw .failedPrecondition("the task's ComfyUI bindings can't be read")
    }
    try self.init(json: Data(workflow.utf8), bindings: paths)
  }
}
