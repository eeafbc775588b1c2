import COpenSSL
import Foundation

/// An incremental SHA-256 (OpenSSL's libcrypto, which uses the CPU's SHA
/// extensions: ~1.9 GB/s per core). Every digest in the engine goes through it.
public final class SHA256Hasher {
    private let context: OpaquePointer

    public init() {
        guard let context = EVP_MD_CTX_new() else {
            preconditionFailure("EVP_MD_CTX_new returned null (out of memory)")
        }
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    public func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    public func update(_ string: String) {
        var string = string
        string.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// The lowercase hex digest; call once, last.
    public func finalize() -> String {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &out, &length)
        return hex(out)
    }

    /// SHA-256 of `data` as lowercase hex.
    public static func hash(_ data: Data) -> String {
        let hasher = SHA256Hasher()
        hasher.update(data)
        return hasher.finalize()
    }

    /// SHA-256 of the UTF-8 bytes of `string` as lowercase hex.
    public static func hash(_ string: String) -> String {
        let hasher = SHA256Hasher()
        hasher.update(string)
        return hasher.finalize()
    }
}

private let hexDigits = Array("0123456789abcdef".utf8)

/// Lowercase hexadecimal of `bytes`.
func hex(_ bytes: [UInt8]) -> String {
    var chars = [UInt8]()
    chars.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        chars.append(hexDigits[Int(byte >> 4)])
        chars.append(hexDigits[Int(byte & 0x0f)])
    }
    return String(decoding: chars, as: UTF8.self)
}
