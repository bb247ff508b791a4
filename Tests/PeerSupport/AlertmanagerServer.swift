public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real Prometheus Alertmanager for one test: Debian's `prometheus-alertmanager`, with a config that routes
/// everything to a receiver that sends nothing, its storage in a temporary folder, gossip off
/// (`--cluster.listen-address=`), listening on a free loopback port.
///
/// It runs as a ``PeerProcess`` under `sh -c 'exec ... 2>&1'`, so its log lines arrive on standard output and the
/// test awaits its "Listening on" line instead of sleeping; standard input stays open, and ``stop()`` ends it.
public final class AlertmanagerServer {
    /// The binary Debian installs.
    public static let binary = "/usr/bin/prometheus-alertmanager"
    /// Whether a server can be started here.
    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: Self.binary) }
    /// Why tests that need Alertmanager are skipped.
    public static let unavailableReason =
        "Alertmanager (\(binary)) is not installed: `make deps` (or apt-get install prometheus-alertmanager) installs it"

    /// `http://127.0.0.1:PORT`.
    public let url: String
    /// The temporary folder (config and storage).
    public let folder: URL
    private let peer: PeerProcess

    private init(url: String, folder: URL, peer: PeerProcess) {
        self.url = url
        self.folder = folder
        self.peer = peer
    }

    /// Starts a server and waits until it listens.
    /// - Parameter resolveTimeout: Alertmanager's `global.resolve_timeout`.
    /// - Throws: ``PeerError`` when the binary is missing or the server does not come up.
    public static func start(resolveTimeout: String = "5m") async throws -> AlertmanagerServer {
        guard Self.isAvailable else { throw PeerError(message: Self.unavailableReason) }
        let folder = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("obwatch-am-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let config = folder.appendingPathComponent("alertmanager.yml")
        try Data(
            """
            global:
              resolve_timeout: \(resolveTimeout)
            route:
              receiver: blackhole
              group_wait: 1h
            receivers:
              - name: blackhole

            """.utf8
        ).write(to: config)
        var lastError = PeerError(message: "Alertmanager did not start")
        for _ in 0..<3 {
            let port = try Self.freePort()
            let arguments = [
                Self.binary, "--config.file=\(config.path)",
                "--storage.path=\(folder.appendingPathComponent("data").path)",
                "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=",
            ]
            let command = "exec " + arguments.map { "'" + $0 + "'" }.joined(separator: " ") + " 2>&1"
            let peer = try PeerProcess.launch(executable: "/bin/sh", arguments: ["-c", command])
            var log: [String] = []
            do {
                while true {
                    let line = try await peer.nextLine()
                    log.append(line)
                    if line.contains("msg=\"Listening on\"") {
                        return AlertmanagerServer(url: "http://127.0.0.1:\(port)", folder: folder, peer: peer)
                    }
                }
            } catch {
                await peer.stop()
                lastError = PeerError(message: "Alertmanager did not start: " + log.suffix(5).joined(separator: " | "))
                // Another process may have taken the port between the probe and the bind: another port.
                guard log.joined().contains("address already in use") else { break }
            }
        }
        try? FileManager.default.removeItem(at: folder)
        throw lastError
    }

    /// Stops the server and removes its folder.
    public func stop() async {
        await self.peer.stop()
        try? FileManager.default.removeItem(at: self.folder)
    }

    private static func freePort() throws -> Int {
        try LoopbackPort.free()
    }
}
