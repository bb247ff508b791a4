package import ObshellModel

extension AgentAnswer.Outcome {
    /// obshell's clock at a list answer (its envelope's `timestamp`): what node elapsed times are measured against.
    package var agentTime: ObshellTime? {
        if case .list(_, let agentTime) = self { return agentTime }
        return nil
    }
}

extension Observation {
    /// The DAGs the observation shows: a list's, or the one a confirmation found (what history learns from).
    package var dags: [Dag] {
        switch self {
        case .list(let dags, _): dags
        case .confirmation(_, .found(let dag), _): [dag]
        case .confirmation, .failedPoll: []
        }
    }

    /// The observation a poll's outcome is: the same for an answer that just came and for its capture line.
    /// - Parameters:
    ///   - outcome: What ``AgentAnswer`` read from the answer.
    ///   - at: When the answer (or the failure) came.
    package static func poll(_ outcome: AgentAnswer.Outcome, at: ObshellTime) -> Observation {
        switch outcome {
        case .list(let dags, _):
            return .list(dags, at: at)
        case .keyRejected(let failure), .failed(let failure):
            return .failedPoll(reason: failure.reason, kind: failure.kind, at: at)
        case .found, .notFound:
            // Not an answer to a list request; read as one that could not be used.
            return .failedPoll(reason: "the answer to the list is not a list", kind: .decode, at: at)
        }
    }

    /// The observation a confirmation's outcome is: the same for an answer that just came and for its capture line.
    /// - Parameters:
    ///   - id: The DAG confirmed.
    ///   - outcome: What ``AgentAnswer`` read from the answer.
    ///   - at: When the answer (or the failure) came.
    package static func confirmation(id: String, _ outcome: AgentAnswer.Outcome, at: ObshellTime) -> Observation {
        switch outcome {
        case .found(let dag):
            return .confirmation(id: id, result: .found(dag), at: at)
        case .notFound:
            return .confirmation(id: id, result: .notFound, at: at)
        case .keyRejected(let failure), .failed(let failure):
            return .confirmation(id: id, result: .failed(reason: failure.reason), at: at)
        case .list:
            return .confirmation(id: id, result: .failed(reason: "the answer to the DAG is a list"), at: at)
        }
    }
}
