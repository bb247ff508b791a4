public import Foundation
import Synchronization

/// A real headless Chromium (Debian's `chromium`) a test drives through `Browser/cdp_peer.py`, which speaks the
/// Chrome DevTools Protocol on `--remote-debugging-pipe` with only Python's standard library.
///
/// Every command is one JSON line to the peer and one JSON line back; the peer bounds each wait with its own
/// deadline (``waitUntil(_:_:timeout:)`` polls the DOM with `Runtime.evaluate` every 100 ms), so a test never sleeps
/// and a page that never shows what it should fails the test with the last value seen.
///
/// ```swift
/// let browser = try await BrowserPeer.start()
/// defer { browser.stop() }
/// try await browser.navigate(to: "http://127.0.0.1:9464/")
/// let stage = try await browser.waitUntil("the stage", "document.querySelector('.stage')?.textContent")
/// ```
public final class BrowserPeer {
    /// The browser Debian installs (`make deps` adds the `chromium` package).
    public static let chromium = "/usr/bin/chromium"
    /// The peer script, next to this file.
    public static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Browser/cdp_peer.py")

    private let process: Process
    private let input: FileHandle
    private var lines: AsyncStream<String>.Iterator
    private let errors: PeerOutput

    private init(process: Process, input: FileHandle, lines: AsyncStream<String>, errors: PeerOutput) {
        self.process = process
        self.input = input
        self.lines = lines.makeAsyncIterator()
        self.errors = errors
    }

    /// Starts Chromium and waits until the peer is attached to its page.
    /// - Throws: ``PeerError`` when Chromium is not installed (run `make deps`) or does not start.
    public static func start() async throws -> BrowserPeer {
        guard FileManager.default.isExecutableFile(atPath: Self.chromium) else {
            throw PeerError(
                message: "\(Self.chromium) is missing: `make deps` installs Debian's chromium package, which the web "
                    + "console's tests need"
            )
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: PeerProcess.python)
        process.arguments = ["-u", "-B", Self.script.path, Self.chromium]
        let input = Pipe()
        let output = Pipe()
        let errorPipe = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errorPipe
        let (lines, sink) = AsyncStream<String>.makeStream()
        let pending = PeerOutput()
        PipeDrain.start(
            output.fileHandleForReading,
            onData: { data in for line in pending.lines(appending: data) { sink.yield(line) } },
            onEnd: { sink.finish() }
        )
        let errors = PeerOutput()
        PipeDrain.start(errorPipe.fileHandleForReading, onData: { errors.append($0) }, onEnd: {})
        do {
            try process.run()
        } catch {
            throw PeerError(message: "could not start the browser peer: \(error)")
        }
        let peer = BrowserPeer(process: process, input: input.fileHandleForWriting, lines: lines, errors: errors)
        let first = try await peer.nextLine()
        guard first == "ready" else { throw PeerError(message: "the browser peer said \(first): \(errors.text)") }
        return peer
    }

    /// Loads a page and waits until it is complete.
    public func navigate(to url: String) async throws {
        _ = try await self.command(["cmd": "navigate", "url": url])
    }

    /// The value of a JavaScript expression in the page (a promise is awaited); JSON values come back as
    /// `String`, `NSNumber`, `[Any]`, `[String: Any]` or `nil`.
    public func evaluate(_ expression: String) async throws -> Any? {
        try await self.command(["cmd": "evaluate", "expression": expression])
    }

    /// Evaluates `expression` every 100 ms until its value is truthy and returns that value; fails after `timeout`
    /// seconds with the last value.
    /// - Parameters:
    ///   - what: What is awaited, for the failure message.
    ///   - expression: A JavaScript expression.
    ///   - timeout: The peer's deadline in seconds.
    public func waitUntil(_ what: String, _ expression: String, timeout: Double = 30) async throws -> Any? {
        do {
            return try await self.command(["cmd": "wait", "expression": expression, "timeout": timeout])
        } catch let error as PeerError {
            throw PeerError(message: "waiting for \(what): \(error.message)")
        }
    }

    /// The JavaScript dialogs (`alert`, `confirm`) the page opened, as `type: message`.
    public func dialogs() async throws -> [String] {
        let value = try await self.command(["cmd": "dialogs"]) as? [[String: Any]] ?? []
        return value.map { "\($0["type"] ?? ""): \($0["message"] ?? "")" }
    }

    /// Exceptions the page threw and errors it logged (a Content-Security-Policy refusal among them).
    public func pageErrors() async throws -> [String] {
        try await self.command(["cmd": "errors"]) as? [String] ?? []
    }

    /// Ends the peer, which ends Chromium and removes its profile.
    public func stop() {
        try? self.input.close()
        if self.process.isRunning { self.process.terminate() }
    }

    private func command(_ command: [String: Any]) async throws -> Any? {
        var line = try JSONSerialization.data(withJSONObject: command)
        line.append(UInt8(ascii: "\n"))
        do {
            try self.input.write(contentsOf: line)
        } catch {
            throw PeerError(message: "the browser peer is gone: \(self.errors.text)")
        }
        let answerLine = try await self.nextLine()
        guard let answer = try JSONSerialization.jsonObject(with: Data(answerLine.utf8)) as? [String: Any] else {
            throw PeerError(message: "the browser peer answered \(answerLine)")
        }
        guard answer["ok"] as? Bool == true else {
            throw PeerError(message: answer["error"] as? String ?? answerLine)
        }
        let value = answer["value"]
        return value is NSNull ? nil : value
    }

    private func nextLine() async throws -> String {
        if let line = await self.lines.next(isolation: #isolation) { return line }
        throw PeerError(message: "the browser peer closed its output; its stderr: \(self.errors.text)")
    }
}

/// Bytes from a pipe's handler queue, read by the test: standard error kept whole, standard output cut into lines.
private final class PeerOutput: Sendable {
    private let state = Mutex<(all: [UInt8], pending: [UInt8])>(([], []))

    func append(_ data: Data) { self.state.withLock { $0.all.append(contentsOf: data) } }

    func lines(appending data: Data) -> [String] {
        self.state.withLock { state in
            state.pending.append(contentsOf: data)
            var lines: [String] = []
            while let newline = state.pending.firstIndex(of: UInt8(ascii: "\n")) {
                lines.append(String(decoding: state.pending[..<newline], as: UTF8.self))
                state.pending.removeSubrange(...newline)
            }
            return lines
        }
    }

    var text: String { self.state.withLock { String(decoding: $0.all.suffix(4000), as: UTF8.self) } }
}
