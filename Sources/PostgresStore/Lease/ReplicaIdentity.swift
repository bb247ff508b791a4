import Foundation

/// Who this replica is in the shared tables: `replica.replica_id`, `target_lease.holder`, the outbox's
/// `claimed_by`. Made once per process: `HOST-PID-SUFFIX`, the suffix random so that a restarted process with a
/// recycled pid is never mistaken for the one before it.
package struct ReplicaIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The id, as the tables hold it (`db-1-4242-3f9a0c1e`).
    package let id: String
    /// The host name, for the cluster view.
    package let host: String
    /// The process id.
    package let pid: Int32

    /// Makes an identity from its parts.
    package init(host: String, pid: Int32, suffix: String) {
        self.host = host
        self.pid = pid
        self.id = "\(host)-\(pid)-\(suffix)"
    }

    /// This process's identity: its host name, its pid and 8 random hex digits.
    package static func current() -> ReplicaIdentity {
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let padded = String(repeating: "0", count: max(0, 8 - suffix.count)) + suffix
        return ReplicaIdentity(
            host: ProcessInfo.processInfo.hostName,
            pid: ProcessInfo.processInfo.processIdentifier,
            suffix: padded
        )
    }

    /// The id.
    package var description: String { self.id }
}
