import Foundation

/// A human-readable listing of an HDF5 file, for `ssmflow cache show`.
public enum HDF5Summary {
    /// Lists root and per-dataset attributes and every dataset with its type,
    /// shape, chunking, min / max / mean and NaN count. Statistics of datasets
    /// larger than `statisticsLimit` elements cover their first slices only,
    /// and say so.
    public static func describe(_ url: URL, statisticsLimit: Int = 50_000_000) throws -> String {
        let file = try HDF5File(contentsOf: url)
        defer { file.close() }
        var lines: [String] = []
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        lines.append("\(url.lastPathComponent) (\(formatBytes(size)))")
        lines += try attributeLines(file, "/", indent: "  ")
        for path in try file.datasetPaths() {
            let dataset: HDF5Dataset
            do {
                dataset = try file.dataset(path)
            } catch let error as HDF5Error where error.kind == .wrongType {
                lines.append("  \(path)  \(error.message)")
                continue
            }
            var line = "  \(path)  \(dataset.type) \(dataset.shape)"
            if let chunk = dataset.chunk { line += " chunk \(chunk)" }
            line += "  " + (try statistics(dataset, limit: statisticsLimit))
            lines.append(line)
            lines += try attributeLines(file, path, indent: "    ")
        }
        return lines.joined(separator: "\n")
    }

    private static func attributeLines(_ file: HDF5File, _ path: String, indent: String) throws -> [String] {
        try file.attributeNames(of: path).map { name in
            var text: String
            switch try file.attribute(name, of: path) {
            case .string(let s):
                let lines = s.split(separator: "\n", omittingEmptySubsequences: false)
                text = lines.count > 1 ? "\"\(lines[0])\", ... (\(lines.count) lines)" : "\"\(s)\""
            case .doubles(let a) where a.count > 8:
                text = "\(Array(a.prefix(8)))... (\(a.count) values)"
            case .ints(let a) where a.count > 8:
                text = "\(Array(a.prefix(8)))... (\(a.count) values)"
            case let value:
                text = value.description
            }
            if text.count > 160 { text = String(text.prefix(157)) + "..." }
            return "\(indent)@\(name) = \(text)"
        }
    }

    private static func statistics(_ dataset: HDF5Dataset, limit: Int) throws -> String {
        switch dataset.type {
        case .float32: return try statistics(dataset, Float.self, limit: limit)
        case .float64: return try statistics(dataset, Double.self, limit: limit)
        case .int32: return try statistics(dataset, Int32.self, limit: limit)
        case .int64: return try statistics(dataset, Int64.self, limit: limit)
        case .uint8: return try statistics(dataset, UInt8.self, limit: limit)
        }
    }

    private static func statistics<T: HDF5Element>(_ dataset: HDF5Dataset, _: T.Type, limit: Int) throws -> String {
        guard dataset.count > 0 else { return "empty" }
        var minimum = Double.infinity, maximum = -Double.infinity, sum = 0.0
        var finite = 0, nans = 0, seen = 0
        func accumulate(_ values: [T]) {
            for value in values {
                let v = value.doubleValue
                if v.isNaN { nans += 1; continue }
                minimum = min(minimum, v)
                maximum = max(maximum, v)
                sum += v
                finite += 1
            }
            seen += values.count
        }
        var coveredRows: Int?
        if dataset.shape.isEmpty {
            accumulate(try dataset.read(as: T.self))
        } else {
            // Read a few slices at a time so a large stack never sits in memory whole.
            let rows = dataset.shape[0]
            let step = max(1, min(8_000_000, limit) / max(dataset.sliceCount, 1))
            var row = 0
            while row < rows && seen < limit {
                let end = min(rows, row + step)
                accumulate(try dataset.readSlices(row..<end, as: T.self))
                row = end
            }
            if row < rows { coveredRows = row }
        }
        let mean = finite > 0 ? sum / Double(finite) : .nan
        var text = finite > 0
            ? "min \(format(minimum)) max \(format(maximum)) mean \(format(mean)) nan \(nans)"
            : "all \(nans) values NaN"
        if let coveredRows { text += " (first \(coveredRows) of \(dataset.shape[0]) slices)" }
        return text
    }

    private static func format(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        return String(format: "%.6g", value)
    }

    private static func formatBytes(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes), unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
    }
}
