import ConfigModel
import Delivery
import Foundation
import Logging
import ObshellModel
import Pipeline
import Support
import Synchronization

/// The run-time silences of a daemon: kept in the store (``SilenceStorage``), held in memory for the router (read at
/// every routing step, see ``routerSilences``), and audited when made or ended.
///
/// A silence ends by itself at its `endsAt` (routing compares instants, so it stops silencing at that instant
/// whatever ``tick(now:)`` does); the tick then writes its `silence_expired` record, re-reads the store (another
/// replica may have added one) and forgets silences that ended more than ``keptAfterEnd`` ago.
final class SilenceBook: Sendable {
    /// How long an ended silence stays listable (as `expired`).
    static let keptAfterEnd = Duration.seconds(24 * 3600)

    private struct Memory {
        var silences: [RuntimeSilence] = []
        /// The compiled silences the router applies, made when ``silences`` changes.
        var compiled: [Silence] = []
        /// Silences whose end was already audited (or had passed when they were loaded).
        var auditedEnds: Set<String> = []
        /// Whether the last re-read failed: a store that stays down is reported once, and its return once.
        var unreadable = false
    }

    private let storage: any SilenceStorage
    /// Where creations and ends are recorded; acknowledgements use it too.
    let audit: AuditTrail
    private let clock: any ObwatchClock
    private let logger: Logger
    private let memory = Mutex(Memory())

    /// - Parameters:
    ///   - storage: Where silences are kept.
    ///   - audit: Where creations and ends are recorded.
    ///   - clock: The wall time of creations and expiries.
    ///   - logger: Where a store that cannot be read is reported.
    init(storage: any SilenceStorage, audit: AuditTrail, clock: any ObwatchClock, logger: Logger) {
        self.storage = storage
        self.audit = audit
        self.clock = clock
        self.logger = logger
    }

    private var now: ObshellTime { ObshellTime(date: self.clock.wallNow) }

    /// Loads the stored silences (at start); those already ended are not audited again.
    /// - Throws: ``StorageError`` when the store cannot be read: the daemon must not send what was silenced.
    func load() async throws(StorageError) {
        let loaded = try await self.storage.loadSilences()
        let now = self.now
        self.memory.withLock { memory in
            memory.auditedEnds = Set(loaded.filter { $0.state(at: now) == .expired }.map(\.id))
            Self.replace(&memory, with: loaded, logger: self.logger)
        }
    }

    /// The silences the router adds to the configuration's.
    var routerSilences: [Silence] { self.memory.withLock { $0.compiled } }

    /// Every silence, oldest first, ended ones included (for ``keptAfterEnd``).
    var all: [RuntimeSilence] { self.memory.withLock { $0.silences } }

    /// Adds a silence, stores it, then audits it.
    /// - Throws: ``StorageError`` when it cannot be stored (then it does not silence).
    func add(_ silence: RuntimeSilence) async throws(StorageError) {
        try await self.storage.saveSilence(silence)
        self.memory.withLock { memory in
            var silences = memory.silences
            silences.removeAll { $0.id == silence.id }
            silences.append(silence)
            Self.replace(&memory, with: silences, logger: self.logger)
        }
        await self.audit.record(Self.record("silence_created", silence, at: silence.createdAt, by: silence.createdBy))
    }

    /// What ``expire(id:by:)`` found.
    enum Expiry {
        /// No silence has that id.
        case unknown
        /// It had ended already; nothing changed.
        case alreadyExpired(RuntimeSilence)
        /// Ended now.
        case expired(RuntimeSilence)
    }

    /// Ends a silence now, stores that, then audits it.
    /// - Parameters:
    ///   - id: The silence.
    ///   - author: Who ended it, for the audit record; `nil` when not said.
    /// - Throws: ``StorageError`` when the end cannot be stored (then it still silences).
    func expire(id: String, by author: String?) async throws(StorageError) -> Expiry {
        let now = self.now
        guard var silence = self.memory.withLock({ $0.silences.first { $0.id == id } }) else { return .unknown }
        if silence.state(at: now) == .expired { return .alreadyExpired(silence) }
        silence.expiredAt = now
        try await self.storage.saveSilence(silence)
        let ended = silence
        self.memory.withLock { memory in
            memory.auditedEnds.insert(ended.id)
            Self.replace(&memory, with: memory.silences.map { $0.id == ended.id ? ended : $0 }, logger: self.logger)
        }
        await self.audit.record(Self.record("silence_expired", ended, at: now, by: author ?? "the API"))
        return .expired(ended)
    }

    /// Audits the silences that ended by themselves, re-reads the store, and forgets long-ended silences. A store
    /// that cannot be read keeps the silences in memory (logged).
    func tick() async {
        let now = self.now
        let ended = self.memory.withLock { memory in
            let ended = memory.silences.filter { $0.state(at: now) == .expired && !memory.auditedEnds.contains($0.id) }
            memory.auditedEnds.formUnion(ended.map(\.id))
            return ended
        }
        for silence in ended {
            await self.audit.record(Self.record("silence_expired", silence, at: silence.effectiveEnd, by: nil))
        }
        do {
            try await self.storage.pruneSilences(endedBefore: now.adding(.zero - Self.keptAfterEnd))
            let stored = try await self.storage.loadSilences()
            let recovered = self.memory.withLock { memory in
                Self.replace(&memory, with: stored, logger: self.logger)
                defer { memory.unreadable = false }
                return memory.unreadable
            }
            if recovered { self.logger.notice("the silences can be read again") }
        } catch {
            let first = self.memory.withLock { memory in
                defer { memory.unreadable = true }
                return !memory.unreadable
            }
            if first {
                self.logger.warning(
                    "cannot re-read the silences; the ones known stay in force",
                    metadata: ["reason": "\(error)"]
                )
            }
        }
    }

    private static func replace(_ memory: inout Memory, with silences: [RuntimeSilence], logger: Logger) {
        guard silences != memory.silences else { return }
        memory.silences = silences
        memory.compiled = silences.compactMap { silence in
            do {
                return try silence.asSilence()
            } catch {
                logger.error("a stored silence does not compile; it is ignored", metadata: ["id": "\(silence.id)"])
                return nil
            }
        }
    }

    /// The audit record of a silence's creation or end.
    static func record(_ action: String, _ silence: RuntimeSilence, at: ObshellTime, by author: String?) -> AuditRecord
    {
        let matchers = SilenceJSON.matcherText(silence.matchers)
        let text: String
        if action == "silence_created" {
            text =
                "silence \(silence.id) created by \(silence.createdBy) for \(matchers) from \(silence.startsAt) "
                + "until \(silence.endsAt): \(silence.comment)"
        } else if let author {
            text = "silence \(silence.id) expired by \(author) (\(matchers), created by \(silence.createdBy))"
        } else {
            text =
                "silence \(silence.id) ended at \(silence.effectiveEnd) (\(matchers), created by \(silence.createdBy))"
        }
        var fields = [
            AuditRecord.Field("id", silence.id),
            AuditRecord.Field("matchers", matchers),
            AuditRecord.Field("starts_at", silence.startsAt.text),
            AuditRecord.Field("ends_at", silence.effectiveEnd.text),
            AuditRecord.Field("created_by", silence.createdBy),
            AuditRecord.Field("comment", silence.comment),
        ]
        if action == "silence_expired" { fields.append(AuditRecord.Field("expired_by", author ?? "time")) }
        return AuditRecord(action: action, at: at, fields: fields, text: text)
    }
}
