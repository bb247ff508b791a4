package import ObshellModel

/// One thing the tracker learned about a target at one instant: a poll of `/api/v1/task/dag/unfinish`, or the answer
/// to the confirmation of one DAG (`GET /api/v1/task/dag/{id}`).
///
/// Time only ever comes from here: the state machine reads no clock, so a capture replays exactly as it happened.
package enum Observation: Sendable, Hashable, Codable {
    /// A good poll: the agent's list of unfinished DAGs (`contents: null` already read as empty).
    case list([Dag], at: ObshellTime)
    /// A poll that failed (no answer, non-2xx, not an envelope, `successful: false`); `reason` says why, `kind`
    /// sorts it (the `error_kind` of `target_down`).
    case failedPoll(reason: String, kind: PollFailureKind, at: ObshellTime)
    /// The answer to the confirmation of the DAG `id`.
    case confirmation(id: String, result: ConfirmationResult, at: ObshellTime)

    /// When the observation was made: the capture line's `at`, or the poller's clock when the answer arrived.
    package var at: ObshellTime {
        switch self {
        case .list(_, let at), .failedPoll(_, _, let at), .confirmation(_, _, let at): at
        }
    }
}

/// What `GET /api/v1/task/dag/{id}` answered.
package enum ConfirmationResult: Sendable, Hashable, Codable {
    /// The agent knows the DAG and sent it.
    case found(Dag)
    /// 404 (`Task.NotFound`): not final, the DAG may live on an agent that is down; keep confirming.
    case notFound
    /// No usable answer; `reason` says why. Never counts toward `down_after`.
    case failed(reason: String)
}
