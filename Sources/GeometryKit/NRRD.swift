import Foundation

/// NRRD images (https://teem.sourceforge.net/nrrd/format.html), the format of
/// ShapeWorks' groomed images: read and write 3-D scalar volumes with attached
/// raw or gzip data and the standard header fields, so files open in 3D Slicer,
/// ITK and VTK's `vtkNrrdReader`.
public enum NRRD {
    /// How the voxel bytes are stored after the header.
    public enum Encoding: String, Sendable, CaseIterable {
        case raw, gzip
    }

    /// Voxel types written and read (others, like `int` and `double`, are read too).
    public enum ScalarType: String, Sendable, CaseIterable {
        case float, double, uchar, short, ushort, int

        var size: Int {
            switch self {
            case .uchar: return 1
            case .short, .ushort: return 2
            case .float, .int: return 4
            case .double: return 8
            }
        }

        /// Smallest and largest value the type stores exactly (nil for floats).
        var integerRange: ClosedRange<Double>? {
            switch self {
            case .uchar: return 0...255
            case .short: return -32768...32767
            case .ushort: return 0...65535
            case .int: return -2_147_483_648...2_147_483_647
            case .float, .double: return nil
            }
        }

        /// The type named by a header's `type:` field, with the format's synonyms.
        init?(header value: String) {
            switch value.lowercased() {
            case "float": self = .float
            case "double": self = .double
            case "uchar", "unsigned char", "uint8", "uint8_t": self = .uchar
            case "short", "short int", "signed short", "signed short int", "int16", "int16_t": self = .short
            case "ushort", "unsigned short", "unsigned short int", "uint16", "uint16_t": self = .ushort
            case "int", "signed int", "int32", "int32_t": self = .int
            default: return nil
            }
        }
    }

    /// Reads a 3-D NRRD volume; voxels become Float whatever the stored type.
    public static func read(_ url: URL) throws -> ImageVolume {
        let bytes: Data
        do {
            bytes = try Data(contentsOf: url)
        } catch {
            throw NRRDError(url, "cannot read the file (\(error.localizedDescription)); check the path")
        }
        let header = try NRRDHeader(parsing: bytes, url: url)
        var payload = bytes[header.dataOffset...]
        let expected = header.voxelCount * header.type.size
        switch header.encoding {
        case .raw:
            break
        case .gzip:
            do {
                payload = try Gzip.decompress(Data(payload), expectedSize: expected)[...]
            } catch let failure as Gzip.Failure {
                throw NRRDError(url, "\(failure.message); the gzip data cannot be decoded")
            }
        }
        guard payload.count >= expected else {
            throw NRRDError(url, "holds \(payload.count) data bytes where sizes \(header.sizes) of \(header.type.rawValue) need \(expected); the file is truncated")
        }
        let voxels = decode(Data(payload.prefix(expected)), type: header.type, bigEndian: header.bigEndian,
                            count: header.voxelCount)
        return ImageVolume(dims: SIMD3(header.sizes[0], header.sizes[1], header.sizes[2]),
                           spacing: header.spacing, origin: header.origin, voxels: voxels)
    }

    /// Writes `image` as a NRRD file (LPS space, little endian). Voxels are
    /// stored as `type`; integer types take rounded values and reject values
    /// outside their range.
    public static func write(_ image: ImageVolume, to url: URL, type: ScalarType = .float,
                             encoding: Encoding = .gzip) throws {
        var data = try encode(image.voxels, type: type, url: url)
        if encoding == .gzip {
            do { data = try Gzip.compress(data) } catch let failure as Gzip.Failure {
                throw NRRDError(url, "\(failure.message)")
            }
        }
        var header = Data(NRRDHeader.text(for: image, type: type, encoding: encoding).utf8)
        header.append(data)
        do {
            try header.write(to: url, options: .atomic)
        } catch {
            throw NRRDError(url, "cannot write the file (\(error.localizedDescription)); check that the folder exists and is writable")
        }
    }

    // MARK: voxel bytes

    static func decode(_ data: Data, type: ScalarType, bigEndian: Bool, count: Int) -> [Float] {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Float] in
            func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T {
                let value = raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)
                return bigEndian ? T(bigEndian: value) : T(littleEndian: value)
            }
            return (0..<count).map { i -> Float in
                switch type {
                case .uchar: return Float(raw[i])
                case .short: return Float(load(Int16.self, i))
                case .ushort: return Float(load(UInt16.self, i))
                case .int: return Float(load(Int32.self, i))
                case .float: return Float(bitPattern: load(UInt32.self, i))
                case .double: return Float(Double(bitPattern: load(UInt64.self, i)))
                }
            }
        }
    }

    static func encode(_ voxels: [Float], type: ScalarType, url: URL) throws -> Data {
        if let range = type.integerRange,
           let bad = voxels.firstIndex(where: { !range.contains(Double($0.rounded())) }) {
            throw NRRDError(url, "voxel \(bad) is \(voxels[bad]), outside the range \(Int(range.lowerBound))...\(Int(range.upperBound)) of type \(type.rawValue); write as float instead")
        }
        var data = Data(count: voxels.count * type.size)
        data.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
            for (i, v) in voxels.enumerated() {
                let offset = i * type.size
                switch type {
                case .uchar: raw[i] = UInt8(v.rounded())
                case .short: raw.storeBytes(of: Int16(v.rounded()).littleEndian, toByteOffset: offset, as: Int16.self)
                case .ushort: raw.storeBytes(of: UInt16(v.rounded()).littleEndian, toByteOffset: offset, as: UInt16.self)
                case .int: raw.storeBytes(of: Int32(v.rounded()).littleEndian, toByteOffset: offset, as: Int32.self)
                case .float: raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: offset, as: UInt32.self)
                case .double: raw.storeBytes(of: Double(v).bitPattern.littleEndian, toByteOffset: offset, as: UInt64.self)
                }
            }
        }
        return data
    }
}

/// A problem reading or writing a NRRD file, naming the file and, for header
/// problems, the line.
public struct NRRDError: Error, CustomStringConvertible, Sendable {
    public var file: URL
    /// 1-based header line, when the problem is in the header.
    public var line: Int?
    public var message: String

    public init(_ file: URL, line: Int? = nil, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        "\(file.path)\(line.map { ":\($0)" } ?? ""): \(message)"
    }
}

extension ImageVolume {
    /// Reads a NRRD volume (see `NRRD.read`).
    public init(contentsOfNRRD url: URL) throws { self = try NRRD.read(url) }

    /// Writes this volume as NRRD (see `NRRD.write`).
    public func writeNRRD(to url: URL, type: NRRD.ScalarType = .float, encoding: NRRD.Encoding = .gzip) throws {
        try NRRD.write(self, to: url, type: type, encoding: encoding)
    }
}
