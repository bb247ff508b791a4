public import Foundation
import Synchronization

/// Copies of what the programs the tests start print, kept when `OBWATCH_TEST_LOG_DIR` is set.
///
/// `make reliability` sets it and then scans every kept file for the tests' secrets (scripts/scan-secrets.py): a
/// child's log is where a leaked password would show, and without a copy nobody would see it.
public final class TestLog: Sendable {
    private let handle: FileHandle?

    /// Opens a new log file named after `label` (and a unique suffix), or nothing when logs are not kept.
    public init(label: String) {
        guard let directory = ProcessInfo.processInfo.environment["OBWATCH_TEST_LOG_DIR"], !directory.isEmpty else {
            self.handle = nil
            return
        }
        let safe = String(label.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
        let path = URL(fileURLWithPath: directory).appendingPathComponent("\(safe)-\(UUID().uuidString).log").path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        self.handle = FileHandle(forWritingAtPath: path)
    }

    /// Where a child's standard error should go: this log, or nowhere.
    public var standardError: FileHandle { self.handle ?? FileHandle.nullDevice }

    /// Appends bytes a child printed on its standard output (read by the test itself).
    public func append(_ data: Data) {
        // FileHandle's writes are atomic appends of the whole buffer; readability handlers call this serially.
        try? self.handle?.write(contentsOf: data)
    }
}
