/// Event ids: FNV-1a 128 over the event's identifying parts, as 32 lowercase hex digits.
///
/// FNV-1a is not a cryptographic hash and need not be: the id is an idempotency key, not a secret. The parts are
/// the target name, the DAG id, the type and an episode key (the failure or stall episode number, a per-type
/// occurrence counter, the stage pair and its ordinal among the DAG's stage changes for `stage_advanced`, the
/// threshold for `stalled`),
/// each followed by a 0x1F separator so that no two part lists hash the same bytes. Counters live in
/// ``TrackerState``, so ids are unique within a run, survive a restart, and are identical when a capture is
/// replayed again.
package enum EventID {
    private static let offsetBasis: UInt128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d
    private static let prime: UInt128 = 0x0000_0000_0100_0000_0000_0000_0000_013B

    /// The id of the event with these parts.
    /// - Parameter parts: Target name, DAG id (empty for target events), type and episode key, in that order.
    package static func make(_ parts: [String]) -> String {
        var hash = Self.offsetBasis
        for part in parts {
            for byte in part.utf8 {
                hash ^= UInt128(byte)
                hash = hash &* Self.prime
            }
            hash ^= 0x1F
            hash = hash &* Self.prime
        }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 32 - digits.count) + digits
    }
}
