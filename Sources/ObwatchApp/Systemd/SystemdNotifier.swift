import Foundation
package import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Tells systemd how the daemon is doing, through the `sd_notify` datagram protocol of a `Type=notify` unit.
///
/// Under systemd, `NOTIFY_SOCKET` names a unix datagram socket (a path, or an abstract name starting with `@`);
/// each message is one datagram of `KEY=VALUE` lines. Outside systemd the variable is absent and every method does
/// nothing, so the daemon calls them unconditionally.
///
/// Sending never blocks (a full queue at systemd's end drops the message) and never throws: a failure is logged,
/// and the daemon carries on, because a lost notification must not stop the watching. Each message goes through
/// a socket of its own that is closed at once, so the notifier holds no descriptor and is a plain `Sendable` value.
package struct SystemdNotifier: Sendable {
    /// The `sun_path` bytes of the notification socket, and how long the address is; nil outside systemd.
    private let address: SocketAddress?
    private let logger: Logger

    /// How often to call ``watchdog()``: half of `WATCHDOG_USEC`, as systemd recommends.
    ///
    /// Nil when the unit sets no `WatchdogSec=`, when `WATCHDOG_PID` names another process (the variables were
    /// inherited from a parent), or when there is no notification socket to ping.
    package let watchdogInterval: Duration?

    /// Whether messages have somewhere to go, i.e. `NOTIFY_SOCKET` names a usable socket.
    package var isEnabled: Bool { self.address != nil }

    /// Reads the notification socket and the watchdog settings from this process's environment.
    /// - Parameter logger: Where failures to notify are reported.
    package init(logger: Logger = Logger(label: "obwatch.systemd")) {
        self.init(
            environment: ProcessInfo.processInfo.environment,
            processID: ProcessInfo.processInfo.processIdentifier,
            logger: logger
        )
    }

    /// Reads the notification socket and the watchdog settings from `environment`.
    /// - Parameters:
    ///   - environment: The variables systemd passes: `NOTIFY_SOCKET`, `WATCHDOG_USEC`, `WATCHDOG_PID`.
    ///   - processID: This process's id, compared with `WATCHDOG_PID`.
    ///   - logger: Where an unusable `NOTIFY_SOCKET` and failures to notify are reported.
    package init(environment: [String: String], processID: Int32, logger: Logger) {
        self.logger = logger
        self.address = Self.socketAddress(environment["NOTIFY_SOCKET"], logger: logger)
        if self.address != nil {
            self.watchdogInterval = Self.watchdogInterval(
                microseconds: environment["WATCHDOG_USEC"],
                processID: environment["WATCHDOG_PID"],
                ownProcessID: processID
            )
        } else {
            self.watchdogInterval = nil
        }
    }

    /// Tells systemd that start-up is over (the config is loaded), or that a reload has finished.
    /// - Parameter status: An optional one-line status for `systemctl status`.
    /// - Returns: Whether the message went out.
    @discardableResult
    package func ready(status: String? = nil) -> Bool {
        var lines = ["READY=1"]
        if let status { lines.append("STATUS=" + Self.oneLine(status)) }
        return self.send(lines)
    }

    /// Tells systemd that a reload (SIGHUP) has begun; call ``ready(status:)`` when it has finished, whether the
    /// new config was taken or refused, or the unit stays "reloading".
    ///
    /// `MONOTONIC_USEC` lets systemd 253 and later (`Type=notify-reload`) tell this reload from an older one;
    /// systemd 252 ignores it.
    /// - Returns: Whether the message went out.
    @discardableResult
    package func reloading() -> Bool {
        self.send(["RELOADING=1", "MONOTONIC_USEC=\(Self.monotonicMicroseconds())"])
    }

    /// Tells systemd that a graceful stop has begun, so it shows "deactivating" while the outbox drains.
    /// - Returns: Whether the message went out.
    @discardableResult
    package func stopping() -> Bool {
        self.send(["STOPPING=1"])
    }

    /// Tells systemd's watchdog that the run loop is alive; call it every ``watchdogInterval``.
    /// - Returns: Whether the message went out.
    @discardableResult
    package func watchdog() -> Bool {
        self.send(["WATCHDOG=1"])
    }

    /// Sets the one-line status `systemctl status` shows.
    /// - Parameter text: The status; line breaks and other control characters become spaces, so the text cannot
    ///   smuggle in a `READY=1` or `WATCHDOG=1` of its own.
    /// - Returns: Whether the message went out.
    @discardableResult
    package func status(_ text: String) -> Bool {
        self.send(["STATUS=" + Self.oneLine(text)])
    }
}

