/// What kind of failure a failed poll was: the `error_kind` of `target_down`, so that a rule or a reader tells a
/// password to fix from an agent that does not answer.
///
/// A failure is sorted where it is worded, in ``AgentAnswer``: the live poller and the capture reader both read
/// answers through it, so `run` and `replay` give the same kind for the same exchange.
package enum PollFailureKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// The agent refused the password or the kind of password: `password`/`password_file` must be fixed.
    case auth
    /// The agent refused the header's time (`Security.Authentication.Expired`, `...Timestamp.Invalid`): the clocks
    /// of obwatch and the agent disagree.
    case clock
    /// No connection: refused, no route, the name not resolved.
    case connect
    /// No answer in time.
    case timeout
    /// The TLS handshake or the agent's certificate failed.
    case tls
    /// A failure status (not 2xx) that is no refusal of the password or the clock.
    case http
    /// A 2xx answer whose body is not JSON, not an obshell envelope, or not a list.
    case decode
    /// A 2xx obshell answer that says `successful: false`.
    case agent

    /// Sorts a failure where no answer came, from its text: a capture line's `error`.
    ///
    /// obwatch's client writes its errors as words then the message (`timed out: Timeout was reached (Operation
    /// timed out after 5001 milliseconds ...)`, `cannot connect: SSL peer certificate ...`; before 2026-12 as
    /// `timeout: ...` and `unreachable: ...`); captures written by hand or by other tools say `connection refused`
    /// or `timed out`. Anything that names no timeout and no TLS is `connect`.
    /// - Parameter text: The failure as written.
    package init(transportError text: String) {
        let lowered = text.lowercased()
        if lowered.contains("timed out") || lowered.contains("timeout") {
            self = .timeout
        } else if ["ssl", "tls", "certificate"].contains(where: lowered.contains) {
            self = .tls
        } else {
            self = .connect
        }
    }

    /// Sorts an answer that came and failed: a refusal of the password or of the clock, else by its status.
    /// - Parameters:
    ///   - status: The HTTP status.
    ///   - error: The answer's `error` object, when it could be read.
    package init(failedAnswer status: Int, error: APIError?) {
        switch AuthenticationRefusal(status: status, errCode: error?.errCode, apiCode: error?.code) {
        case .password?: self = .auth
        case .clock?: self = .clock
        case nil: self = (200..<300).contains(status) ? .agent : .http
        }
    }

    /// Sorts a client error, for a failure no capture line describes (the request never reached the agent).
    /// - Parameter error: What the client threw.
    package init(_ error: ObshellError) {
        if error.code == .undecodable {
            // A failure status comes as `httpStatus` even when its body does not decode: this is a 2xx.
            self = .decode
        } else if let status = error.status {
            self.init(failedAnswer: status, error: APIError(code: error.apiCode, errCode: error.errCode))
        } else {
            // Worded as the capture line would word it.
            self.init(transportError: error.description)
        }
    }
}
