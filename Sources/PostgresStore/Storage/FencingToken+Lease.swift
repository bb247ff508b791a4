import Logging
import PostgresNIO

extension FencingToken {
    /// Whether, inside the caller's transaction, `target_lease` still names this token's holder and epoch for
    /// `target` and has not expired (by the database's clock); the row is locked `FOR SHARE` until the transaction
    /// ends, so the lease cannot be taken over between this check and the caller's write. A token without a holder
    /// (no lease machinery) is not checked here: its epoch guard is the caller's.
    /// - Parameters:
    ///   - target: The target written for.
    ///   - leases: The quoted `target_lease` table.
    func holdsLease(
        on target: String,
        leases: String,
        connection: PostgresConnection,
        logger: Logger
    ) async throws -> Bool {
        guard let holder = self.holder else { return true }
        var check = PostgresQuery(
            unsafeSQL: """
                SELECT 1 FROM \(leases)
                WHERE target = $1 AND holder = $2 AND epoch = $3 AND expires_at > now() FOR SHARE
                """
        )
        check.binds.append(target)
        check.binds.append(holder)
        check.binds.append(self.epoch)
        return try await !connection.query(check, logger: logger).collect().isEmpty
    }
}
