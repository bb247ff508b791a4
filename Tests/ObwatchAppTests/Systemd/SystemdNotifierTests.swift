import Foundation
import Logging
import Synchronization
import Testing

// The scratch package that builds this folder on its own names the module SystemdSupport.
#if canImport(SystemdSupport)
import SystemdSupport
#else
import ObwatchApp
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The notifier against real unix datagram sockets standing in for systemd's.
@Suite struct SystemdNotifierTests {
    private static let processID: Int32 = 4242

    @Test func readyReachesASocketPath() throws {
        let folder = try NotifyTestFolder()
        let receiver = try DatagramReceiver(path: folder.path("notify"))
        let notifier = SystemdNotifier(
            environment: ["NOTIFY_SOCKET": folder.path("notify")],
            processID: Self.processID,
            logger: LogRecorder().logger
        )
        #expect(notifier.isEnabled)
        #expect(notifier.ready())
        #expect(receiver.receive() == "READY=1\n")
        #expect(notifier.ready(status: "polling 3 targets"))
        #expect(receiver.receive() == "READY=1\nSTATUS=polling 3 targets\n")
        #expect(receiver.receive() == nil)
    }

    @Test func readyReachesAnAbstractSocket() throws {
        let name = "obwatch-notify-test-\(UUID().uuidString)"
        let receiver = try DatagramReceiver(abstractName: name)
        let notifier = SystemdNotifier(
            environment: ["NOTIFY_SOCKET": "@" + name],
            processID: Self.processID,
            logger: LogRecorder().logger
        )
        #expect(notifier.ready())
        #expect(notifier.watchdog())
        #expect(receiver.receive() == "READY=1\n")
        #expect(receiver.receive() == "WATCHDOG=1\n")
    }

    @Test func everyStateHasItsAssignment() throws {
        let folder = try NotifyTestFolder()
        let receiver = try DatagramReceiver(path: folder.path("notify"))
        let notifier = SystemdNotifier(
            environment: ["NOTIFY_SOCKET": folder.path("notify")],
            processID: Self.processID,
            logger: LogRecorder().logger
        )
        #expect(notifier.stopping())
        #expect(receiver.receive() == "STOPPING=1\n")
        #expect(notifier.watchdog())
        #expect(receiver.receive() == "WATCHDOG=1\n")
        #expect(notifier.status("2 targets, 1 DAG running"))
        #expect(receiver.receive() == "STATUS=2 targets, 1 DAG running\n")
    }

