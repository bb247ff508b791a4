import ConfigModel
import Foundation
import Glibc
import Synchronization

/// The one socket of a ``SyslogSender``, opened lazily, and the blocking calls made on it.
///
/// Every call here may wait (in `poll`, never longer than the deadline), so the sender runs them on its own
/// serial dispatch queue, never on Swift's cooperative pool. The descriptor sits in a `Mutex` only so the class is
/// `Sendable`; the serial queue already keeps calls from overlapping.
final class SyslogSocket: Sendable {
    private let address: SyslogSettings.Address
    private let descriptor = Mutex<Int32>(-1)
    /// TCP: the last frame written on the current connection, and a frame to write again first on the next one.
    /// A frame written just before the collector went away may never have been read, and TCP cannot tell: when the
    /// connection turns out to be dead, that frame goes out again (at least once; the record carries its
    /// `event_id`), so a collector restart loses nothing.
    private let frames = Mutex<(last: [UInt8]?, replay: [UInt8]?)>((nil, nil))

    /// Makes an unconnected socket holder for an address.
    init(address: SyslogSettings.Address) {
        self.address = address
    }

    deinit {
        self.close()
    }

    /// Sends one message, connecting first when needed.
    ///
    /// TCP frames it with octet counting (`LEN SP MSG`, RFC 6587) and first checks whether the collector closed
    /// the connection since the last message: a write into such a socket "succeeds" into the kernel and is lost
    /// when the reset comes back, so a closed connection is replaced before writing. Datagram sockets are
    /// connected too, so a collector that restarted (a new `/dev/log`, an ICMP port unreachable) shows up as an
    /// error; the message is then sent once more on a fresh socket.
    /// - Throws: ``SyslogDeliveryError``; the socket is closed, and the next send reconnects.
    func send(_ message: Data, deadline: ContinuousClock.Instant) throws(SyslogDeliveryError) {
        try self.descriptor.withLock { descriptor throws(SyslogDeliveryError) in
            switch self.address {
            case .tcp(let host, let port):
                if descriptor >= 0 && Self.peerClosed(descriptor) {
                    Self.close(&descriptor)
                    self.frames.withLock { $0.replay = $0.replay ?? $0.last }
                }
                if descriptor < 0 {
                    descriptor = try self.connectNetwork(host: host, port: port, stream: true, deadline: deadline)
                    self.frames.withLock { $0.last = nil }
                }
                var framed = Array("\(message.count) ".utf8)
                framed.append(contentsOf: message)
                do throws(SyslogDeliveryError) {
                    if let replay = self.frames.withLock({ $0.replay }) {
                        try self.write(replay, to: descriptor, datagram: false, deadline: deadline)
                        self.frames.withLock { $0.replay = nil }
                    }
                    try self.write(framed, to: descriptor, datagram: false, deadline: deadline)
                    self.frames.withLock { $0.last = framed }
                } catch {
                    Self.close(&descriptor)
                    self.frames.withLock { $0.replay = $0.replay ?? $0.last }
                    throw error
                }
            case .udp, .unix:
                let bytes = [UInt8](message)
                for attempt in 0..<2 {
                    let reused = descriptor >= 0
                    if !reused {
                        descriptor = try self.connectDatagram(deadline: deadline)
                    }
                    do throws(SyslogDeliveryError) {
                        try self.write(bytes, to: descriptor, datagram: true, deadline: deadline)
                        return
                    } catch {
                        Self.close(&descriptor)
                        if attempt == 0 && reused && Self.isStale(error) { continue }
                        throw error
                    }
                }
            }
        }
    }

    /// Closes the socket; the next send opens a new one.
    func close() {
        self.descriptor.withLock { Self.close(&$0) }
    }

    private static func close(_ descriptor: inout Int32) {
        if descriptor >= 0 {
            _ = Glibc.close(descriptor)
            descriptor = -1
        }
    }

    /// Errors that mean the peer behind a connected datagram socket went away or came back as a new socket.
    private static func isStale(_ error: SyslogDeliveryError) -> Bool {
        guard let number = error.errorNumber else { return false }
        return [ECONNREFUSED, ENOTCONN, ECONNRESET, ENOENT, EDESTADDRREQ].contains(number)
    }

    // MARK: - Connecting

    private func connectDatagram(deadline: ContinuousClock.Instant) throws(SyslogDeliveryError) -> Int32 {
        switch self.address {
        case .unix(let path):
            return try self.connectUnix(path: path)
        case .udp(let host, let port):
            return try self.connectNetwork(host: host, port: port, stream: false, deadline: deadline)
        case .tcp(let host, let port):
            return try self.connectNetwork(host: host, port: port, stream: true, deadline: deadline)
        }
    }

