import Cryptography
import Foundation

/// An answer obshell gives instead of the requested data: HTTP status, `errCode`, old numeric `code`, message.
struct ObshellFailure: Error, Sendable {
    var status: Int
    var errCode: String
    var code: Int?
    var message: String
    /// obshell answers a header it cannot decrypt before it has assigned a trace id.
    var emptyTraceID = false

    static let headerNotFound = ObshellFailure(
        status: 400,
        errCode: "Request.Header.NotFound",
        message: "Request header not found: X-OCS-Header"
    )
    static let decryptFailed = ObshellFailure(
        status: 401,
        errCode: "Security.Authentication.Header.DecryptFailed",
        code: 1,
        message: "Failed to decrypt the request header",
        emptyTraceID: true
    )
    static let uriMismatch = ObshellFailure(
        status: 401,
        errCode: "Security.Authentication.Header.UriMismatch",
        code: 10008,
        message: "Unauthorized: the URI in the header does not match the request"
    )
    static let timestampInvalid = ObshellFailure(
        status: 401,
        errCode: "Security.Authentication.Timestamp.Invalid",
        code: 10008,
        message: "Unauthorized: invalid timestamp"
    )
    static let expired = ObshellFailure(
        status: 401,
        errCode: "Security.Authentication.Expired",
        code: 10008,
        message: "Unauthorized: the request has expired"
    )
    static let incorrectPassword = ObshellFailure(
        status: 401,
        errCode: "Security.Authentication.IncorrectOceanbasePassword",
        code: 10008,
        message: "Unauthorized: OceanBase password is incorrect"
    )
    static let withOceanBasePassword = ObshellFailure(
        status: 401,
        errCode: "Security.Authentication.WithOceanBasePassword",
        code: 10008,
        message: "Unauthorized: use the OceanBase root password (X-OCS-Header)"
    )
    static let unexpected = ObshellFailure(
        status: 500,
        errCode: "Common.Unexpected",
        message: "Unexpected error: Internal Server Error"
    )
    static let notFound = ObshellFailure(
        status: 404,
        errCode: "Common.NotFound",
        message: "Not found: 404 page not found"
    )
    static let taskNotFound = ObshellFailure(
        status: 404,
        errCode: "Task.NotFound",
        message: "Task not found: record not found"
    )

    static func invalidGenericID(_ id: String) -> ObshellFailure {
        ObshellFailure(status: 400, errCode: "Task.GenericID.Invalid", message: "Invalid ID: \(id): invalid generic id")
    }
}

/// The decrypted `X-OCS-Header`: Go's `encoding/json` fills `Auth`, `Ts` and `Uri` matching names without regard
/// to case, so the Python SDK's `auth`/`ts`/`uri` work as well as Go's `Auth`/`Ts`/`Uri`.
struct DecryptedHeader: Sendable {
    var auth: String
    var timestamp: String
    var uri: String

    /// Parses the plaintext; `nil` when it is not a JSON object or a field is not a string (as Go fails to
    /// unmarshal a number into a string field).
    init?(json: Data) {
        guard let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else { return nil }
        var fields: [String: String] = [:]
        for name in ["Auth", "Ts", "Uri"] {
            let value = object[name] ?? object.first { $0.key.lowercased() == name.lowercased() }?.value
            guard let value, !(value is NSNull) else {
                fields[name] = ""
                continue
            }
            guard let text = value as? String else { return nil }
            fields[name] = text
        }
        guard let auth = fields["Auth"], let timestamp = fields["Ts"], let uri = fields["Uri"] else { return nil }
        self.auth = auth
        self.timestamp = timestamp
        self.uri = uri
    }
}

/// obshell's `common.Verify` for the task routes on the TCP listener (obshell-api.md 4.4), minus the password
/// comparison, which the caller makes so that a `refuse_password` fault is counted only when it matters.
enum HeaderAuthentication {
    /// What remains to check after the header decrypted and matched the URI.
    enum Outcome: Sendable {
        /// The request passes (SINGLE and MASTER, or nothing left to check).
        case accepted
        /// A CLUSTER AGENT must compare `auth` with its root password.
        case comparePassword(String)
    }

    /// Checks the headers of a request.
    /// - Parameters:
    ///   - header: The `X-OCS-Header` value, if any.
    ///   - agentHeader: The `X-OCS-Agent-Header` value, if any (it wins when both are sent).
    ///   - requestURI: The raw request target, path and query as sent.
    ///   - key: The agent's current private key.
    ///   - identity: The agent's identity.
    ///   - now: The agent's clock, Unix seconds.
    static func verify(
        header: String?,
        agentHeader: String?,
        requestURI: String,
        key: RSAPrivateKey,
        identity: AgentIdentity,
        now: Int64
    ) -> Result<Outcome, ObshellFailure> {
        guard let value = agentHeader ?? header else { return .failure(.headerNotFound) }
        guard let plaintext = try? key.decrypt(base64: value), let decrypted = DecryptedHeader(json: plaintext) else {
            return .failure(.decryptFailed)
        }
        guard decrypted.uri == requestURI else { return .failure(.uriMismatch) }
        guard identity == .clusterAgent else { return .success(.accepted) }
        // The simulated cluster has no agent password, so obshell asks for the root password header instead.
        if agentHeader != nil { return .failure(.withOceanBasePassword) }
        if !decrypted.auth.isEmpty {
            guard let expiry = Int64(decrypted.timestamp) else { return .failure(.timestampInvalid) }
            guard now <= expiry else { return .failure(.expired) }
        }
        return .success(.comparePassword(decrypted.auth))
    }

    /// Go's `strconv.ParseBool` as gin's query binding applies it: an empty value is false.
    static func parseBool(_ text: String) -> Bool? {
        switch text {
        case "1", "t", "T", "TRUE", "true", "True": true
        case "0", "f", "F", "FALSE", "false", "False", "": false
        default: nil
        }
    }
}
