import Foundation
import Testing

/// `systemd/obwatch.service` as systemd's own analyser judges it: hardened enough, and free of mistakes.
@Suite struct SystemdUnitTests {
    private static let analyzer = "/usr/bin/systemd-analyze"
    private static let highestExposure = 2.0

    /// `systemd/obwatch.service`, found from this file's real path (the test folder may be a symlink).
    private static let unitFile = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("systemd/obwatch.service")

    private static var analyzerMissing: Bool { !FileManager.default.isExecutableFile(atPath: Self.analyzer) }

    @Test(
        .disabled(
            if: Self.analyzerMissing,
            "no /usr/bin/systemd-analyze on this machine: the unit's security is unchecked"
        )
    )
    func exposureIsTwoOrLower() async throws {
        let folder = try AnalyzerFolder()
        let result = try await Self.analyze(
            ["security", "--offline=true", "--no-pager", Self.unitFile.path],
            in: folder
        )
        let exposure = try #require(
            Self.overallExposure(in: result.output),
            "no overall exposure in systemd-analyze's output:\n\(result.output)"
        )
        #expect(exposure <= Self.highestExposure, "exposure \(exposure):\n\(result.output)")
        #expect(result.status == 0, "\(result.output)")
    }

    @Test(
        .disabled(if: Self.analyzerMissing, "no /usr/bin/systemd-analyze on this machine: the unit is unverified")
    )
    func verifyFindsNothingToSay() async throws {
        // verify insists that ExecStart's program exists. Where obwatch is not installed, a copy of the unit runs
        // /bin/true in its place; everything else is the shipped unit, byte for byte.
        let folder = try AnalyzerFolder()
        let shipped = try String(contentsOf: Self.unitFile, encoding: .utf8)
        let installed = "/usr/local/bin/obwatch"
        #expect(shipped.contains("ExecStart=\(installed) run --config /etc/obwatch/obwatch.yaml\n"))
        let unit =
            FileManager.default.isExecutableFile(atPath: installed)
            ? shipped : shipped.replacingOccurrences(of: installed, with: "/bin/true")
        let copy = folder.url.appendingPathComponent("obwatch.service")
        try unit.write(to: copy, atomically: true, encoding: .utf8)
        let result = try await Self.analyze(["verify", "--man=no", "--generators=no", copy.path], in: folder)
        #expect(result.status == 0, "\(result.output)")
        // Unknown keys and bad values are warnings only: the exit status stays 0, so the output must be silent too.
        #expect(!result.output.contains("obwatch.service"), "\(result.output)")
    }

    @Test func overallExposureIsReadFromTheLastLine() {
        let output = """
              NAME   DESCRIPTION   EXPOSURE
            ✗ PrivateNetwork=   Service has access to the host's network   0.5

            → Overall exposure level for obwatch.service: 1.1 OK 🙂
            """
        #expect(Self.overallExposure(in: output) == 1.1)
        #expect(Self.overallExposure(in: "→ Overall exposure level for x.service: 9.6 UNSAFE 😨") == 9.6)
        #expect(Self.overallExposure(in: "Failed to load unit") == nil)
    }

    /// The number after "Overall exposure level for UNIT:".
    private static func overallExposure(in output: String) -> Double? {
        let marker = "Overall exposure level for "
        guard let line = output.split(separator: "\n").last(where: { $0.contains(marker) }),
            let unit = line.range(of: marker),
            let colon = line.range(of: ": ", range: unit.upperBound..<line.endIndex)
        else { return nil }
        let number = line[colon.upperBound...].prefix { $0.isNumber || $0 == "." }
        return Double(number)
    }

    /// Runs systemd-analyze, its output (stdout and stderr together) going to a file read once it has exited.
    private static func analyze(
        _ arguments: [String],
        in folder: AnalyzerFolder
    ) async throws -> (status: Int32, output: String) {
        let outputFile = folder.url.appendingPathComponent("output-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputFile)
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.analyzer)
        process.arguments = arguments
        process.currentDirectoryURL = folder.url
        // Plain text: no colours, no pager, whatever the caller's terminal settings.
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": "", "LC_ALL": "C.UTF-8"]
        ) { $1 }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { finished in continuation.resume(returning: finished.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        return (status, try String(contentsOf: outputFile, encoding: .utf8))
    }
}

/// A fresh folder for the analyser's output and the unit copy, removed with the value.
private final class AnalyzerFolder {
    let url: URL

    init() throws {
        self.url = FileManager.default.temporaryDirectory.appendingPathComponent("obwatch-unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: self.url) }
}