    private func connectUnix(path: String) throws(SyslogDeliveryError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard !pathBytes.isEmpty, pathBytes.count < MemoryLayout.size(ofValue: address.sun_path),
            !pathBytes.contains(0)
        else {
            throw self.error(.invalidAddress, "the socket path is empty or longer than 107 bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Self.socketFlags, 0)
        guard descriptor >= 0 else { throw self.error(.connectFailed, "socket() failed", errno) }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                Glibc.connect(descriptor, generic, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if result != 0 {
            let number = errno
            _ = Glibc.close(descriptor)
            throw self.error(.connectFailed, "no syslog socket listens at \(path)", number)
        }
        return descriptor
    }

    private struct ResolvedAddress {
        var family: Int32
        var bytes: [UInt8]
    }

    private func resolve(host: String, port: Int, stream: Bool) throws(SyslogDeliveryError) -> [ResolvedAddress] {
        guard (1...65_535).contains(port) else {
            throw self.error(.invalidAddress, "port \(port) is out of range")
        }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = stream ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        defer { if let list { freeaddrinfo(list) } }
        guard status == 0 else {
            let reason = gai_strerror(status).map { String(cString: $0) } ?? "error \(status)"
            throw self.error(.resolveFailed, "cannot resolve \(host): \(reason)")
        }
        var addresses: [ResolvedAddress] = []
        var cursor = list
        while let entry = cursor {
            if let socketAddress = entry.pointee.ai_addr, entry.pointee.ai_addrlen > 0 {
                let raw = UnsafeRawBufferPointer(start: socketAddress, count: Int(entry.pointee.ai_addrlen))
                addresses.append(ResolvedAddress(family: entry.pointee.ai_family, bytes: Array(raw)))
            }
            cursor = entry.pointee.ai_next
        }
        guard !addresses.isEmpty else { throw self.error(.resolveFailed, "\(host) has no address") }
        return addresses
    }

    /// Connects to the first address that answers; a stream connect waits in `poll` until the deadline.
    private func connectNetwork(
        host: String,
        port: Int,
        stream: Bool,
        deadline: ContinuousClock.Instant
    ) throws(SyslogDeliveryError) -> Int32 {
        var lastError = self.error(.connectFailed, "no address of \(host) answered")
        for address in try self.resolve(host: host, port: port, stream: stream) {
            let type = stream ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)
            let descriptor = socket(address.family, type | Self.socketFlags, 0)
            guard descriptor >= 0 else {
                lastError = self.error(.connectFailed, "socket() failed", errno)
                continue
            }
            do throws(SyslogDeliveryError) {
                try self.connect(descriptor, to: address.bytes, deadline: deadline)
                return descriptor
            } catch {
                _ = Glibc.close(descriptor)
                lastError = error
                if error.code == .timedOut { break }
            }
        }
        throw lastError
    }

    private func connect(
        _ descriptor: Int32,
        to address: [UInt8],
        deadline: ContinuousClock.Instant
    ) throws(SyslogDeliveryError) {
        let result = address.withUnsafeBytes { raw -> Int32 in
            guard let base = raw.baseAddress else { return -1 }
            return Glibc.connect(descriptor, base.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        if result == 0 { return }
        let number = errno
        guard number == EINPROGRESS || number == EINTR else {
            throw self.error(.connectFailed, "connection to \(self.address) failed", number)
        }
        _ = try self.wait(descriptor, for: Int16(POLLOUT), until: deadline, doing: "connecting")
        var failure: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &failure, &length) == 0 else {
            throw self.error(.connectFailed, "connection to \(self.address) failed", errno)
        }
        if failure != 0 {
            throw self.error(.connectFailed, "connection to \(self.address) failed", failure)
        }
    }

    // MARK: - Writing

    private func write(
        _ bytes: [UInt8],
        to descriptor: Int32,
        datagram: Bool,
        deadline: ContinuousClock.Instant
    ) throws(SyslogDeliveryError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return Glibc.send(descriptor, base + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent >= 0 {
                offset += sent
                if datagram && offset < bytes.count {
                    throw self.error(.messageTooLarge, "the datagram was cut to \(sent) of \(bytes.count) bytes")
                }
                continue
            }
            let number = errno
            switch number {
            case EINTR:
                continue
            case EAGAIN, EWOULDBLOCK:
                _ = try self.wait(descriptor, for: Int16(POLLOUT), until: deadline, doing: "sending")
            case EMSGSIZE:
                throw self.error(.messageTooLarge, "\(bytes.count) bytes do not fit in one datagram", number)
            default:
                throw self.error(.sendFailed, "sending to \(self.address) failed", number)
            }
        }
    }

    /// Waits until the descriptor is ready for `events` or the deadline passes.
    private func wait(
        _ descriptor: Int32,
        for events: Int16,
        until deadline: ContinuousClock.Instant,
        doing activity: String
    ) throws(SyslogDeliveryError) -> Int16 {
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else {
                throw self.error(.timedOut, "\(activity) to \(self.address) timed out")
            }
            let (seconds, attoseconds) = remaining.components
            // A wait longer than poll's Int32 milliseconds is cut; the loop waits again until the deadline.
            let milliseconds =
                seconds >= Int64(Int32.max / 1000)
                ? Int64(Int32.max) : seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1
            var entry = pollfd(fd: descriptor, events: events, revents: 0)
            let ready = poll(&entry, 1, Int32(clamping: milliseconds))
            if ready > 0 { return entry.revents }
            if ready < 0 && errno != EINTR {
                throw self.error(.sendFailed, "poll failed while \(activity)", errno)
            }
        }
    }

    /// Whether a TCP peer has closed or reset the connection: the socket is readable and reading finds the end of
    /// the stream or an error. A collector never sends anything, so bytes it did send are read and dropped.
    private static func peerClosed(_ descriptor: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 512)
        for _ in 0..<64 {
            var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, 0)
            guard ready > 0 else { return false }
            if entry.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 { return true }
            let received = buffer.withUnsafeMutableBytes { raw in
                recv(descriptor, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT))
            }
            if received == 0 { return true }
            if received < 0 {
                let number = errno
                return number != EAGAIN && number != EWOULDBLOCK && number != EINTR
            }
        }
        return false
    }

    private static let socketFlags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)

    private func error(
        _ code: SyslogDeliveryError.Code,
        _ message: String,
        _ number: Int32? = nil
    )
        -> SyslogDeliveryError
    {
        var text = message
        if let number {
            text += ": " + String(cString: strerror(number))
        }
        return SyslogDeliveryError(code: code, message: text, errorNumber: number, address: self.address.description)
    }
}
