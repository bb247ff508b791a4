import Dispatch
import Foundation
import Glibc
import Synchronization

/// A failure of the syslog test plumbing.
struct SyslogTestError: Error, CustomStringConvertible {
    var message: String
    var description: String { self.message }

    static func errno(_ call: String) -> SyslogTestError {
        SyslogTestError(message: "\(call) failed: \(String(cString: strerror(Glibc.errno)))")
    }
}

/// How long a test waits for a message that should come at once; only a broken sender ever reaches it.
private let syslogTestWaitMilliseconds: Int32 = 60_000

/// Runs a blocking call on a dispatch thread, off Swift's cooperative pool.
private func syslogOffPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    // A thread of its own: Dispatch's global queue has about one thread per core here, and the other tests'
    // blocking waits could hold them all.
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try body() })
        }
    }
}

/// Waits in `poll` until the descriptor is readable (an event, not a fixed delay), or fails after the test wait.
private func syslogAwaitReadable(_ descriptor: Int32) throws {
    var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
    while true {
        let ready = poll(&entry, 1, syslogTestWaitMilliseconds)
        if ready > 0 { return }
        if ready == 0 { throw SyslogTestError(message: "nothing arrived within the test's wait") }
        if Glibc.errno != EINTR { throw SyslogTestError.errno("poll") }
    }
}

/// A socket the test binds and reads: a unix datagram socket, a UDP socket or a TCP listener.
final class SyslogTestSocket: Sendable {
    let descriptor: Int32
    /// The bound port (UDP and TCP).
    let port: Int

    private init(descriptor: Int32, port: Int) {
        self.descriptor = descriptor
        self.port = port
    }

    /// A unix datagram socket bound at `path` (the path must not exist).
    static func unixDatagram(path: String) throws -> SyslogTestSocket {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SyslogTestError.errno("socket") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            Glibc.close(descriptor)
            throw SyslogTestError.errno("bind \(path)")
        }
        // Big messages must fit in one read; a 256 KiB receive buffer leaves room for the 10 KB tests.
        var size: Int32 = 262_144
        _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        return SyslogTestSocket(descriptor: descriptor, port: 0)
    }

    /// A UDP socket on 127.0.0.1 with an OS-chosen port.
    static func udp() throws -> SyslogTestSocket {
        try Self.inet(type: Int32(SOCK_DGRAM.rawValue), port: 0)
    }

    /// A TCP listener on 127.0.0.1, on `port` (0 for an OS-chosen one), address reuse on so a test can listen
    /// again on the port it just closed.
    static func tcpListener(port: Int = 0) throws -> SyslogTestSocket {
        let socket = try Self.inet(type: Int32(SOCK_STREAM.rawValue), port: port)
        guard listen(socket.descriptor, 8) == 0 else { throw SyslogTestError.errno("listen") }
        return socket
    }

    private static func inet(type: Int32, port: Int) throws -> SyslogTestSocket {
        let descriptor = socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SyslogTestError.errno("socket") }
        var yes: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var size: Int32 = 262_144
        _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else {
            Glibc.close(descriptor)
            throw SyslogTestError.errno("bind")
        }
        return SyslogTestSocket(descriptor: descriptor, port: Int(UInt16(bigEndian: address.sin_port)))
    }

    /// The next datagram, whole.
    func receiveDatagram() async throws -> Data {
        let descriptor = self.descriptor
        return try await syslogOffPool {
            try syslogAwaitReadable(descriptor)
            var buffer = [UInt8](repeating: 0, count: 262_144)
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count >= 0 else { throw SyslogTestError.errno("recv") }
            return Data(buffer[..<count])
        }
    }

    /// Whether a datagram is waiting right now.
    func hasPendingDatagram() -> Bool {
        var entry = pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) > 0
    }

    /// The next incoming TCP connection.
    func accept() async throws -> SyslogTestStream {
        let descriptor = self.descriptor
        let connection = try await syslogOffPool { () throws -> Int32 in
            try syslogAwaitReadable(descriptor)
            let connection = Glibc.accept(descriptor, nil, nil)
            guard connection >= 0 else { throw SyslogTestError.errno("accept") }
            return connection
        }
        return SyslogTestStream(descriptor: connection)
    }

    func close() {
        Glibc.close(self.descriptor)
    }
}

