import Foundation

/// The built-in `noop` kind: writes its `value` and the sizes of its inputs to
/// `out`. It costs nothing to run, so workflows of `noop` stages measure the
/// engine itself (see `bench/engine`).
public struct NoopStage: Stage {
    public static let kind = "noop"
    public static let version = 1
    public static let summary = "write a small file; for measuring the engine"
    public static let inputs: [Port] = (0..<4).map { Port("in\($0)", "any artifact", optional: true) }
    public static let outputs: [Port] = [Port("out", "a small text file")]

    public struct Params: StageParameters {
        /// Written to the output, so distinct values give distinct outputs.
        public var value: Int = 0
        public var seed: Int = 0
        public init() {}
    }

    public init() {}

    public func run(_ params: Params, context: StageContext) async throws {
        var text = "\(params.value) \(params.seed)\n"
        for name in Self.inputs.map(\.name) where context.hasInput(name) {
            let size = try FileManager.default.attributesOfItem(atPath: context.input(name).path)[.size] as? NSNumber
            text += "\(name) \(size?.intValue ?? 0)\n"
        }
        try text.write(to: context.outputURL("out"), atomically: false, encoding: .utf8)
    }
}
