import Foundation
import Glibc
import PeerSupport

/// The Python peers shipped in this test target's `Peers/` resource folder.
enum Peers {
    /// The URL of a script in `Peers/`.
    static func script(_ name: String) throws -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: "py", subdirectory: "Peers") else {
            throw PeerError(message: "Peers/\(name).py is not in the test bundle")
        }
        return url
    }

    /// Starts the HTTP peer; its first line is the port (TCP) or `ready` (unix socket).
    static func http(_ arguments: [String] = []) throws -> PeerProcess {
        try PeerProcess.launchPython(script: self.script("http_peer"), arguments: arguments)
    }

    /// Starts the SMTP peer; its first line is the port, then one JSON line per accepted message.
    static func smtp(_ arguments: [String] = []) throws -> PeerProcess {
        try PeerProcess.launchPython(script: self.script("smtp_peer"), arguments: arguments)
    }
}

/// A fresh, short-named temporary directory (unix socket paths must stay under 108 bytes).
func makeTemporaryDirectory() throws -> String {
    var template = Array("/tmp/curl-tests-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { buffer -> UnsafeMutablePointer<CChar>? in
        guard let base = buffer.baseAddress else { return nil }
        return mkdtemp(base)
    }
    guard let made else {
        throw PeerError(message: "mkdtemp failed: errno \(errno)")
    }
    return String(cString: made)
}

/// A loopback TCP port that nothing listens on: bound by us, then closed.
func closedLoopbackPort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw PeerError(message: "socket failed: errno \(errno)") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
            bind(descriptor, generic, length) == 0 && getsockname(descriptor, generic, &length) == 0
        }
    }
    guard bound else { throw PeerError(message: "bind failed: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// The `/echo` route's answer.
struct Echo: Decodable {
    var method: String
    var path: String
    var query: String
    var headers: [[String]]
    var body: String
    var client: String

    /// The first value of a request header as the server saw it (case-insensitive).
    func header(_ name: String) -> String? {
        self.headers.first { $0.first?.lowercased() == name.lowercased() }?.last
    }

    static func decode(_ data: Data) throws -> Echo {
        try JSONDecoder().decode(Echo.self, from: data)
    }
}
