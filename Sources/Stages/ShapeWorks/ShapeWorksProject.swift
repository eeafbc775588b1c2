import Foundation
import Workflow

/// A ShapeWorks project file (`.swproj`, JSON as Studio 6.x reads it): a
/// `data` list with one object per subject — `name`, and per domain
/// `shape_<domain>` (original mesh or segmentation), `groomed_<domain>`,
/// `local_particles_<domain>`, `world_particles_<domain>`, plus extra columns
/// such as `image_<domain>` — and the tool sections (`groom`, `optimize`,
/// `studio`, `project`, `analysis`, `deepssm`), left empty here. Paths are
/// relative to the project file, as Studio writes them.
public struct ShapeWorksProject: Sendable, Equatable {
    public struct Subject: Sendable, Equatable {
        public var name: String
        /// Column → path relative to the project file, e.g. `shape_femur`.
        public var columns: [String: String]

        public init(name: String, columns: [String: String]) {
            self.name = name
            self.columns = columns
        }
    }

    public var subjects: [Subject]

    public init(subjects: [Subject]) { self.subjects = subjects }

    /// The JSON text, keys sorted within each subject, `name` first (deterministic).
    public var json: String {
        func quoted(_ text: String) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                default:
                    if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
                }
            }
            return out + "\""
        }
        let data = subjects.map { subject in
            let fields = [("name", subject.name)] + subject.columns.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            return "        {\n" + fields.map { "            \(quoted($0.0)): \(quoted($0.1))" }.joined(separator: ",\n") + "\n        }"
        }
        let sections = ["groom", "optimize", "studio", "project", "analysis", "deepssm"].map { "    \(quoted($0)): {}" }
        return "{\n    \"data\": [\n" + data.joined(separator: ",\n") + "\n    ],\n" + sections.joined(separator: ",\n")
            + ",\n    \"landmarks\": []\n}\n"
    }

    public func write(to url: URL) throws {
        do { try Data(json.utf8).write(to: url, options: .atomic) } catch {
            throw StageFailure("cannot write the ShapeWorks project \(url.path): \(error.localizedDescription)")
        }
    }
}
