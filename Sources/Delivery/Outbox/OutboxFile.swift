public import Foundation
public import Rules
import Tracker

/// One receiver's durable queue on disk: an append-only JSON Lines journal of accepted, delivered and dropped
/// notifications, fsync'd before an append returns, compacted when done entries pile up.
///
/// A crash can at worst leave a torn last line, which loading skips: that append never returned, so nobody was told
/// the notification was accepted.
public struct OutboxFile: Sendable {
    /// A notification waiting for delivery and when it was accepted.
    public struct Pending: Sendable, Hashable {
        /// The notification.
        public var notification: OutboundNotification
        /// When the outbox accepted it; `max_age` counts from here.
        public var acceptedAt: Date

        /// Makes an entry.
        public init(notification: OutboundNotification, acceptedAt: Date) {
            self.notification = notification
            self.acceptedAt = acceptedAt
        }
    }

    /// What loading found.
    public struct Loaded: Sendable {
        /// Notifications still to deliver, oldest first.
        public var pending: [Pending]
        /// Ids already delivered or dropped (the newest ones), to refuse a repeat of the same notification.
        public var finishedIDs: [String]
        /// Lines that could not be read.
        public var skippedLines: Int
    }

    /// How many finished ids compaction keeps for duplicate detection.
    public static let rememberedFinishedIDs = 4096

    /// The journal file.
    public let url: URL

    /// Makes the file of a receiver in `state_dir/outbox/`; the name is escaped like target state files.
    public init(stateDirectory: URL, receiver: String) {
        let folder = stateDirectory.appendingPathComponent("outbox")
        let name = StateStore(directory: folder).fileURL(target: receiver).deletingPathExtension().lastPathComponent
        self.url = folder.appendingPathComponent(name + ".jsonl")
    }

    /// Makes the file at a path.
    public init(url: URL) {
        self.url = url
    }

    private struct Line: Codable {
        struct Added: Codable {
            var notification: OutboundNotification
            var accepted: Date
        }
        var add: Added?
        var done: String?
        var dropped: String?
    }

    /// Reads the journal; a missing file is an empty queue.
    public func load() -> Loaded {
        guard let data = try? Data(contentsOf: self.url) else {
            return Loaded(pending: [], finishedIDs: [], skippedLines: 0)
        }
        var added: [Pending] = []
        var seen = Set<String>()
        var finished: [String] = []
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
        }
        let finishedSet = Set(finished)
        let pending = added.filter { !finishedSet.contains($0.notification.id) }
        return Loaded(
            pending: pending,
            finishedIDs: Array(finished.suffix(Self.rememberedFinishedIDs)),
            skippedLines: skipped
        )
    }

    /// Appends accepted notifications and returns once they are on disk.
    public func append(_ accepted: [Pending]) throws(DeliveryError) {
        try self.write(accepted.map { Line(add: .init(notification: $0.notification, accepted: $0.acceptedAt)) })
    }

    /// Records a notification as delivered.
    ///
    /// Not flushed to the disk: only a power loss can lose the mark, and then the notification is sent once more
    /// with the same id, which receivers deduplicate. An fsync here would halve the outbox's throughput for that.
    public func markDone(_ id: String) throws(DeliveryError) {
        try self.write([Line(done: id)], flush: false)
    }

    /// Records a notification as dropped (not flushed, as ``markDone(_:)``).
    public func markDropped(_ id: String) throws(DeliveryError) {
        try self.write([Line(dropped: id)], flush: false)
    }

    /// Rewrites the journal with only what is pending and the newest finished ids, atomically.
    public func compact(pending: [Pending], finishedIDs: [String]) throws(DeliveryError) {
        var lines = finishedIDs.suffix(Self.rememberedFinishedIDs).map { Line(done: $0) }
        lines += pending.map { Line(add: .init(notification: $0.notification, accepted: $0.acceptedAt)) }
        let data: Data
        do {
            data = try Self.encode(lines)
        } catch {
            throw DeliveryError(code: .storage, message: "cannot encode the outbox", cause: "\(error)")
        }
        do {
            try AtomicFile.store(data, at: self.url)
        } catch {
            throw DeliveryError(code: .storage, message: "cannot compact \(self.url.path)", cause: error.message)
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
        let folder = self.url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw DeliveryError(code: .storage, message: "cannot create \(folder.path)", cause: "\(error)")
        }
        let descriptor = open(self.url.path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        guard descriptor >= 0 else {
            throw DeliveryError(code: .storage, message: "cannot open \(self.url.path)", cause: Self.lastError())
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

    private static func lastError() -> String { String(cString: strerror(errno)) }
}
