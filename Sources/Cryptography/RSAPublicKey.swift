package import Foundation

/// The RSA public key an obshell agent serves from `GET /api/v1/secret` (`data.public_key`), used to encrypt the
/// `X-OCS-Header`.
///
/// obshell sends base64 (standard alphabet) of the PKCS#1 `RSAPublicKey` DER: not PEM and not
/// `SubjectPublicKeyInfo`. A base64 `SubjectPublicKeyInfo` DER of an RSA key is accepted as well, because telling the
/// two apart costs nothing; ``pkcs1DER`` is the same for both forms of one key. Keys of 512 bits (obshell up to
/// 4.4.1), 1024 bits (4.4.2 and later) and larger all work.
///
/// Two values are equal when they hold the same key, so a re-fetched key can be compared with a cached one.
package struct RSAPublicKey: Sendable, Hashable, CustomStringConvertible {
    private let key: OpenSSLKey
    /// The key as PKCS#1 `RSAPublicKey` DER.
    package let pkcs1DER: Data

    /// Parses the base64 text obshell serves as `public_key`.
    /// - Parameter base64DER: Base64 (standard alphabet, padded) of a PKCS#1 `RSAPublicKey` DER, or of a
    ///   `SubjectPublicKeyInfo` DER holding an RSA key. Surrounding whitespace is ignored.
    /// - Throws: ``CryptoError`` with code ``CryptoError/Code/invalidBase64`` (including for PEM text),
    ///   ``CryptoError/Code/invalidKey`` or ``CryptoError/Code/unsupportedKey``.
    package init(base64DER: String) throws(CryptoError) {
        try self.init(der: try CryptoBase64.decode(base64DER, what: "the public key"))
    }

    /// Parses a DER public key.
    /// - Parameter der: A PKCS#1 `RSAPublicKey` DER, or a `SubjectPublicKeyInfo` DER holding an RSA key, with
    ///   nothing after it.
    /// - Throws: ``CryptoError`` with code ``CryptoError/Code/invalidKey`` or ``CryptoError/Code/unsupportedKey``.
    package init(der: Data) throws(CryptoError) {
        let key = try OpenSSLKey.parsePublicKey(der: [UInt8](der))
        try self.init(key: key)
    }

    /// Wraps a parsed or generated key.
    init(key: OpenSSLKey) throws(CryptoError) {
        self.key = key
        self.pkcs1DER = Data(try key.publicKeyDER())
    }

    /// The modulus length in bits (512, 1024, ...).
    package var sizeInBits: Int { self.key.sizeInBits }

    /// The modulus length in bytes: every cipher block has exactly this many bytes (64 for 512 bits, 128 for 1024).
    package var sizeInBytes: Int { self.key.sizeInBytes }

    /// The most plaintext bytes one block carries: ``sizeInBytes`` − 11 (53 for 512 bits, 117 for 1024).
    package var maximumChunkLength: Int { self.key.sizeInBytes - OpenSSLKey.paddingOverhead }

    /// The key as obshell serves it: base64 (standard alphabet, padded) of ``pkcs1DER``.
    package var base64DER: String { self.pkcs1DER.base64EncodedString() }

    /// How long the ciphertext of a plaintext of `length` bytes is: one ``sizeInBytes`` block per started chunk.
    /// - Parameter length: The plaintext length in bytes.
    package func ciphertextLength(forPlaintextLength length: Int) -> Int {
        let chunk = self.maximumChunkLength
        return (max(length, 0) + chunk - 1) / chunk * self.sizeInBytes
    }

    /// Encrypts with RSA PKCS#1 v1.5 (random padding) in chunks of at most ``maximumChunkLength`` bytes, as obshell's
    /// header requires, and concatenates the ``sizeInBytes``-byte cipher blocks.
    ///
    /// Two encryptions of the same plaintext differ, because the padding is random (from OpenSSL's generator).
    /// An empty plaintext gives an empty ciphertext.
    /// - Parameter plaintext: The bytes to encrypt, e.g. the header's UTF-8 JSON.
    /// - Returns: The concatenated cipher blocks, ``ciphertextLength(forPlaintextLength:)`` bytes.
    /// - Throws: ``CryptoError`` with code ``CryptoError/Code/encryptionFailed`` if OpenSSL fails.
    package func encrypt(_ plaintext: Data) throws(CryptoError) -> Data {
        Data(try self.key.encrypt([UInt8](plaintext)))
    }

    /// Encrypts the UTF-8 bytes of `text` like ``encrypt(_:)-(Data)``.
    /// - Parameter text: The text to encrypt, e.g. the header JSON.
    /// - Throws: ``CryptoError`` with code ``CryptoError/Code/encryptionFailed`` if OpenSSL fails.
    package func encrypt(_ text: String) throws(CryptoError) -> Data {
        Data(try self.key.encrypt(Array(text.utf8)))
    }

    /// Encrypts like ``encrypt(_:)-(Data)`` and returns the value of an `X-OCS-Header`: base64 (standard alphabet,
    /// padded) of the concatenated blocks.
    /// - Parameter plaintext: The bytes to encrypt.
    /// - Throws: ``CryptoError`` with code ``CryptoError/Code/encryptionFailed`` if OpenSSL fails.
    package func encryptToBase64(_ plaintext: Data) throws(CryptoError) -> String {
        try self.encrypt(plaintext).base64EncodedString()
    }

    /// Encrypts the UTF-8 bytes of `text` and returns base64 of the blocks, like ``encryptToBase64(_:)-(Data)``.
    /// - Parameter text: The text to encrypt, e.g. the header JSON.
    /// - Throws: ``CryptoError`` with code ``CryptoError/Code/encryptionFailed`` if OpenSSL fails.
    package func encryptToBase64(_ text: String) throws(CryptoError) -> String {
        try self.encrypt(text).base64EncodedString()
    }

    /// "RSA public key, N bits".
    package var description: String { "RSA public key, \(self.sizeInBits) bits" }

    /// Keys are equal when their moduli and exponents are, whatever DER form they were parsed from.
    package static func == (lhs: RSAPublicKey, rhs: RSAPublicKey) -> Bool {
        lhs.pkcs1DER == rhs.pkcs1DER
    }

    /// Hashes the key's PKCS#1 DER.
    package func hash(into hasher: inout Hasher) {
        hasher.combine(self.pkcs1DER)
    }
}

/// Strict base64 decoding with errors that say what was wrong but never echo the text.
enum CryptoBase64 {
    /// Decodes standard, padded base64 after trimming surrounding whitespace.
    /// - Parameters:
    ///   - text: The base64 text.
    ///   - what: What the text is, for the message ("the public key").
    /// - Throws: ``CryptoError/Code/invalidBase64``.
    static func decode(_ text: String, what: String) throws(CryptoError) -> Data {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("-----BEGIN") {
            throw CryptoError(
                code: .invalidBase64,
                message: "\(what) is a PEM document; expected base64 of the DER bytes"
            )
        }
        guard let data = Data(base64Encoded: trimmed) else {
            throw CryptoError(
                code: .invalidBase64,
                message: "\(what) is not valid base64 (\(trimmed.utf8.count) characters)"
            )
        }
        return data
    }
}
