import Foundation
import Testing

@testable import Cryptography

@Suite("RSA: bad keys and bad ciphertexts are typed errors")
struct RSAErrorTests {
    /// A P-256 public key (SubjectPublicKeyInfo DER, base64): valid, but not RSA.
    static let ecPublicKey =
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8Ncl6gEJxGcqv+cOwgBpp2PMwNqyzWTNgzq+KsvYjAscUdN8goyGdeL7HUt+pyqc9YohYjc68TAe"
        + "s3MuHwz1eA=="

    private func parseError(_ text: String) -> CryptoError? {
        do {
            _ = try RSAPublicKey(base64DER: text)
            return nil
        } catch {
            return error
        }
    }

    private func parseError(der: [UInt8]) -> CryptoError? {
        do {
            _ = try RSAPublicKey(der: Data(der))
            return nil
        } catch {
            return error
        }
    }

    private func decryptError(_ key: RSAPrivateKey, _ ciphertext: Data) -> CryptoError? {
        do {
            _ = try key.decrypt(ciphertext)
            return nil
        } catch {
            return error
        }
    }

    @Test("text that is not base64")
    func garbageBase64() {
        for text in ["not base64 at all!", "MEgCQQ", "@@@@", "MEgC\u{00e9}QQ=="] {
            let error = self.parseError(text)
            #expect(error?.code == .invalidBase64, "\(text)")
            #expect(error?.message.contains(text) == false)
        }
    }

    @Test("a PEM document is refused, with a message that says so")
    func pem() throws {
        let key = try RSAPrivateKey.generate(bits: 512)
        for label in ["RSA PUBLIC KEY", "PUBLIC KEY"] {
            let pem = "-----BEGIN \(label)-----\n\(key.publicKeyBase64DER)\n-----END \(label)-----\n"
            let error = self.parseError(pem)
            #expect(error?.code == .invalidBase64)
            #expect(error?.message.contains("PEM") == true)
        }
    }

    @Test("valid base64 of bytes that are not a key")
    func garbageDER() throws {
        for text in [
            Data("hello world".utf8).base64EncodedString(), Data([0x30, 0x03, 0x02, 0x01]).base64EncodedString(),
        ] {
            let error = self.parseError(text)
            #expect(error?.code == .invalidKey, "\(text)")
            #expect(error?.openSSLReason != nil)
            #expect(error.map { $0.message.contains("OpenSSL") } == true)
        }
        #expect(self.parseError("")?.code == .invalidKey)
        #expect(self.parseError("   \n")?.code == .invalidKey)
    }

    @Test("a truncated key, and a key followed by extra bytes")
    func truncatedAndTrailing() throws {
        let der = [UInt8](try RSAPrivateKey.generate(bits: 512).publicKey.pkcs1DER)
        #expect(self.parseError(der: Array(der.dropLast()))?.code == .invalidKey)
        #expect(self.parseError(der: Array(der.prefix(10)))?.code == .invalidKey)
        let trailing = self.parseError(der: der + [0x00])
        #expect(trailing?.code == .invalidKey)
        #expect(trailing?.message.contains("1 extra byte(s) after its end") == true)
    }

    @Test("keys that parse but cannot be used")
    func unsupportedKeys() throws {
        let ec = self.parseError(Self.ecPublicKey)
        #expect(ec?.code == .unsupportedKey)
        #expect(ec?.message.contains("not an RSA key") == true)

        // 256-bit modulus: below obshell's (and OpenSSL's) 512-bit minimum.
        let small = CryptoTestDER.rsaPublicKey(
            modulus: [0xc5] + [UInt8](repeating: 0x5b, count: 30) + [0x01],
            exponent: [1, 0, 1]
        )
        let smallError = self.parseError(der: small)
        #expect(smallError?.code == .unsupportedKey)
        #expect(smallError?.message.contains("256 bits") == true)

        // 512 bits but an even modulus, or exponent 1: no real key generator makes these.
        let evenModulus = [0xc5] + [UInt8](repeating: 0x5b, count: 62) + [0x02]
        #expect(
            self.parseError(der: CryptoTestDER.rsaPublicKey(modulus: evenModulus, exponent: [1, 0, 1]))?.code
                == .invalidKey
        )
        let oddModulus = [0xc5] + [UInt8](repeating: 0x5b, count: 62) + [0x03]
        #expect(
            self.parseError(der: CryptoTestDER.rsaPublicKey(modulus: oddModulus, exponent: [1]))?.code == .invalidKey
        )
    }

    @Test("key sizes that cannot be generated", arguments: [-1, 0, 256, 511, 16_385, 1_000_000])
    func generateSizes(bits: Int) {
        #expect {
            try RSAPrivateKey.generate(bits: bits)
        } throws: { error in
            (error as? CryptoError)?.code == .unsupportedKey
        }
    }

    @Test("ciphertexts that are not whole blocks", arguments: [512, 1024])
    func wrongLength(bits: Int) throws {
        let key = try RSAPrivateKey.generate(bits: bits)
        let ciphertext = try key.publicKey.encrypt(RSATests.headerJSON)
        for bad in [ciphertext.dropLast(), ciphertext + [0], Data([1]), ciphertext.prefix(key.sizeInBytes - 1)] {
            let error = self.decryptError(key, Data(bad))
            #expect(error?.code == .invalidCiphertextLength, "\(bad.count) bytes")
        }
        #expect(throws: CryptoError.self) { try key.decrypt(base64: "not base64!") }
    }

    @Test("a tampered block is refused, and the error names the block, not the plaintext", arguments: [512, 1024])
    func tampered(bits: Int) throws {
        let key = try RSAPrivateKey.generate(bits: bits)
        let size = key.sizeInBytes
        let ciphertext = try key.publicKey.encrypt(RSATests.headerJSON)
        #expect(ciphertext.count >= 2 * size)
        // Block value 1 decrypts to 1, which has no 00 02 padding; all 0xFF is larger than the modulus.
        let one = Data(repeating: 0, count: size - 1) + [1]
        let large = Data(repeating: 0xff, count: size)
        for replacement in [one, large] {
            var tampered = ciphertext
            tampered.replaceSubrange(size..<2 * size, with: replacement)
            let error = self.decryptError(key, tampered)
            #expect(error?.code == .decryptionFailed)
            #expect(error?.message.contains("block 2 of \(ciphertext.count / size)") == true)
            #expect(error?.openSSLReason != nil)
            #expect(error.map { "\($0)".contains("pässword") } == false)
        }
    }
}
