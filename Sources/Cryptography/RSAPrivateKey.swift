package import Foundation

/// An RSA key pair playing obshell's server side: it serves its public key and decrypts `X-OCS-Header` values.
///
/// The obshell simulator uses it to stand in for an agent; the client only needs ``RSAPublicKey``. The private
/// key never leaves OpenSSL: there is no way to export it, and ``description`` shows only the size.
package struct RSAPrivateKey: Sendable, CustomStringConvertible {
    private let key: OpenSSLKey
    /// The public half, as a client would parse it from ``publicKeyBase64DER``.
    package let publicKey: RSAPublicKey

    private init(key: OpenSSLKey) throws(CryptoError) {
        self.key = key
        // Parsed back from DER so that the public half is exactly what a client sees from the served text.
        self.publicKey = try RSAPublicKey(der: Data(try key.publicKeyDER()))
    }

    /// Generates a new key pair with public exponent 65537 from OpenSSL's random generator.
    ///
    /// Generation is CPU work that grows steeply with size: a few milliseconds for 512 or 1024 bits, up to a second
    /// for 2048 on a slow machine. Make keys once (per simulated agent), not per request.
    /// - Parameter bits: The modulus length: 512 (obshell up to 4.4.1), 1024 (4.4.2 and later) or 2048; any size from
    ///   512 to 16384 is accepted.
    /// - Throws: ``CryptoError`` with code ``CryptoError/Code/unsupportedKey`` for a size out of range, or
    ///   ``CryptoError/Code/keyGenerationFailed``.
    package static func generate(bits: Int) throws(CryptoError) -> RSAPrivateKey {
        try RSAPrivateKey(key: try OpenSSLKey.generate(bits: bits))
    }

    /// The modulus length in bits.
    package var sizeInBits: Int { self.key.sizeInBits }

    /// The modulus length in bytes: the size of every cipher block.
    package var sizeInBytes: Int { self.key.sizeInBytes }

    /// The public key as obshell serves it in `data.public_key`: base64 (standard alphabet, padded) of the
    /// PKCS#1 `RSAPublicKey` DER.
    package var publicKeyBase64DER: String { self.publicKey.base64DER }

    /// Decrypts like obshell's server: splits `ciphertext` into ``sizeInBytes``-byte blocks, PKCS#1 v1.5-decrypts
    /// each, and concatenates the results.
    ///
    /// The split does not depend on how the sender chunked its plaintext, so 53-byte chunks (what obshell's SDKs
    /// send) decrypt with a 1024-bit key too. An empty ciphertext gives an empty plaintext, as on the server, whose
    /// header parsing then fails.
    /// - Parameter ciphertext: The concatenated cipher blocks.
    /// - Returns: The concatenated plaintext.
    /// - Throws: ``CryptoError`` with code ``CryptoError/Code/invalidCiphertextLength`` when the length is not a
    ///   multiple of ``sizeInBytes``, or ``CryptoError/Code/decryptionFailed`` when a block does not decrypt.
    ///   obshell answers both with `Security.Authentication.Header.DecryptFailed`.
    package func decrypt(_ ciphertext: Data) throws(CryptoError) -> Data {
        Data(try self.key.decrypt([UInt8](ciphertext)))
    }

    /// Decrypts the base64 text of an `X-OCS-Header`, like ``decrypt(_:)``.
    /// - Parameter base64: Base64 (standard alphabet, padded) of the concatenated cipher blocks; surrounding
    ///   whitespace is ignored.
    /// - Returns: The concatenated plaintext.
    /// - Throws: ``CryptoError`` with code ``CryptoError/Code/invalidBase64``,
    ///   ``CryptoError/Code/invalidCiphertextLength`` or ``CryptoError/Code/decryptionFailed``.
    package func decrypt(base64: String) throws(CryptoError) -> Data {
        try self.decrypt(try CryptoBase64.decode(base64, what: "the ciphertext"))
    }

    /// "RSA private key, N bits": never any key material.
    package var description: String { "RSA private key, \(self.sizeInBits) bits" }
}
