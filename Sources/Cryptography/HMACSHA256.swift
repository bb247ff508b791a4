import COpenSSL
package import Foundation

/// HMAC-SHA256, for the webhook signatures of DingTalk and Feishu; OpenSSL does the work, so the C types stay in
/// this module.
package enum HMACSHA256 {
    /// The 32-byte authentication code of `message` under `key`.
    ///
    /// Total for every key and message: OpenSSL's one-shot HMAC over SHA-256 (which every OpenSSL build, FIPS
    /// included, provides) fails only when it cannot allocate, and the process then stops with a message, as Swift
    /// itself does when an allocation fails, rather than send a request under a wrong signature.
    /// - Parameters:
    ///   - key: The secret key.
    ///   - message: The signed bytes.
    package static func authenticationCode(key: Data, message: Data) -> Data {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = key.withUnsafeBytes { keyBuffer in
            message.withUnsafeBytes { messageBuffer in
                output.withUnsafeMutableBufferPointer { outputBuffer in
                    // An empty buffer may have no base address; OpenSSL accepts a non-null pointer with length 0.
                    var emptyByte: UInt8 = 0
                    return withUnsafePointer(to: &emptyByte) { empty in
                        HMAC(
                            EVP_sha256(),
                            keyBuffer.baseAddress ?? UnsafeRawPointer(empty),
                            Int32(keyBuffer.count),
                            messageBuffer.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? empty,
                            messageBuffer.count,
                            outputBuffer.baseAddress,
                            &length
                        ) != nil
                    }
                }
            }
        }
        // Only an allocation failure inside OpenSSL gets here (see above).
        precondition(ok && length == 32, "HMAC-SHA256 failed inside OpenSSL")
        return Data(output.prefix(Int(length)))
    }

    /// The code of UTF-8 `message` under UTF-8 `key`.
    package static func authenticationCode(key: String, message: String) -> Data {
        Self.authenticationCode(key: Data(key.utf8), message: Data(message.utf8))
    }
}
