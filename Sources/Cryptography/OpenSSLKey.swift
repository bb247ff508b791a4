import COpenSSL
import Synchronization

/// Owns one OpenSSL `EVP_PKEY` (public or private RSA key) and frees it when the last reference goes away.
///
/// The key pointer lives inside a `Mutex` and is only lent out by ``withKey(_:)``, so the compiler checks `Sendable`
/// without an `@unchecked`. OpenSSL 3 would allow concurrent operations on one `EVP_PKEY` with separate contexts, but
/// 3.0 may still update a key's internal provider cache on first use; the lock removes the need to reason about that.
/// Every operation under the lock is CPU-bound and short (microseconds for public-key operations, about a millisecond
/// for a 2048-bit private-key block), so it never stalls the cooperative thread pool.
final class OpenSSLKey: Sendable {
    /// The smallest modulus accepted: obshell's keys up to 4.4.1 are 512 bits, which is also OpenSSL's minimum.
    static let minimumBits = 512
    /// The largest modulus OpenSSL operates on (`OPENSSL_RSA_MAX_MODULUS_BITS`).
    static let maximumBits = 16_384
    /// PKCS#1 v1.5 encryption padding takes at least 11 bytes of each block.
    static let paddingOverhead = 11

    /// The key and the encryption context made for it, lent out together by ``withKey(_:)`` and
    /// ``withEncryptionContext(_:)``.
    private struct Handles {
        var key: OpaquePointer
        /// An `EVP_PKEY_CTX` set up once for PKCS#1 v1.5 encryption with this key, made on first use: building it
        /// (provider look-up, key import) cost more than encrypting a header block with a 1024-bit key.
        var encryption: OpaquePointer?
    }

    private let pointer: Mutex<Handles>
    /// The modulus length in bits.
    let sizeInBits: Int
    /// The modulus length in bytes: the size of every cipher block.
    let sizeInBytes: Int

    /// Takes ownership of `pointer`, which must be an RSA key; frees it and throws when it is not one we can use.
    private init(taking pointer: sending OpaquePointer) throws(CryptoError) {
        let bits = Int(EVP_PKEY_get_bits(pointer))
        let bytes = Int(EVP_PKEY_get_size(pointer))
        guard EVP_PKEY_is_a(pointer, "RSA") == 1 else {
            EVP_PKEY_free(pointer)
            throw CryptoError(code: .unsupportedKey, message: "the key is not an RSA key")
        }
        guard (Self.minimumBits...Self.maximumBits).contains(bits), bytes == (bits + 7) / 8 else {
            EVP_PKEY_free(pointer)
            throw CryptoError(
                code: .unsupportedKey,
                message: "the RSA key has \(bits) bits; supported: \(Self.minimumBits) to \(Self.maximumBits)"
            )
        }
        self.pointer = Mutex(Handles(key: pointer))
        self.sizeInBits = bits
        self.sizeInBytes = bytes
    }

    deinit {
        self.pointer.withLock { handles in
            if let context = handles.encryption { EVP_PKEY_CTX_free(context) }
            EVP_PKEY_free(handles.key)
        }
    }

    /// Runs `body` with the key held under the lock. The pointer must not escape `body`.
    private func withKey<Result: Sendable>(
        _ body: (OpaquePointer) throws(CryptoError) -> Result
    ) throws(CryptoError) -> Result {
        try self.pointer.withLock { (handles: inout sending Handles) throws(CryptoError) -> Result in
            try body(handles.key)
        }
    }

    /// Runs `body` under the lock with the key's encryption context, set up for PKCS#1 v1.5 on first use. The
    /// context must not escape `body`; it is only ever used under the lock, one operation at a time.
    private func withEncryptionContext<Result: Sendable>(
        _ body: (OpaquePointer) throws(CryptoError) -> Result
    ) throws(CryptoError) -> Result {
        try self.pointer.withLock { (handles: inout sending Handles) throws(CryptoError) -> Result in
            ERR_clear_error()
            defer { ERR_clear_error() }
            if let context = handles.encryption {
                return try body(context)
            }
            guard let context = EVP_PKEY_CTX_new_from_pkey(nil, handles.key, nil) else {
                throw OpenSSLError.make(.encryptionFailed, "cannot create an encryption context")
            }
            guard EVP_PKEY_encrypt_init(context) == 1,
                EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1
            else {
                EVP_PKEY_CTX_free(context)
                throw OpenSSLError.make(.encryptionFailed, "cannot set up PKCS#1 v1.5 encryption")
            }
            handles.encryption = context
            return try body(context)
        }
    }

    // MARK: - Making keys

