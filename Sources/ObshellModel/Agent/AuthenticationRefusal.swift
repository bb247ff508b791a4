/// Why obshell refused an authenticated request, when the answer says it was the password or the clock
/// (obshell-api.md 4.4 and the error table of section 5).
///
/// One reading for everyone: the client turns ``password`` into ``ObshellError/Code/wrongPassword`` (the daemon backs
/// off on it, since each attempt costs the agent a database login), and the tracker words a `target_down` with it.
package enum AuthenticationRefusal: Sendable, Hashable {
    /// The password, or the kind of password, is not what the agent wants: someone must fix the configuration.
    case password
    /// The header's `Ts` was expired or not a number: the clocks of obwatch and the agent disagree.
    case clock

    /// The `errCode` suffixes of a refused password: a wrong root or agent password, or the wrong kind of password
    /// for how the agent is set up.
    static let passwordCodes = [
        "IncorrectOceanbasePassword", "IncorrectAgentPassword", "WithAgentPassword", "WithOceanBasePassword",
        "AgentPasswordNotInitialized",
    ]

    /// The `errCode` suffixes of a header refused for its time.
    static let clockCodes = ["Authentication.Expired", "Timestamp.Invalid"]

    /// Reads a failed answer.
    /// - Parameters:
    ///   - status: The HTTP status.
    ///   - errCode: obshell's string code, when sent (4.3.2.0 and later).
    ///   - apiCode: obshell's old numeric code, when sent.
    /// - Returns: `nil` when the answer is no refusal of the password or the clock. Agents before 4.3.2.0 send
    ///   10008 for every authentication failure and no `errCode`: a 401 with 10008 alone reads as a refused
    ///   password, the likeliest cause.
    package init?(status: Int, errCode: String?, apiCode: Int?) {
        if let errCode {
            if Self.passwordCodes.contains(where: errCode.hasSuffix) {
                self = .password
            } else if Self.clockCodes.contains(where: errCode.hasSuffix) {
                self = .clock
            } else {
                return nil
            }
        } else if status == 401, apiCode == 10008 {
            self = .password
        } else {
            return nil
        }
    }
}
