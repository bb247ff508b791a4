/// A failure of the RSA code that protects obshell's request header.
///
/// Messages name what failed and, where OpenSSL said why, carry OpenSSL's own reason. They never contain plaintext,
/// so a header holding a password cannot leak through an error. A decryption message is meant for logs: a server
/// (such as the obshell simulator) answers every decryption failure the same way and does not echo the details.
package struct CryptoError: Error, CustomStringConvertible {
    /// What kind of failure this is.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case invalidBase64, invalidKey, unsupportedKey, invalidCiphertextLength, decryptionFailed
            case encryptionFailed, keyGenerationFailed
        }
        private let kind: Kind

        /// The text is not standard base64 (this includes a PEM document, which obshell never sends).
        package static let invalidBase64 = Code(kind: .invalidBase64)
        /// The bytes are not a DER-encoded RSA public key.
        package static let invalidKey = Code(kind: .invalidKey)
        /// The key is well formed but not usable here: not RSA, or of an unsupported size.
        package static let unsupportedKey = Code(kind: .unsupportedKey)
        /// The ciphertext is not a whole number of key-sized blocks.
        package static let invalidCiphertextLength = Code(kind: .invalidCiphertextLength)
        /// A ciphertext block did not decrypt (wrong key, tampered block, bad padding).
        package static let decryptionFailed = Code(kind: .decryptionFailed)
        /// OpenSSL could not encrypt a block.
        static let encryptionFailed = Code(kind: .encryptionFailed)
        /// OpenSSL could not generate a key.
        package static let keyGenerationFailed = Code(kind: .keyGenerationFailed)

        /// The code's name.
        package var description: String { self.kind.rawValue }
    }

    /// The kind of failure.
    package var code: Code
    /// A human message: what failed and why, never a secret. Includes ``openSSLReason`` when there is one.
    package var message: String
    /// OpenSSL's error strings (from its thread-local error queue) for this failure, when OpenSSL reported any.
    package var openSSLReason: String?
    /// The underlying error, when another layer failed first.
    package var cause: (any Error)?

    /// Makes an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: What failed; ``openSSLReason`` is appended to it.
    ///   - openSSLReason: OpenSSL's error strings, if any.
    ///   - cause: The underlying error, if any.
    package init(code: Code, message: String, openSSLReason: String? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.openSSLReason = openSSLReason
        self.cause = cause
        if let openSSLReason {
            self.message = "\(message) (OpenSSL: \(openSSLReason))"
        } else {
            self.message = message
        }
    }

    /// The message.
    package var description: String { self.message }
}
