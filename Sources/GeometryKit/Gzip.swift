import CZlib
import Foundation

/// gzip streams through zlib, for NRRD's `encoding: gzip`.
enum Gzip {
    struct Failure: Error { var message: String }

    /// A gzip member with time stamp 0 and no file name, so equal input gives equal bytes.
    static func compress(_ input: Data, level: Int32 = 6) throws -> Data {
        var stream = z_stream()
        guard ssm_deflate_init_gzip(&stream, level) == Z_OK else { throw Failure(message: "zlib could not start compressing") }
        defer { deflateEnd(&stream) }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        try input.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            var status = Z_OK
            repeat {
                // avail_in is 32-bit: feed at most 1 GiB at a time.
                if stream.avail_in == 0 && offset < raw.count {
                    let take = min(raw.count - offset, 1 << 30)
                    stream.next_in = UnsafeMutablePointer(mutating: raw.baseAddress!.advanced(by: offset)
                        .assumingMemoryBound(to: Bytef.self))
                    stream.avail_in = uInt(take)
                    offset += take
                }
                let flush = offset == raw.count ? Z_FINISH : Z_NO_FLUSH
                let produced: Int = chunk.withUnsafeMutableBufferPointer { buffer in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = uInt(buffer.count)
                    status = deflate(&stream, flush)
                    return buffer.count - Int(stream.avail_out)
                }
                guard status != Z_STREAM_ERROR else { throw Failure(message: "zlib failed while compressing") }
                output.append(chunk, count: produced)
            } while status != Z_STREAM_END
        }
        return output
    }

    /// The decompressed bytes of one or more concatenated gzip (or zlib) members.
    static func decompress(_ input: Data, expectedSize: Int? = nil) throws -> Data {
        var stream = z_stream()
        guard ssm_inflate_init_auto(&stream) == Z_OK else { throw Failure(message: "zlib could not start decompressing") }
        defer { inflateEnd(&stream) }
        var output = Data()
        if let expectedSize { output.reserveCapacity(expectedSize) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        try input.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard raw.count > 0 else { throw Failure(message: "the compressed data is empty") }
            var offset = 0
            while true {
                if stream.avail_in == 0 && offset < raw.count {
                    let take = min(raw.count - offset, 1 << 30)
                    stream.next_in = UnsafeMutablePointer(mutating: raw.baseAddress!.advanced(by: offset)
                        .assumingMemoryBound(to: Bytef.self))
                    stream.avail_in = uInt(take)
                    offset += take
                }
                var status = Z_OK
                let produced: Int = chunk.withUnsafeMutableBufferPointer { buffer in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = uInt(buffer.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return buffer.count - Int(stream.avail_out)
                }
                output.append(chunk, count: produced)
                switch status {
                case Z_STREAM_END:
                    // Another member may follow (gzip allows concatenation).
                    if stream.avail_in == 0 && offset == raw.count { return }
                    inflateReset(&stream)
                case Z_OK:
                    if produced == 0 && stream.avail_in == 0 && offset == raw.count {
                        throw Failure(message: "the compressed data ends early (truncated file)")
                    }
                case Z_BUF_ERROR:
                    if stream.avail_in == 0 && offset == raw.count {
                        throw Failure(message: "the compressed data ends early (truncated file)")
                    }
                default:
                    let detail = stream.msg.map { String(cString: $0) } ?? "code \(status)"
                    throw Failure(message: "the compressed data is damaged (zlib: \(detail))")
                }
            }
        }
        return output
    }
}
