import Foundation
import Testing

@testable import Cryptography

@Suite("RSA PKCS#1 v1.5 for obshell headers")
struct RSATests {
    /// A realistic auth v2 header: non-ASCII password, string `Ts`, a URI with a query, and AES `Keys`.
    static let headerJSON =
        #"{"Auth":"pässword-Rotated#2024","Ts":"1700000000","Uri":"/api/v1/task/dag/unfinish?show_details=true","#
        + #""Keys":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}"#

    /// Bytes that are easy to recognise and are not all the same (so a misplaced chunk would show).
    static func counting(_ count: Int) -> Data {
        Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) })
    }

    @Test("key sizes, chunk sizes and the served DER form", arguments: [512, 1024, 2048])
    func sizes(bits: Int) throws {
        let privateKey = try RSAPrivateKey.generate(bits: bits)
        let publicKey = try RSAPublicKey(base64DER: privateKey.publicKeyBase64DER)
        #expect(privateKey.sizeInBits == bits)
        #expect(privateKey.sizeInBytes == bits / 8)
        #expect(publicKey.sizeInBits == bits)
        #expect(publicKey.sizeInBytes == bits / 8)
        #expect(publicKey.maximumChunkLength == bits / 8 - 11)
        #expect(publicKey == privateKey.publicKey)
        #expect(publicKey.base64DER == privateKey.publicKeyBase64DER)
        // PKCS#1 RSAPublicKey is SEQUENCE { INTEGER n, INTEGER e }: a SEQUENCE whose first element is an INTEGER.
        let der = [UInt8](publicKey.pkcs1DER)
        #expect(der.first == 0x30)
        let firstElement = der[der[1] & 0x80 == 0 ? 2 : 2 + Int(der[1] & 0x7f)]
        #expect(firstElement == 0x02)
        #expect("\(privateKey)" == "RSA private key, \(bits) bits")
        #expect("\(publicKey)" == "RSA public key, \(bits) bits")
    }

    @Test("512 and 1024 bits: short, one chunk, one chunk plus one, two chunks, the header", arguments: [512, 1024])
    func roundTrip(bits: Int) throws {
        let privateKey = try RSAPrivateKey.generate(bits: bits)
        let publicKey = try RSAPublicKey(base64DER: privateKey.publicKeyBase64DER)
        let chunk = publicKey.maximumChunkLength
        let messages: [(String, Data)] = [
            ("short", Data("{}".utf8)),
            ("one byte less than a chunk", Self.counting(chunk - 1)),
            ("exactly one chunk", Self.counting(chunk)),
            ("one chunk plus one byte", Self.counting(chunk + 1)),
            ("exactly two chunks", Self.counting(2 * chunk)),
            ("the header JSON", Data(Self.headerJSON.utf8)),
            ("a 300-byte header", Self.counting(300)),
        ]
        for (name, message) in messages {
            let chunks = (message.count + chunk - 1) / chunk
            let ciphertext = try publicKey.encrypt(message)
            #expect(ciphertext.count == chunks * publicKey.sizeInBytes, "\(name)")
            #expect(ciphertext.count == publicKey.ciphertextLength(forPlaintextLength: message.count), "\(name)")
            #expect(try privateKey.decrypt(ciphertext) == message, "\(name)")
        }
    }

    @Test("the header JSON is longer than one chunk and survives base64", arguments: [512, 1024])
    func headerBase64(bits: Int) throws {
        let privateKey = try RSAPrivateKey.generate(bits: bits)
        let publicKey = try RSAPublicKey(base64DER: privateKey.publicKeyBase64DER)
        let header = Data(Self.headerJSON.utf8)
        #expect(header.count > publicKey.maximumChunkLength)
        #expect(header.count >= 150)
        let text = try publicKey.encryptToBase64(Self.headerJSON)
        #expect(Data(base64Encoded: text)?.count == publicKey.ciphertextLength(forPlaintextLength: header.count))
        let plaintext = try privateKey.decrypt(base64: text)
        #expect(String(decoding: plaintext, as: UTF8.self) == Self.headerJSON)
        #expect(try privateKey.decrypt(publicKey.encrypt(header)) == header)
    }

    @Test("random padding: the same text encrypts differently each time", arguments: [512, 1024])
    func randomPadding(bits: Int) throws {
        let privateKey = try RSAPrivateKey.generate(bits: bits)
        let publicKey = privateKey.publicKey
        let first = try publicKey.encrypt(Self.headerJSON)
        let second = try publicKey.encrypt(Self.headerJSON)
        #expect(first != second)
        // Every block differs, not only the first.
        let size = publicKey.sizeInBytes
        for start in stride(from: 0, to: first.count, by: size) {
            #expect(first[start..<start + size] != second[start..<start + size])
        }
        #expect(try privateKey.decrypt(first) == privateKey.decrypt(second))
    }

    @Test("2048 bits works too")
    func large() throws {
        let privateKey = try RSAPrivateKey.generate(bits: 2048)
        let publicKey = try RSAPublicKey(base64DER: privateKey.publicKeyBase64DER)
        let message = Self.counting(600)
        let ciphertext = try publicKey.encrypt(message)
        #expect(ciphertext.count == 3 * 256)
        #expect(try privateKey.decrypt(ciphertext) == message)
    }

    @Test("the server splits by key size: 53-byte chunks (what the SDKs send) decrypt with a 1024-bit key")
    func sdkChunking() throws {
        let privateKey = try RSAPrivateKey.generate(bits: 1024)
        let header = Data(Self.headerJSON.utf8)
        var ciphertext = Data()
        for start in stride(from: 0, to: header.count, by: 53) {
            ciphertext += try privateKey.publicKey.encrypt(header[start..<min(start + 53, header.count)])
        }
        #expect(ciphertext.count == (header.count + 52) / 53 * 128)
        #expect(try privateKey.decrypt(ciphertext) == header)
    }

    @Test("an empty plaintext is an empty ciphertext, and back")
    func empty() throws {
        let privateKey = try RSAPrivateKey.generate(bits: 512)
        #expect(try privateKey.publicKey.encrypt(Data()).isEmpty)
        #expect(try privateKey.publicKey.encryptToBase64("").isEmpty)
        #expect(try privateKey.decrypt(Data()).isEmpty)
    }

    @Test("a key re-parsed from its text is equal, a different key is not")
    func equality() throws {
        let first = try RSAPrivateKey.generate(bits: 512)
        let second = try RSAPrivateKey.generate(bits: 512)
        let reparsed = try RSAPublicKey(base64DER: "  \(first.publicKeyBase64DER)\n")
        #expect(reparsed == first.publicKey)
        #expect(reparsed.hashValue == first.publicKey.hashValue)
        #expect(reparsed != second.publicKey)
    }

    @Test("a SubjectPublicKeyInfo DER is accepted and gives the same PKCS#1 key")
    func subjectPublicKeyInfo() throws {
        let privateKey = try RSAPrivateKey.generate(bits: 1024)
        let spki = CryptoTestDER.subjectPublicKeyInfo(rsa: [UInt8](privateKey.publicKey.pkcs1DER))
        let publicKey = try RSAPublicKey(der: Data(spki))
        #expect(publicKey == privateKey.publicKey)
        #expect(try privateKey.decrypt(publicKey.encrypt(Self.headerJSON)) == Data(Self.headerJSON.utf8))
    }

    @Test("one key shared by concurrent tasks")
    func concurrentUse() async throws {
        let privateKey = try RSAPrivateKey.generate(bits: 1024)
        let publicKey = privateKey.publicKey
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<16 {
                group.addTask {
                    let message = Data("\(Self.headerJSON) #\(index)".utf8)
                    return try privateKey.decrypt(publicKey.encrypt(message)) == message
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 16)
        #expect(results.allSatisfy { $0 })
    }
}

