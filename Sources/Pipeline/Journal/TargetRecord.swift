package import Tracker

/// What the pipeline keeps of one target across restarts: the tracker's state, and the batches of events made from
/// it that were not yet handed on (routed, their notifications on the outbox's disk).
///
/// The batches are saved with the state that made them before they are handed on, and cleared after, so a crash in
/// between hands them on again after the restart instead of losing them; the outbox knows each notification by its
/// id, so nothing is sent twice.
///
/// On disk it is the tracker's state with the batches beside its fields as `handoff` (left out when there are
/// none): the file obwatch has always written, so state files of earlier versions load unchanged.
package struct TargetRecord: Sendable, Hashable, Codable {
    /// The tracker's state.
    package var tracker: TrackerState
    /// Batches still to hand on, oldest first.
    package var pending: [EventBatch]

    /// Makes a record; by default an empty one (nothing seen yet).
    package init(tracker: TrackerState = TrackerState(), pending: [EventBatch] = []) {
        self.tracker = tracker
        self.pending = pending
    }

    private enum CodingKeys: String, CodingKey {
        case pending = "handoff"
    }

    package init(from decoder: any Decoder) throws {
        self.tracker = try TrackerState(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.pending = try container.decodeIfPresent([EventBatch].self, forKey: .pending) ?? []
    }

    package func encode(to encoder: any Encoder) throws {
        // One JSON object: the state's fields, then `handoff` beside them.
        try self.tracker.encode(to: encoder)
        guard !self.pending.isEmpty else { return }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.pending, forKey: .pending)
    }

    /// Whether `other` differs from this record only in what every poll moves forward (see
    /// `TrackerState.differsOnlyInClock(from:)`): such a change may wait for a checkpoint.
    package func differsOnlyInClock(from other: TargetRecord) -> Bool {
        self.pending == other.pending && self.tracker.differsOnlyInClock(from: other.tracker)
    }
}