    @Test func reloadingCarriesTheMonotonicClock() throws {
        let folder = try NotifyTestFolder()
        let receiver = try DatagramReceiver(path: folder.path("notify"))
        let notifier = SystemdNotifier(
            environment: ["NOTIFY_SOCKET": folder.path("notify")],
            processID: Self.processID,
            logger: LogRecorder().logger
        )
        let before = monotonicMicroseconds()
        #expect(notifier.reloading())
        let after = monotonicMicroseconds()
        let message = try #require(receiver.receive())
        let lines = message.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 3)
        #expect(lines.first == "RELOADING=1")
        #expect(lines.last == "")
        let stamp = try #require(lines.dropFirst().first)
        #expect(stamp.hasPrefix("MONOTONIC_USEC="))
        let microseconds = try #require(Int64(stamp.dropFirst("MONOTONIC_USEC=".count)))
        #expect(before <= microseconds && microseconds <= after)
    }

    @Test func aStatusCannotAddAssignmentsOfItsOwn() throws {
        let folder = try NotifyTestFolder()
        let receiver = try DatagramReceiver(path: folder.path("notify"))
        let notifier = SystemdNotifier(
            environment: ["NOTIFY_SOCKET": folder.path("notify")],
            processID: Self.processID,
            logger: LogRecorder().logger
        )
        #expect(notifier.status("agent said\nREADY=1\r\nWATCHDOG=1\u{0}\u{2028}x"))
        #expect(receiver.receive() == "STATUS=agent said READY=1  WATCHDOG=1  x\n")
    }

    @Test func outsideSystemdNothingIsSentOrLogged() {
        let recorder = LogRecorder()
        let notifier = SystemdNotifier(
            environment: ["WATCHDOG_USEC": "30000000"],
            processID: Self.processID,
            logger: recorder.logger
        )
        #expect(!notifier.isEnabled)
        #expect(notifier.watchdogInterval == nil)
        #expect(!notifier.ready())
        #expect(!notifier.reloading())
        #expect(!notifier.stopping())
        #expect(!notifier.watchdog())
        #expect(!notifier.status("idle"))
        #expect(recorder.messages.isEmpty)
    }

    @Test(arguments: [
        "relative/notify", "vsock:2:1234", "@", "/" + String(repeating: "n", count: 200),
        "@" + String(repeating: "a", count: 200),
    ])
    func anUnusableSocketNameIsLoggedOnce(name: String) {
        let recorder = LogRecorder()
        let notifier = SystemdNotifier(
            environment: ["NOTIFY_SOCKET": name, "WATCHDOG_USEC": "30000000"],
            processID: Self.processID,
            logger: recorder.logger
        )
        #expect(!notifier.isEnabled)
        #expect(notifier.watchdogInterval == nil)
        #expect(!notifier.ready())
        #expect(recorder.messages.count == 1)
        #expect(recorder.messages.first?.contains("NOTIFY_SOCKET") == true)
    }

    @Test func aMissingSocketIsLoggedNotThrown() throws {
        let folder = try NotifyTestFolder()
        let recorder = LogRecorder()
        let notifier = SystemdNotifier(
            environment: ["NOTIFY_SOCKET": folder.path("nobody-listens")],
            processID: Self.processID,
            logger: recorder.logger
        )
        #expect(notifier.isEnabled)
        #expect(!notifier.status("the secret word is hunter2"))
        let messages = recorder.messages
        #expect(messages.count == 1)
        #expect(messages.first?.contains("cannot send to NOTIFY_SOCKET") == true)
        #expect(messages.allSatisfy { !$0.contains("hunter2") })
    }

    @Test func aFullQueueDropsTheMessageInsteadOfBlocking() throws {
        let folder = try NotifyTestFolder()
        let receiver = try DatagramReceiver(path: folder.path("notify"))
        let recorder = LogRecorder()
        let notifier = SystemdNotifier(
            environment: ["NOTIFY_SOCKET": folder.path("notify")],
            processID: Self.processID,
            logger: recorder.logger
        )
        // Linux caps a unix datagram queue (net.unix.max_dgram_qlen, 10 to 512): a blocking send would hang here.
        var sent = 0
        while sent < 100_000, notifier.watchdog() { sent += 1 }
        #expect(sent > 0 && sent < 100_000)
        #expect(recorder.messages.count == 1)
        #expect(receiver.receive() == "WATCHDOG=1\n")
    }

    struct WatchdogCase: Sendable, CustomTestStringConvertible {
        var microseconds: String?
        var processID: String?
        var interval: Duration?
        var testDescription: String {
            "WATCHDOG_USEC=\(self.microseconds ?? "unset") WATCHDOG_PID=\(self.processID ?? "unset")"
        }
    }

    @Test(arguments: [
        WatchdogCase(microseconds: "30000000", processID: nil, interval: .seconds(15)),
        WatchdogCase(microseconds: "30000000", processID: "4242", interval: .seconds(15)),
        WatchdogCase(microseconds: "3", processID: "4242", interval: .microseconds(1)),
        WatchdogCase(microseconds: "30000000", processID: "1", interval: nil),
        WatchdogCase(microseconds: "30000000", processID: "self", interval: nil),
        WatchdogCase(microseconds: "0", processID: nil, interval: nil),
        WatchdogCase(microseconds: "-5", processID: nil, interval: nil),
        WatchdogCase(microseconds: "30s", processID: nil, interval: nil),
        WatchdogCase(microseconds: "99999999999999999999999", processID: nil, interval: nil),
        WatchdogCase(microseconds: nil, processID: "4242", interval: nil),
    ])
    func watchdogIntervalIsHalfTheTimeout(_ watchdog: WatchdogCase) {
        var environment = ["NOTIFY_SOCKET": "/run/systemd/notify"]
        environment["WATCHDOG_USEC"] = watchdog.microseconds
        environment["WATCHDOG_PID"] = watchdog.processID
        let notifier = SystemdNotifier(
            environment: environment,
            processID: Self.processID,
            logger: LogRecorder().logger
        )
        #expect(notifier.watchdogInterval == watchdog.interval)
    }
}

/// CLOCK_MONOTONIC in microseconds, read the way systemd reads it.
private func monotonicMicroseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
}

/// A fresh folder for socket files, removed with the value.
private final class NotifyTestFolder {
    let url: URL

    init() throws {
        // Short on purpose: a socket path must fit in sun_path's 108 bytes.
        self.url = URL(fileURLWithPath: "/tmp/obwatch-sd-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: self.url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { self.url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: self.url) }
}

/// Why a test could not set up its socket.
private struct SocketSetupFailure: Error, CustomStringConvertible {
    var description: String
}

/// A bound unix datagram socket, as systemd binds `NOTIFY_SOCKET`; read without waiting, because a unix datagram
/// is queued at the receiver before `sendto` returns.
private final class DatagramReceiver {
    private let descriptor: Int32

    convenience init(path: String) throws {
        try self.init(pathBytes: Array(path.utf8) + [0])
    }

    convenience init(abstractName: String) throws {
        try self.init(pathBytes: [0] + Array(abstractName.utf8))
    }

    private init(pathBytes: [UInt8]) throws {
        self.descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard self.descriptor >= 0 else { throw SocketSetupFailure(description: "socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard pathBytes.count <= MemoryLayout.size(ofValue: address.sun_path) else {
            close(self.descriptor)
            throw SocketSetupFailure(description: "socket address too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(self.descriptor, $0, length) }
        }
        guard bound == 0 else {
            let failure = errno
            close(self.descriptor)
            throw SocketSetupFailure(description: "bind: errno \(failure)")
        }
    }

    /// The next queued datagram, or nil when none is queued.
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes {
            recv(self.descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT))
        }
        guard count >= 0 else { return nil }
        return String(decoding: buffer.prefix(count), as: UTF8.self)
    }

    deinit { close(self.descriptor) }
}

/// Keeps what a logger was told, so a test can see that failures are logged, once, and without secrets.
private final class LogRecorder: Sendable {
    private let recorded = Mutex<[String]>([])

    var messages: [String] { self.recorded.withLock { $0 } }

    var logger: Logger { Logger(label: "obwatch.systemd.test") { _ in Handler(recorder: self) } }

    fileprivate func append(_ message: String) { self.recorded.withLock { $0.append(message) } }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let metadata = (event.metadata ?? [:]).map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " ")
            self.recorder.append("\(event.message) \(metadata)")
        }
    }
}