/// One accepted TCP connection, read as RFC 6587 octet-counted frames.
final class SyslogTestStream: Sendable {
    let descriptor: Int32
    private let pending = Mutex<[UInt8]>([])

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// The next frame's message, parsed strictly: `LEN SP MSG`, LEN a decimal without leading zero.
    func readFrame() async throws -> Data {
        var length = 0
        var digits = 0
        while true {
            let byte = try await self.readByte()
            if byte == UInt8(ascii: " ") && digits > 0 { break }
            guard (0x30...0x39).contains(byte), !(digits == 0 && byte == 0x30), digits < 9 else {
                throw SyslogTestError(message: "bad frame length byte \(byte)")
            }
            length = length * 10 + Int(byte - 0x30)
            digits += 1
        }
        var message: [UInt8] = []
        while message.count < length {
            message.append(try await self.readByte())
        }
        return Data(message)
    }

    /// Whether the peer sent anything not yet read (checked without waiting).
    func hasPendingBytes() -> Bool {
        if !self.pending.withLock({ $0.isEmpty }) { return true }
        var entry = pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, 0) > 0 else { return false }
        var byte: UInt8 = 0
        return recv(self.descriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) > 0
    }

    private func readByte() async throws -> UInt8 {
        if let byte = self.pending.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
            return byte
        }
        let descriptor = self.descriptor
        let chunk = try await syslogOffPool { () throws -> [UInt8] in
            try syslogAwaitReadable(descriptor)
            var buffer = [UInt8](repeating: 0, count: 65_536)
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw SyslogTestError(message: "the connection ended") }
            return Array(buffer[..<count])
        }
        return self.pending.withLock { pending in
            pending.append(contentsOf: chunk)
            return pending.removeFirst()
        }
    }

    func close() {
        Glibc.close(self.descriptor)
    }
}

/// A fresh, short-named temporary directory (unix socket paths must stay under 108 bytes).
func makeSyslogTemporaryDirectory() throws -> String {
    var template = Array("/tmp/syslog-tests-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { buffer -> UnsafeMutablePointer<CChar>? in
        guard let base = buffer.baseAddress else { return nil }
        return mkdtemp(base)
    }
    guard let made else { throw SyslogTestError.errno("mkdtemp") }
    return String(cString: made)
}

/// An RFC 5424 message read by a strict parser: every field checked against the RFC's grammar and limits.
struct SyslogParsed5424 {
    struct Element {
        var id: String
        var parameters: [(name: String, value: String)]

        func value(_ name: String) -> String? {
            self.parameters.first { $0.name == name }?.value
        }
    }

    var priority: Int
    var timestamp: String
    var hostname: String
    var appName: String
    var procID: String
    var msgID: String
    var elements: [Element]
    /// The MSG without its BOM; `nil` when absent.
    var message: String?

