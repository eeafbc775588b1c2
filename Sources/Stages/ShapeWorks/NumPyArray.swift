import Foundation
import Workflow

/// NumPy's `.npy` format (version 1.0) for C-ordered float64 or float32
/// arrays: the magic `\x93NUMPY`, the version, a little-endian header length,
/// a Python dict literal header padded with spaces to a multiple of 64 bytes
/// and ending in a newline, then the values, little-endian.
public enum NumPyArray {
    /// A float64 array of `shape` (one-dimensional when omitted).
    public static func write(_ values: [Double], shape: [Int]? = nil, to url: URL) throws {
        var body = Data(capacity: values.count * 8)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
        try write(body, descr: "<f8", count: values.count, shape: shape, to: url)
    }

    /// A float32 array of `shape` (one-dimensional when omitted).
    public static func write(_ values: [Float], shape: [Int]? = nil, to url: URL) throws {
        var body = Data(capacity: values.count * 4)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
        try write(body, descr: "<f4", count: values.count, shape: shape, to: url)
    }

    private static func write(_ body: Data, descr: String, count: Int, shape: [Int]?, to url: URL) throws {
        let shape = shape ?? [count]
        precondition(shape.reduce(1, *) == count, "shape \(shape) does not hold \(count) values")
        let tuple = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(tuple), }"
        let fixed = 6 + 2 + 2  // magic, version, header length
        let total = (fixed + header.utf8.count + 1 + 63) / 64 * 64
        header += String(repeating: " ", count: total - fixed - header.utf8.count - 1) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        data.append(body)
        do { try data.write(to: url, options: .atomic) } catch {
            throw StageFailure("cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}
