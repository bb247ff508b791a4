import Foundation
import Testing

@testable import Cryptography

/// Independent proof against the `openssl` command line: keys it makes, blocks it decrypts, DER it reads.
@Suite("RSA against the openssl command line")
struct OpenSSLCommandLineTests {
    @Test("openssl genrsa key: we encrypt, openssl pkeyutl decrypts every block", arguments: [512, 1024])
    func opensslDecrypts(bits: Int) async throws {
        let directory = try CryptoTemporaryDirectory()
        defer { directory.remove() }
        let keyFile = directory.path("key.pem")
        let publicFile = directory.path("public.der")
        try await OpenSSLTool.run(["genrsa", "-out", keyFile, "\(bits)"], in: directory)
        try await OpenSSLTool.run(
            ["rsa", "-in", keyFile, "-RSAPublicKey_out", "-outform", "DER", "-out", publicFile],
            in: directory
        )
        let publicKey = try RSAPublicKey(
            base64DER: try Data(contentsOf: URL(fileURLWithPath: publicFile)).base64EncodedString()
        )
        #expect(publicKey.sizeInBits == bits)

        let header = Data(RSATests.headerJSON.utf8)
        let ciphertext = try publicKey.encrypt(header)
        let size = publicKey.sizeInBytes
        #expect(ciphertext.count == (header.count + size - 12) / (size - 11) * size)
        var plaintext = Data()
        for (index, start) in stride(from: 0, to: ciphertext.count, by: size).enumerated() {
            let blockFile = directory.path("block\(index)")
            let plainFile = directory.path("plain\(index)")
            try ciphertext[start..<start + size].write(to: URL(fileURLWithPath: blockFile))
            try await OpenSSLTool.run(
                [
                    "pkeyutl", "-decrypt", "-inkey", keyFile, "-pkeyopt", "rsa_padding_mode:pkcs1",
                    "-in", blockFile, "-out", plainFile,
                ],
                in: directory
            )
            plaintext += try Data(contentsOf: URL(fileURLWithPath: plainFile))
        }
        #expect(plaintext == header)
    }

    @Test("our key: openssl reads the served PKCS#1 DER, encrypts, and we decrypt", arguments: [512, 1024])
    func weDecrypt(bits: Int) async throws {
        let directory = try CryptoTemporaryDirectory()
        defer { directory.remove() }
        let privateKey = try RSAPrivateKey.generate(bits: bits)
        let served = try #require(Data(base64Encoded: privateKey.publicKeyBase64DER))
        let publicFile = directory.path("public.der")
        try served.write(to: URL(fileURLWithPath: publicFile))

        // `-RSAPublicKey_in` accepts exactly PKCS#1 RSAPublicKey; re-encoding it must give the same bytes.
        let roundTripFile = directory.path("roundtrip.der")
        try await OpenSSLTool.run(
            [
                "rsa", "-RSAPublicKey_in", "-inform", "DER", "-in", publicFile,
                "-RSAPublicKey_out", "-outform", "DER", "-out", roundTripFile,
            ],
            in: directory
        )
        #expect(try Data(contentsOf: URL(fileURLWithPath: roundTripFile)) == served)

        let message = Data(RSATests.headerJSON.utf8.prefix(privateKey.publicKey.maximumChunkLength))
        let messageFile = directory.path("message")
        let cipherFile = directory.path("cipher")
        try message.write(to: URL(fileURLWithPath: messageFile))
        try await OpenSSLTool.run(
            [
                "pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey", publicFile,
                "-pkeyopt", "rsa_padding_mode:pkcs1", "-in", messageFile, "-out", cipherFile,
            ],
            in: directory
        )
        let ciphertext = try Data(contentsOf: URL(fileURLWithPath: cipherFile))
        #expect(ciphertext.count == privateKey.sizeInBytes)
        #expect(try privateKey.decrypt(ciphertext) == message)
    }

    @Test("openssl's SubjectPublicKeyInfo DER parses to the same key as its PKCS#1 DER")
    func subjectPublicKeyInfo() async throws {
        let directory = try CryptoTemporaryDirectory()
        defer { directory.remove() }
        let keyFile = directory.path("key.pem")
        try await OpenSSLTool.run(["genrsa", "-out", keyFile, "1024"], in: directory)
        try await OpenSSLTool.run(
            ["rsa", "-in", keyFile, "-RSAPublicKey_out", "-outform", "DER", "-out", directory.path("pkcs1.der")],
            in: directory
        )
        try await OpenSSLTool.run(
            ["rsa", "-in", keyFile, "-pubout", "-outform", "DER", "-out", directory.path("spki.der")],
            in: directory
        )
        let pkcs1 = try Data(contentsOf: URL(fileURLWithPath: directory.path("pkcs1.der")))
        let spki = try Data(contentsOf: URL(fileURLWithPath: directory.path("spki.der")))
        #expect(pkcs1 != spki)
        let fromPKCS1 = try RSAPublicKey(der: pkcs1)
        let fromSPKI = try RSAPublicKey(base64DER: spki.base64EncodedString())
        #expect(fromPKCS1 == fromSPKI)
        #expect(fromSPKI.pkcs1DER == pkcs1)
    }
}

/// A scratch directory for one test, removed by the test.
struct CryptoTemporaryDirectory {
    let url: URL

    init() throws {
        self.url = FileManager.default.temporaryDirectory.appendingPathComponent("obwatch-rsa-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String {
        self.url.appendingPathComponent(name).path
    }

    func remove() {
        try? FileManager.default.removeItem(at: self.url)
    }
}

/// Runs `/usr/bin/openssl`, awaiting its exit without blocking a thread; all data goes through files.
private enum OpenSSLTool {
    struct Failure: Error, CustomStringConvertible {
        var arguments: [String]
        var status: Int32
        var standardError: String
        var description: String {
            "openssl \(self.arguments.joined(separator: " ")) exited \(self.status): \(self.standardError)"
        }
    }

    static func run(_ arguments: [String], in directory: CryptoTemporaryDirectory) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = directory.url
        let errorURL = directory.url.appendingPathComponent("stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        let errorHandle = try FileHandle(forWritingTo: errorURL)
        defer { try? errorHandle.close() }
        process.standardError = errorHandle
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { finished in
                continuation.resume(returning: finished.terminationStatus)
            }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        guard status == 0 else {
            let text = (try? String(contentsOf: errorURL, encoding: .utf8)) ?? ""
            throw Failure(arguments: arguments, status: status, standardError: text)
        }
    }
}