    init(_ data: Data) throws {
        let bytes = [UInt8](data)
        guard !bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw SyslogTestError(message: "a control byte in the message")
        }
        var index = 0
        func fail(_ why: String) -> SyslogTestError {
            SyslogTestError(message: "\(why) at byte \(index): \(String(decoding: bytes, as: UTF8.self))")
        }
        func expect(_ byte: UInt8) throws {
            guard index < bytes.count, bytes[index] == byte else { throw fail("expected \(UnicodeScalar(byte))") }
            index += 1
        }
        func field(_ limit: Int) throws -> String {
            let start = index
            while index < bytes.count, bytes[index] != 0x20 {
                guard (0x21...0x7E).contains(bytes[index]) else { throw fail("not printable ASCII") }
                index += 1
            }
            guard index > start, index - start <= limit else { throw fail("field length") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
        try expect(UInt8(ascii: "<"))
        let priorityStart = index
        while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
        guard (1...3).contains(index - priorityStart),
            let priority = Int(String(decoding: bytes[priorityStart..<index], as: UTF8.self)), priority <= 191
        else { throw fail("PRI") }
        self.priority = priority
        try expect(UInt8(ascii: ">"))
        try expect(UInt8(ascii: "1"))
        try expect(0x20)
        self.timestamp = try field(32)
        let rfc3339 = #/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})/#
        let wellFormed = try rfc3339.wholeMatch(in: self.timestamp) != nil
        guard self.timestamp == "-" || wellFormed else {
            throw fail("TIMESTAMP \(self.timestamp)")
        }
        try expect(0x20)
        self.hostname = try field(255)
        try expect(0x20)
        self.appName = try field(48)
        try expect(0x20)
        self.procID = try field(128)
        try expect(0x20)
        self.msgID = try field(32)
        try expect(0x20)
        var elements: [Element] = []
        if index < bytes.count && bytes[index] == UInt8(ascii: "-") {
            index += 1
        } else {
            while index < bytes.count && bytes[index] == UInt8(ascii: "[") {
                index += 1
                let id = try Self.name(bytes, &index)
                var parameters: [(name: String, value: String)] = []
                while index < bytes.count && bytes[index] == 0x20 {
                    index += 1
                    let name = try Self.name(bytes, &index)
                    try expect(UInt8(ascii: "="))
                    try expect(UInt8(ascii: "\""))
                    var value: [UInt8] = []
                    while true {
                        guard index < bytes.count else { throw fail("unterminated value") }
                        let byte = bytes[index]
                        index += 1
                        if byte == UInt8(ascii: "\"") { break }
                        if byte == UInt8(ascii: "]") { throw fail("unescaped ]") }
                        if byte == UInt8(ascii: "\\"), index < bytes.count,
                            [UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "]")].contains(bytes[index])
                        {
                            value.append(bytes[index])
                            index += 1
                        } else if byte == UInt8(ascii: "\\") {
                            throw fail("a backslash that escapes nothing")
                        } else {
                            value.append(byte)
                        }
                    }
                    guard let text = String(validating: value, as: UTF8.self) else { throw fail("value not UTF-8") }
                    parameters.append((name, text))
                }
                try expect(UInt8(ascii: "]"))
                elements.append(Element(id: id, parameters: parameters))
            }
            guard !elements.isEmpty else { throw fail("no structured data") }
        }
        self.elements = elements
        if index == bytes.count {
            self.message = nil
        } else {
            try expect(0x20)
            var rest = Array(bytes[index...])
            if rest.starts(with: [0xEF, 0xBB, 0xBF]) { rest.removeFirst(3) }
            guard let text = String(validating: rest, as: UTF8.self) else { throw fail("MSG not UTF-8") }
            self.message = text
        }
    }

    func element(_ id: String) -> Element? {
        self.elements.first { $0.id == id }
    }

    /// SD-NAME: 1 to 32 printable ASCII, not `=`, SP, `]` or `"`.
    private static func name(_ bytes: [UInt8], _ index: inout Int) throws -> String {
        let start = index
        while index < bytes.count, (0x21...0x7E).contains(bytes[index]),
            ![UInt8(ascii: "="), UInt8(ascii: "]"), UInt8(ascii: "\"")].contains(bytes[index])
        {
            index += 1
        }
        guard (1...32).contains(index - start) else { throw SyslogTestError(message: "SD-NAME length") }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }
}

/// An RFC 3164 message read strictly: `<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG`.
struct SyslogParsed3164 {
    var priority: Int
    var timestamp: String
    var hostname: String
    var tag: String
    var processID: String
    var message: String

    init(_ data: Data) throws {
        guard data.count <= 1024, let text = String(validating: [UInt8](data), as: UTF8.self),
            !text.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
        else { throw SyslogTestError(message: "too long, not UTF-8 or a control character") }
        let shape =
            #/<(\d{1,3})>((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\d \d{2}:\d{2}:\d{2}) (\S+) ([A-Za-z0-9_.\/-]{1,32})\[(-?\d+)\]:(?: (.*))?/#
        guard let match = try shape.wholeMatch(in: text), let priority = Int(match.1), priority <= 191 else {
            throw SyslogTestError(message: "not RFC 3164: \(text)")
        }
        self.priority = priority
        self.timestamp = String(match.2)
        self.hostname = String(match.3)
        self.tag = String(match.4)
        self.processID = String(match.5)
        self.message = match.6.map(String.init) ?? ""
    }
}