extension SystemdNotifier {
    /// A unix socket address as the bytes of `sun_path` to use; abstract names start with a NUL byte.
    private struct SocketAddress: Sendable {
        var pathBytes: [UInt8]
    }

    /// The capacity of `sockaddr_un.sun_path`.
    private static var pathCapacity: Int { MemoryLayout.size(ofValue: sockaddr_un().sun_path) }

    private static func socketAddress(_ value: String?, logger: Logger) -> SocketAddress? {
        guard let value, !value.isEmpty else { return nil }
        var bytes: [UInt8]
        if value.hasPrefix("/") {
            // A path is NUL-terminated inside sun_path, and the terminator is part of the address length.
            bytes = Array(value.utf8) + [0]
        } else if value.hasPrefix("@"), value.utf8.count > 1 {
            // An abstract name is a leading NUL and the name's bytes, with no terminator.
            bytes = [0] + Array(value.utf8.dropFirst())
        } else {
            logger.warning(
                "NOTIFY_SOCKET is neither a path nor an abstract socket name; systemd will not hear from obwatch",
                metadata: ["systemd.notify_socket": "\(value)"]
            )
            return nil
        }
        guard bytes.count <= Self.pathCapacity else {
            logger.warning(
                "NOTIFY_SOCKET is longer than a unix socket address can be; systemd will not hear from obwatch",
                metadata: ["systemd.notify_socket": "\(value)"]
            )
            return nil
        }
        return SocketAddress(pathBytes: bytes)
    }

    private static func watchdogInterval(
        microseconds: String?,
        processID: String?,
        ownProcessID: Int32
    ) -> Duration? {
        guard let microseconds, let total = Int64(microseconds), total > 0 else { return nil }
        if let processID {
            // A WATCHDOG_PID of another process means the variables were inherited: the pings are not ours to send.
            guard let pid = Int32(processID), pid == ownProcessID else { return nil }
        }
        return .microseconds(total / 2)
    }

    /// Replaces line breaks and other control characters, which would end the assignment or start another.
    private static func oneLine(_ text: String) -> String {
        String(
            String.UnicodeScalarView(
                text.unicodeScalars.map { scalar in
                    scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}"
                        ? " " : scalar
                }
            )
        )
    }

    /// CLOCK_MONOTONIC in microseconds, the clock systemd compares `MONOTONIC_USEC` with; Swift's
    /// `ContinuousClock` is CLOCK_BOOTTIME on Linux, a different origin once the machine has slept.
    private static func monotonicMicroseconds() -> Int64 {
        var now = timespec()
        guard clock_gettime(CLOCK_MONOTONIC, &now) == 0 else { return 0 }
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
    }

    /// Sends `lines` as one datagram; logs and returns false when it cannot.
    private func send(_ lines: [String]) -> Bool {
        guard let address = self.address else { return false }
        let message = Array((lines.joined(separator: "\n") + "\n").utf8)
        let descriptor = socket(
            AF_UNIX,
            Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
            0
        )
        guard descriptor >= 0 else {
            self.logFailure("cannot create a unix datagram socket", errorNumber: errno, lines: lines)
            return false
        }
        defer { close(descriptor) }

        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { path in
            path.copyBytes(from: address.pathBytes)
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path) ?? MemoryLayout<sa_family_t>.size
        let addressLength = socklen_t(pathOffset + address.pathBytes.count)

        var result: Int
        repeat {
            result = message.withUnsafeBytes { bytes in
                withUnsafePointer(to: &socketAddress) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                        sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), generic, addressLength)
                    }
                }
            }
        } while result < 0 && errno == EINTR
        guard result == message.count else {
            let errorNumber = result < 0 ? errno : EMSGSIZE
            self.logFailure("cannot send to NOTIFY_SOCKET", errorNumber: errorNumber, lines: lines)
            return false
        }
        return true
    }

    private func logFailure(_ what: String, errorNumber: Int32, lines: [String]) {
        // Only the keys: a status text is ours, but it may quote anything an agent said.
        let keys = lines.map { $0.prefix { $0 != "=" } }.joined(separator: ",")
        self.logger.warning(
            "\(what): \(String(cString: strerror(errorNumber)))",
            metadata: ["systemd.message": "\(keys)", "errno": "\(errorNumber)"]
        )
    }
}
