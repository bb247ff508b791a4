package import ConfigModel
package import Foundation
import Support
import Tracker

/// One receiver's durable queue on disk: an append-only JSON Lines journal of accepted, delivered and dropped
/// notifications, fsync'd before an append returns, compacted when done entries pile up.
///
/// The journal also holds what keeps a restart from hammering a receiver: each failed try's attempt count and the
/// time before which the notification may not be tried again (`retry` lines, fsync'd), and the start times of the
/// tries within the rate limits' window (`sent` lines). Journals written before these lines existed load as before.
///
/// A crash can at worst leave a torn last line, which loading skips: that append never returned, so nobody was told
/// the notification was accepted.
package struct OutboxFile: Sendable {
    /// A notification waiting for delivery and when it was accepted.
    package struct Pending: Sendable, Hashable {
        /// The notification.
        package var notification: OutboundNotification
        /// When the outbox accepted it; `max_age` counts from here.
        package var acceptedAt: Date
        /// How many tries it has had (0 before the first).
        package var attempts: Int
        /// Not to be tried before this time (backoff, the receiver's Retry-After); nil when it may go at once.
        package var notBefore: Date?

        /// Makes an entry.
        package init(notification: OutboundNotification, acceptedAt: Date, attempts: Int = 0, notBefore: Date? = nil) {
            self.notification = notification
            self.acceptedAt = acceptedAt
            self.attempts = attempts
            self.notBefore = notBefore
        }
    }

    /// What loading found.
    package struct Loaded: Sendable {
        /// Notifications still to deliver, oldest first.
        package var pending: [Pending]
        /// Ids already delivered or dropped (the newest ones), to refuse a repeat of the same notification.
        package var finishedIDs: [String]
        /// Start times of earlier tries, oldest first, for the rate limits (``RateLimiter/init(limits:history:)``).
        package var sent: [Date]
        /// Lines that could not be read.
        package var skippedLines: Int
    }

    /// How many finished ids compaction keeps for duplicate detection.
    static let rememberedFinishedIDs = 4096

    /// The journal file.
    package let url: URL

    /// Makes the file of a receiver in `state_dir/outbox/`; the name is escaped like target state files.
    package init(stateDirectory: URL, receiver: String) {
        let folder = stateDirectory.appendingPathComponent("outbox")
        let name = StateStore(directory: folder).fileURL(target: receiver).deletingPathExtension().lastPathComponent
        self.url = folder.appendingPathComponent(name + ".jsonl")
    }

    /// Makes the file at a path.
    package init(url: URL) {
        self.url = url
    }

    private struct Line: Codable {
        struct Added: Codable {
            var notification: OutboundNotification
            var accepted: Date
        }
        struct Retry: Codable {
            var id: String
            var attempts: Int
            var notBefore: Date?

            enum CodingKeys: String, CodingKey {
                case id, attempts
                case notBefore = "not_before"
            }
        }
        var add: Added?
        var done: String?
        var dropped: String?
        var retry: Retry?
        var sent: Date?
    }

    /// Reads the journal; a missing file is an empty queue.
    package func load() -> Loaded {
        guard let data = try? Data(contentsOf: self.url) else {
            return Loaded(pending: [], finishedIDs: [], sent: [], skippedLines: 0)
        }
        var added: [Pending] = []
        var seen = Set<String>()
        var finished: [String] = []
        var retries: [String: Line.Retry] = [:]
        var sent: [Date] = []
        var skipped = 0
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            guard let record = try? decoder.decode(Line.self, from: Data(line)) else {
                skipped += 1
                continue
            }
            if let entry = record.add, seen.insert(entry.notification.id).inserted {
                added.append(Pending(notification: entry.notification, acceptedAt: entry.accepted))
            }
            finished += [record.done, record.dropped].compactMap { $0 }
            // The newest line about a notification's retries wins; compaction may write it before the `add`.
            if let retry = record.retry { retries[retry.id] = retry }
            if let time = record.sent { sent.append(time) }
        }
        let finishedSet = Set(finished)
        let pending = added.filter { !finishedSet.contains($0.notification.id) }.map { entry in
            var entry = entry
            if let retry = retries[entry.notification.id] {
                entry.attempts = max(retry.attempts, 0)
                entry.notBefore = retry.notBefore
            }
            return entry
        }
        return Loaded(
            pending: pending,
            finishedIDs: Array(finished.suffix(Self.rememberedFinishedIDs)),
            sent: sent.sorted(),
            skippedLines: skipped
        )
    }

    /// Appends accepted notifications and returns once they are on disk.
    package func append(_ accepted: [Pending]) throws(DeliveryError) {
        try self.write(accepted.map { Line(add: .init(notification: $0.notification, accepted: $0.acceptedAt)) })
    }

    /// Records a notification as delivered.
    ///
    /// Not flushed to the disk: only a power loss can lose the mark, and then the notification is sent once more
    /// with the same id, which receivers deduplicate. An fsync here would halve the outbox's throughput for that.
    package func markDone(_ id: String) throws(DeliveryError) {
        try self.write([Line(done: id)], flush: false)
    }

    /// Records a notification as dropped (not flushed, as ``markDone(_:)``).
    func markDropped(_ id: String) throws(DeliveryError) {
        try self.write([Line(dropped: id)], flush: false)
    }

    /// Records a failed try: the notification's attempt count and the time before which it may not be tried again.
    ///
    /// Flushed to the disk before it returns: a process killed right after a 429 and restarted by systemd must not
    /// try again before the receiver allows it.
    package func markRetry(_ id: String, attempts: Int, notBefore: Date?) throws(DeliveryError) {
        try self.write([Line(retry: .init(id: id, attempts: attempts, notBefore: notBefore))])
    }

    /// Records the start of a try, for the rate limits after a restart.
    ///
    /// Not flushed: a killed process's write is still in the page cache and reaches the disk; only a power loss can
    /// lose it, and a machine that lost power does not restart in a loop within the rate limits' window.
    func markSent(at time: Date) throws(DeliveryError) {
        try self.write([Line(sent: time)], flush: false)
    }

    /// Rewrites the journal with only what is pending (with its retry state), the newest finished ids and the
    /// rate limits' recent start times, atomically.
    /// - Parameters:
    ///   - pending: What waits, oldest first.
    ///   - finishedIDs: Ids delivered or dropped, oldest first; the newest ``rememberedFinishedIDs`` are kept.
    ///   - sent: Start times of recent tries (``RateLimiter/history``).
    package func compact(pending: [Pending], finishedIDs: [String], sent: [Date] = []) throws(DeliveryError) {
        var lines = finishedIDs.suffix(Self.rememberedFinishedIDs).map { Line(done: $0) }
        lines += sent.map { Line(sent: $0) }
        for entry in pending {
            lines.append(Line(add: .init(notification: entry.notification, accepted: entry.acceptedAt)))
            if entry.attempts > 0 || entry.notBefore != nil {
                let retry = Line.Retry(id: entry.notification.id, attempts: entry.attempts, notBefore: entry.notBefore)
                lines.append(Line(retry: retry))
            }
        }
        let data: Data
        do {
            data = try Self.encode(lines)
        } catch {
            throw DeliveryError(code: .storage, message: "cannot encode the outbox", cause: "\(error)")
        }
        do {
            try AtomicFile.store(data, at: self.url)
        } catch {
            // The error carries the file and the system's reason; keep just the reason, plainly worded.
            throw DeliveryError(
                code: .storage,
                message: "cannot write \(self.url.path)",
                cause: error.cause ?? error.message
            )
        }
    }

    private static func encode(_ lines: [Line]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .secondsSince1970
        var data = Data()
        for line in lines {
            data.append(try encoder.encode(line))
            data.append(UInt8(ascii: "\n"))
        }
        return data
    }

    private func write(_ lines: [Line], flush: Bool = true) throws(DeliveryError) {
        let data: Data
        do {
            data = try Self.encode(lines)
        } catch {
            throw DeliveryError(code: .storage, message: "cannot encode the outbox entry", cause: "\(error)")
        }
        var descriptor = open(self.url.path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        if descriptor < 0 && errno == ENOENT {
            try Self.makeFolder(self.url.deletingLastPathComponent())
            descriptor = open(self.url.path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        }
        guard descriptor >= 0 else {
            throw DeliveryError(code: .storage, message: "cannot write \(self.url.path)", cause: Self.lastError())
        }
        defer { close(descriptor) }
        let written = data.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                guard let base = buffer.baseAddress else { return false }
                let count = Foundation.write(descriptor, base + offset, buffer.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += count
            }
            return true
        }
        guard written, !flush || fsync(descriptor) == 0 else {
            throw DeliveryError(code: .storage, message: "cannot write \(self.url.path)", cause: Self.lastError())
        }
    }

    /// Makes a folder and its missing parents; failures are worded with the system's reason, not Foundation's dump.
    private static func makeFolder(_ folder: URL) throws(DeliveryError) {
        if mkdir(folder.path, 0o755) == 0 || errno == EEXIST { return }
        let parent = folder.deletingLastPathComponent()
        guard errno == ENOENT, parent.path != folder.path else {
            throw DeliveryError(code: .storage, message: "cannot create \(folder.path)", cause: Self.lastError())
        }
        try Self.makeFolder(parent)
        guard mkdir(folder.path, 0o755) == 0 || errno == EEXIST else {
            throw DeliveryError(code: .storage, message: "cannot create \(folder.path)", cause: Self.lastError())
        }
    }

    private static func lastError() -> String { SystemError.words(errno) }
}