/// Just enough DER writing to build test keys.
enum CryptoTestDER {
    static func element(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        var length: [UInt8]
        if content.count < 0x80 {
            length = [UInt8(content.count)]
        } else {
            var bytes: [UInt8] = []
            var remaining = content.count
            while remaining > 0 {
                bytes.insert(UInt8(remaining & 0xff), at: 0)
                remaining >>= 8
            }
            length = [0x80 | UInt8(bytes.count)] + bytes
        }
        return [tag] + length + content
    }

    /// PKCS#1 RSAPublicKey from big-endian modulus and exponent bytes (positive: a leading 0 is added if needed).
    static func rsaPublicKey(modulus: [UInt8], exponent: [UInt8]) -> [UInt8] {
        func integer(_ bytes: [UInt8]) -> [UInt8] {
            Self.element(0x02, (bytes.first ?? 0) & 0x80 != 0 ? [0] + bytes : bytes)
        }
        return Self.element(0x30, integer(modulus) + integer(exponent))
    }

    /// SubjectPublicKeyInfo { rsaEncryption, NULL } around a PKCS#1 key.
    static func subjectPublicKeyInfo(rsa pkcs1: [UInt8]) -> [UInt8] {
        let rsaEncryption: [UInt8] = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]
        let algorithm = Self.element(0x30, rsaEncryption + [0x05, 0x00])
        return Self.element(0x30, algorithm + Self.element(0x03, [0x00] + pkcs1))
    }
}