    /// Parses a DER public key: PKCS#1 `RSAPublicKey` (what obshell serves) or, failing that, `SubjectPublicKeyInfo`.
    /// - Throws: ``CryptoError/Code/invalidKey`` for bytes that are neither, or carry trailing bytes;
    ///   ``CryptoError/Code/unsupportedKey`` for a non-RSA or wrongly sized key.
    static func parsePublicKey(der: [UInt8]) throws(CryptoError) -> OpenSSLKey {
        guard !der.isEmpty else {
            throw CryptoError(code: .invalidKey, message: "the public key is empty")
        }
        ERR_clear_error()
        defer { ERR_clear_error() }
        var consumed = 0
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return nil }
            var cursor: UnsafePointer<UInt8>? = base
            if let key = d2i_PublicKey(EVP_PKEY_RSA, nil, &cursor, buffer.count) {
                consumed = cursor.map { $0 - base } ?? 0
                return key
            }
            // The PKCS#1 attempt leaves its complaints on the queue; the SPKI attempt reports its own.
            ERR_clear_error()
            cursor = base
            if let key = d2i_PUBKEY(nil, &cursor, buffer.count) {
                consumed = cursor.map { $0 - base } ?? 0
                return key
            }
            return nil
        }
        guard let parsed else {
            throw OpenSSLError.make(
                .invalidKey,
                "the public key is neither a PKCS#1 RSAPublicKey nor a SubjectPublicKeyInfo DER"
            )
        }
        guard consumed == der.count else {
            EVP_PKEY_free(parsed)
            throw CryptoError(
                code: .invalidKey,
                message: "the public key DER has \(der.count - consumed) extra byte(s) after its end"
            )
        }
        let key = try OpenSSLKey(taking: parsed)
        try key.checkPublicKey()
        return key
    }

    /// Generates a new RSA key pair with public exponent 65537, using OpenSSL's random generator.
    /// - Throws: ``CryptoError/Code/unsupportedKey`` for a size out of range, or
    ///   ``CryptoError/Code/keyGenerationFailed``.
    static func generate(bits: Int) throws(CryptoError) -> OpenSSLKey {
        guard (Self.minimumBits...Self.maximumBits).contains(bits) else {
            throw CryptoError(
                code: .unsupportedKey,
                message: "cannot generate a \(bits)-bit RSA key; supported: \(Self.minimumBits) to \(Self.maximumBits)"
            )
        }
        // Built in a separate function so that the new key does not share a region with the context.
        return try OpenSSLKey(taking: try Self.generatePointer(bits: bits))
    }

    /// Generates a key pair and returns the new, owned `EVP_PKEY`.
    private static func generatePointer(bits: Int) throws(CryptoError) -> OpaquePointer {
        ERR_clear_error()
        defer { ERR_clear_error() }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else {
            throw OpenSSLError.make(.keyGenerationFailed, "cannot create an RSA key generation context")
        }
        defer { EVP_PKEY_CTX_free(context) }
        var generated: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1,
            EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(bits)) == 1,
            EVP_PKEY_generate(context, &generated) == 1,
            let generated
        else {
            throw OpenSSLError.make(.keyGenerationFailed, "cannot generate a \(bits)-bit RSA key")
        }
        return generated
    }

    /// Rejects public keys that could not come from a real RSA key generator (even modulus, exponent 1, ...).
    private func checkPublicKey() throws(CryptoError) {
        try self.withKey { key throws(CryptoError) in
            ERR_clear_error()
            defer { ERR_clear_error() }
            guard let context = EVP_PKEY_CTX_new_from_pkey(nil, key, nil) else {
                throw OpenSSLError.make(.invalidKey, "cannot create a key check context")
            }
            defer { EVP_PKEY_CTX_free(context) }
            guard EVP_PKEY_public_check(context) == 1 else {
                throw OpenSSLError.make(.invalidKey, "the RSA public key is not valid")
            }
        }
    }

    // MARK: - Using keys

    /// The public half as PKCS#1 `RSAPublicKey` DER, the form obshell serves from `/api/v1/secret`.
    func publicKeyDER() throws(CryptoError) -> [UInt8] {
        try self.withKey { key throws(CryptoError) in
            ERR_clear_error()
            defer { ERR_clear_error() }
            let length = Int(i2d_PublicKey(key, nil))
            guard length > 0 else {
                throw OpenSSLError.make(.invalidKey, "cannot encode the RSA public key")
            }
            var der = [UInt8](repeating: 0, count: length)
            let written = der.withUnsafeMutableBufferPointer { buffer in
                var cursor = buffer.baseAddress
                return Int(i2d_PublicKey(key, &cursor))
            }
            guard written == length else {
                throw OpenSSLError.make(.invalidKey, "cannot encode the RSA public key")
            }
            return der
        }
    }

    /// PKCS#1 v1.5-encrypts `plaintext` in chunks of at most `sizeInBytes - 11` bytes and concatenates the blocks.
    ///
    /// OpenSSL draws the random padding from its own generator, afresh for every block of every call; only the
    /// context (key and padding mode) is kept between calls. An empty plaintext gives an empty ciphertext.
    func encrypt(_ plaintext: [UInt8]) throws(CryptoError) -> [UInt8] {
        let blockSize = self.sizeInBytes
        let chunkSize = blockSize - Self.paddingOverhead
        let blockCount = (plaintext.count + chunkSize - 1) / chunkSize
        guard blockCount > 0 else { return [] }
        return try self.withEncryptionContext { context throws(CryptoError) in
            var ciphertext = [UInt8](repeating: 0, count: blockCount * blockSize)
            var failedBlock: Int?
            ciphertext.withUnsafeMutableBufferPointer { output in
                plaintext.withUnsafeBufferPointer { input in
                    guard let outputBase = output.baseAddress, let inputBase = input.baseAddress else {
                        failedBlock = 0
                        return
                    }
                    for block in 0..<blockCount {
                        let start = block * chunkSize
                        var written = blockSize
                        let status = EVP_PKEY_encrypt(
                            context,
                            outputBase + block * blockSize,
                            &written,
                            inputBase + start,
                            min(chunkSize, input.count - start)
                        )
                        guard status == 1, written == blockSize else {
                            failedBlock = block
                            return
                        }
                    }
                }
            }
            if let failedBlock {
                throw OpenSSLError.make(.encryptionFailed, "block \(failedBlock + 1) of \(blockCount) did not encrypt")
            }
            return ciphertext
        }
    }

    /// Splits `ciphertext` into `sizeInBytes` blocks, PKCS#1 v1.5-decrypts each and concatenates the results,
    /// as obshell's server does. An empty ciphertext gives an empty plaintext, as on the server.
    /// - Throws: ``CryptoError/Code/invalidCiphertextLength`` or ``CryptoError/Code/decryptionFailed``.
    func decrypt(_ ciphertext: [UInt8]) throws(CryptoError) -> [UInt8] {
        let blockSize = self.sizeInBytes
        guard ciphertext.count % blockSize == 0 else {
            throw CryptoError(
                code: .invalidCiphertextLength,
                message: "the ciphertext has \(ciphertext.count) bytes, not a multiple of the \(blockSize)-byte block"
            )
        }
        let blockCount = ciphertext.count / blockSize
        guard blockCount > 0 else { return [] }
        return try self.withKey { key throws(CryptoError) in
            ERR_clear_error()
            defer { ERR_clear_error() }
            guard let context = EVP_PKEY_CTX_new_from_pkey(nil, key, nil) else {
                throw OpenSSLError.make(.decryptionFailed, "cannot create a decryption context")
            }
            defer { EVP_PKEY_CTX_free(context) }
            guard EVP_PKEY_decrypt_init(context) == 1,
                EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1,
                obw_rsa_disable_implicit_rejection(context) == 1
            else {
                throw OpenSSLError.make(.decryptionFailed, "cannot set up PKCS#1 v1.5 decryption")
            }
            var plaintext: [UInt8] = []
            plaintext.reserveCapacity(blockCount * (blockSize - Self.paddingOverhead))
            var block = [UInt8](repeating: 0, count: blockSize)
            // The scratch block holds plaintext (a password, for obshell headers): wipe it whatever happens.
            defer { block.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) } }
            var failedBlock: Int?
            ciphertext.withUnsafeBufferPointer { input in
                block.withUnsafeMutableBufferPointer { output in
                    guard let inputBase = input.baseAddress, let outputBase = output.baseAddress else {
                        failedBlock = 0
                        return
                    }
                    for index in 0..<blockCount {
                        var written = blockSize
                        let status = EVP_PKEY_decrypt(
                            context,
                            outputBase,
                            &written,
                            inputBase + index * blockSize,
                            blockSize
                        )
                        guard status == 1, written <= blockSize else {
                            failedBlock = index
                            return
                        }
                        plaintext.append(contentsOf: UnsafeBufferPointer(start: outputBase, count: written))
                    }
                }
            }
            if let failedBlock {
                throw OpenSSLError.make(
                    .decryptionFailed,
                    "block \(failedBlock + 1) of \(blockCount) did not decrypt"
                )
            }
            return plaintext
        }
    }
}

/// Turns OpenSSL's thread-local error queue into ``CryptoError`` values.
enum OpenSSLError {
    /// How many distinct OpenSSL reasons an error keeps; the queue can hold a long chain of decoder attempts.
    private static let maximumReasons = 4

    /// Makes an error from the reasons OpenSSL queued on this thread, and empties the queue so that nothing stale
    /// is left for the next operation on this (possibly shared, cooperative-pool) thread.
    static func make(_ code: CryptoError.Code, _ message: String) -> CryptoError {
        CryptoError(code: code, message: message, openSSLReason: Self.drainQueue())
    }

    /// Empties the queue and returns its distinct reasons, oldest first, joined by "; ", or nil if it was empty.
    static func drainQueue() -> String? {
        var reasons: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        while true {
            let code = ERR_get_error()
            guard code != 0 else { break }
            buffer.withUnsafeMutableBufferPointer { text in
                ERR_error_string_n(code, text.baseAddress, text.count)
            }
            let reason = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !reasons.contains(reason), reasons.count < Self.maximumReasons {
                reasons.append(reason)
            }
        }
        return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
    }
}
