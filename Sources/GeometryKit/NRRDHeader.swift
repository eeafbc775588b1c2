import Foundation

/// The fields of a NRRD header that a 3-D scalar volume needs.
struct NRRDHeader {
    var type: NRRD.ScalarType
    var sizes: [Int]
    var spacing: SIMD3<Double>
    var origin: SIMD3<Double>
    var encoding: NRRD.Encoding
    var bigEndian: Bool
    /// Where the voxel data starts in the file.
    var dataOffset: Int

    var voxelCount: Int { sizes.reduce(1, *) }

    /// The header text written for `image`: LPS space, axis-aligned directions.
    static func text(for image: ImageVolume, type: NRRD.ScalarType, encoding: NRRD.Encoding) -> String {
        // %.17g keeps every Double exact, so spacing and origin round-trip.
        func number(_ v: Double) -> String { String(format: "%.17g", v) }
        let s = image.spacing, o = image.origin
        return """
        NRRD0004
        # Complete NRRD file format specification at:
        # http://teem.sourceforge.net/nrrd/format.html
        type: \(type.rawValue)
        dimension: 3
        space: left-posterior-superior
        sizes: \(image.dims.x) \(image.dims.y) \(image.dims.z)
        space directions: (\(number(s.x)),0,0) (0,\(number(s.y)),0) (0,0,\(number(s.z)))
        kinds: domain domain domain
        endian: little
        encoding: \(encoding.rawValue)
        space origin: (\(number(o.x)),\(number(o.y)),\(number(o.z)))


        """
    }

    init(parsing bytes: Data, url: URL) throws {
        // The header is text up to the first empty line; the data follows it.
        var lines: [String] = []
        var start = bytes.startIndex
        var offset: Int?
        while start < bytes.endIndex {
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.endIndex
            var line = String(decoding: bytes[start..<end], as: UTF8.self)
            if line.hasSuffix("\r") { line.removeLast() }
            start = min(end + 1, bytes.endIndex)
            if line.isEmpty && !lines.isEmpty { offset = start - bytes.startIndex; break }
            lines.append(line)
            if lines.count > 10_000 { break }
        }
        guard let first = lines.first, first.hasPrefix("NRRD000") else {
            throw NRRDError(url, line: 1, "not a NRRD file (no NRRD000x magic line)")
        }
        guard let dataOffset = offset else {
            throw NRRDError(url, "the header has no blank line before the data; the file is truncated or not an attached-data NRRD")
        }
        self.dataOffset = dataOffset

        var fields: [String: (value: String, line: Int)] = [:]
        for (index, line) in lines.enumerated().dropFirst() where !line.hasPrefix("#") {
            if line.contains(":=") { continue }  // key/value pairs carry no geometry
            guard let colon = line.range(of: ": ") else {
                throw NRRDError(url, line: index + 1, "cannot parse header line '\(line)'; expected 'field: value'")
            }
            fields[line[..<colon.lowerBound].lowercased()] = (String(line[colon.upperBound...]).trimmingCharacters(in: .whitespaces), index + 1)
        }
        func field(_ name: String) throws -> (value: String, line: Int) {
            guard let found = fields[name] else { throw NRRDError(url, "the header has no '\(name):' field") }
            return found
        }

        let typeField = try field("type")
        guard let type = NRRD.ScalarType(header: typeField.value) else {
            throw NRRDError(url, line: typeField.line, "voxel type '\(typeField.value)' is not supported (float, double, uchar, short, ushort, int)")
        }
        self.type = type

        let dimension = try field("dimension")
        guard dimension.value == "3" else {
            throw NRRDError(url, line: dimension.line, "dimension \(dimension.value) is not supported; only 3-D scalar volumes are")
        }
        let sizesField = try field("sizes")
        let sizes = sizesField.value.split(separator: " ").compactMap { Int($0) }
        guard sizes.count == 3, sizes.allSatisfy({ $0 > 0 }) else {
            throw NRRDError(url, line: sizesField.line, "sizes '\(sizesField.value)' must be three positive integers")
        }
        self.sizes = sizes

        if let dataFile = fields["data file"] ?? fields["datafile"] {
            throw NRRDError(url, line: dataFile.line, "detached data ('data file: \(dataFile.value)') is not supported; save with attached data (.nrrd, not .nhdr)")
        }
        let encodingField = try field("encoding")
        switch encodingField.value.lowercased() {
        case "raw": encoding = .raw
        case "gzip", "gz": encoding = .gzip
        default:
            throw NRRDError(url, line: encodingField.line, "encoding '\(encodingField.value)' is not supported (raw, gzip)")
        }
        bigEndian = fields["endian"]?.value.lowercased() == "big"

        // RAS and LPS differ by the sign of x and y; we keep LPS, as ITK does.
        let space = fields["space"]?.value.lowercased() ?? "left-posterior-superior"
        let flip: SIMD3<Double>
        switch space {
        case "left-posterior-superior", "lps": flip = SIMD3(1, 1, 1)
        case "right-anterior-superior", "ras": flip = SIMD3(-1, -1, 1)
        default:
            throw NRRDError(url, line: fields["space"]?.line, "space '\(space)' is not supported (left-posterior-superior or right-anterior-superior)")
        }

        if let directions = fields["space directions"] {
            let vectors = try Self.vectors(directions.value, url: url, line: directions.line)
            guard vectors.count == 3 else {
                throw NRRDError(url, line: directions.line, "space directions must give three vectors")
            }
            var spacing = SIMD3<Double>.zero
            for axis in 0..<3 {
                let v = vectors[axis] * flip
                let offAxis = (0..<3).filter { $0 != axis }.map { abs(v[$0]) }.max() ?? 0
                guard v[axis] > 0, offAxis <= 1e-9 * v[axis] else {
                    throw NRRDError(url, line: directions.line, "space directions '\(directions.value)' are not axis-aligned with positive spacing; resample the image to an axis-aligned LPS grid first")
                }
                spacing[axis] = v[axis]
            }
            self.spacing = spacing
        } else if let spacings = fields["spacings"] {
            let values = spacings.value.split(separator: " ").compactMap { Double($0) }
            guard values.count == 3, values.allSatisfy({ $0 > 0 }) else {
                throw NRRDError(url, line: spacings.line, "spacings '\(spacings.value)' must be three positive numbers")
            }
            spacing = SIMD3(values[0], values[1], values[2])
        } else {
            spacing = .one
        }

        if let originField = fields["space origin"] {
            let vectors = try Self.vectors(originField.value, url: url, line: originField.line)
            guard vectors.count == 1 else { throw NRRDError(url, line: originField.line, "space origin must be one vector") }
            origin = vectors[0] * flip
        } else {
            origin = .zero
        }
    }

    /// Parses `(a,b,c) (d,e,f)` vectors.
    private static func vectors(_ text: String, url: URL, line: Int) throws -> [SIMD3<Double>] {
        try text.split(separator: ")").compactMap { part -> SIMD3<Double>? in
            let trimmed = part.trimmingCharacters(in: CharacterSet(charactersIn: " ("))
            if trimmed.isEmpty { return nil }
            let numbers = trimmed.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard numbers.count == 3, let x = numbers[0], let y = numbers[1], let z = numbers[2] else {
                throw NRRDError(url, line: line, "cannot parse vector '(\(trimmed))'; expected three numbers")
            }
            return SIMD3(x, y, z)
        }
    }
}
