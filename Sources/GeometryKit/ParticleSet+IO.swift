import Foundation

/// A problem reading or writing a ShapeWorks `.particles` file, naming the file and line.
public struct ParticlesFileError: Error, CustomStringConvertible, Sendable {
    public var file: URL
    /// 1-based line, when the problem is on one line.
    public var line: Int?
    public var message: String

    public init(_ file: URL, line: Int? = nil, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { "\(file.path)\(line.map { ":\($0)" } ?? ""): \(message)" }
}

extension ParticleSet {
    /// Reads a ShapeWorks `.particles` file: one `x y z` per line, in mm;
    /// blank lines are skipped.
    public static func read(from url: URL) throws -> ParticleSet {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ParticlesFileError(url, "cannot read the file (\(error.localizedDescription)); check the path")
        }
        var points: [SIMD3<Double>] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            let values = fields.map { Double($0) }
            guard values.count == 3, let x = values[0], let y = values[1], let z = values[2] else {
                throw ParticlesFileError(url, line: index + 1,
                                         "expected three numbers 'x y z', found '\(line.trimmingCharacters(in: .whitespaces))'")
            }
            guard x.isFinite, y.isFinite, z.isFinite else {
                throw ParticlesFileError(url, line: index + 1, "a coordinate is not finite; the shape model that wrote it has failed")
            }
            points.append(SIMD3(x, y, z))
        }
        guard !points.isEmpty else { throw ParticlesFileError(url, "the file holds no particles") }
        return ParticleSet(points: points)
    }

    /// Writes one `x y z` line per particle, with enough digits to read back exactly.
    public func write(to url: URL) throws {
        var text = ""
        text.reserveCapacity(points.count * 60)
        for p in points {
            // Swift's shortest round-trip representation of each Double.
            text += "\(p.x) \(p.y) \(p.z)\n"
        }
        do {
            try Data(text.utf8).write(to: url, options: .atomic)
        } catch {
            throw ParticlesFileError(url, "cannot write the file (\(error.localizedDescription)); check that the folder exists and is writable")
        }
    }
}
