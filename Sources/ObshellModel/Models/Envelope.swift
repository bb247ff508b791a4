package import Foundation

/// obshell's response envelope (`OcsAgentResponse`): every answer, success or failure, has this shape.
package struct Envelope<Payload: Decodable & Sendable>: Decodable, Sendable {
    /// Whether the agent handled the request.
    package var successful: Bool
    /// The agent's clock when it answered.
    package var timestamp: ObshellTime?
    /// Milliseconds the agent spent.
    package var duration: Int?
    /// The HTTP status, repeated in the body.
    package var status: Int?
    /// The agent's trace id (empty for header decryption failures).
    package var traceID: String?
    /// The payload; absent on failures and on successful calls that return nothing.
    package var data: Payload?
    /// The error, on failures.
    package var error: APIError?

    enum CodingKeys: String, CodingKey {
        case successful, timestamp, duration, status
        case traceID = "traceId"
        case data, error
    }

    /// Decodes an envelope; `successful` is required, so a JSON body that is not an envelope fails.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.successful = try container.decode(Bool.self, forKey: .successful)
        self.timestamp = try container.decodeIfPresent(ObshellTime.self, forKey: .timestamp)
        self.duration = try container.decodeIfPresent(Int.self, forKey: .duration)
        self.status = try container.decodeIfPresent(Int.self, forKey: .status)
        self.traceID = try container.decodeIfPresent(String.self, forKey: .traceID)
        self.error = try container.decodeIfPresent(APIError.self, forKey: .error)
        // The payload is read only on success: a failed answer's `data` is not the requested type.
        self.data = self.successful ? try container.decodeIfPresent(Payload.self, forKey: .data) : nil
    }
}

/// The `error` object of a failed answer (`ApiError`).
package struct APIError: Codable, Sendable, Hashable {
    /// The old numeric code (10008 for auth failures, 1 for a header that did not decrypt), when sent.
    package var code: Int?
    /// The string code of obshell 4.3.2.0 and later, e.g. `Task.NotFound`.
    package var errCode: String?
    /// The human message.
    package var message: String?

    /// Makes an error object.
    package init(code: Int? = nil, errCode: String? = nil, message: String? = nil) {
        self.code = code
        self.errCode = errCode
        self.message = message
    }
}

/// A list answer: obshell wraps slices as `{"contents": [...]}` and sends `null` for an empty one on cluster agents.
package struct ContentList<Element: Decodable & Sendable>: Decodable, Sendable {
    /// The elements; `null` reads as empty.
    package var contents: [Element]

    enum CodingKeys: String, CodingKey { case contents }

    /// Decodes `contents`, reading `null` or a missing key as empty.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.contents = try container.decodeIfPresent([Element].self, forKey: .contents) ?? []
    }
}

/// `GET /api/v1/info`: the agent's identity (no authentication needed).
package struct AgentInfo: Codable, Sendable, Hashable {
    /// The agent's IP.
    package var ip: String?
    /// The agent's port.
    package var port: Int?
    /// The agent's zone.
    package var zone: String?
    /// `CLUSTER AGENT`, `SINGLE`, `MASTER`, `FOLLOWER`, ...
    package var identity: String?
    /// obshell's version.
    package var version: String?
    /// Authentication versions the agent accepts, e.g. `["v2"]`.
    package var supportedAuth: [String]?
    /// True when an agent password is set.
    package var security: Bool?

    /// Makes an info answer.
    package init(
        ip: String? = nil,
        port: Int? = nil,
        zone: String? = nil,
        identity: String? = nil,
        version: String? = nil,
        supportedAuth: [String]? = nil,
        security: Bool? = nil
    ) {
        self.ip = ip
        self.port = port
        self.zone = zone
        self.identity = identity
        self.version = version
        self.supportedAuth = supportedAuth
        self.security = security
    }
}

/// `GET /api/v1/secret`: the agent's RSA public key (base64 PKCS#1 DER).
package struct AgentSecret: Codable, Sendable, Hashable {
    /// The agent's IP.
    package var ip: String?
    /// The agent's port.
    package var port: Int?
    /// Base64 of the PKCS#1 `RSAPublicKey` DER.
    package var publicKey: String

    enum CodingKeys: String, CodingKey {
        case ip, port
        case publicKey = "public_key"
    }

    /// Makes a secret answer.
    package init(ip: String? = nil, port: Int? = nil, publicKey: String) {
        self.ip = ip
        self.port = port
        self.publicKey = publicKey
    }
}

/// Decodes obshell answers with ``FastJSONDecoder``, turning decoding errors into ``ObshellError``s that name the JSON
/// path.
package enum ObshellDecoder {
    /// Decodes an envelope whose payload is `Payload`.
    /// - Throws: ``ObshellError`` with code `.undecodable`, naming the JSON path of the first problem.
    package static func envelope<Payload: Decodable & Sendable>(
        _ payload: Payload.Type,
        from body: Data
    ) throws(ObshellError) -> Envelope<Payload> {
        try self.decode(Envelope<Payload>.self, from: body)
    }

    /// Decodes an envelope that is part of a larger document being decoded (a capture line's `body`), so the
    /// document is parsed once; error paths start at the envelope, as if it had been decoded alone.
    /// - Parameter decoder: The decoder positioned at the envelope, such as a container's `superDecoder(forKey:)`.
    package static func envelope<Payload: Decodable & Sendable>(
        _ payload: Payload.Type,
        nestedIn decoder: any Decoder
    ) -> Result<Envelope<Payload>, ObshellError> {
        do {
            return .success(try Envelope<Payload>(from: decoder))
        } catch let error as DecodingError {
            return .failure(ObshellError.undecodable(error, droppingLeading: decoder.codingPath.count))
        } catch {
            return .failure(ObshellError(code: .undecodable, message: "the body is not an envelope: \(error)"))
        }
    }

    /// Decodes any value, with errors that name the JSON path.
    /// - Throws: ``ObshellError`` with code `.undecodable`; the same messages Foundation's `JSONDecoder` would give.
    package static func decode<Value: Decodable>(_ type: Value.Type, from body: Data) throws(ObshellError) -> Value {
        try self.decode(type, from: FastJSONDecoder.parse(body))
    }

    /// Decodes any value from a body parsed once already (see `FastJSONDecoder.parse(_:)`).
    package static func decode<Value: Decodable>(
        _ type: Value.Type,
        from parsed: Result<JSONTree, DecodingError>
    ) throws(ObshellError) -> Value {
        do {
            return try FastJSONDecoder().decode(Value.self, from: parsed)
        } catch let error as DecodingError {
            throw ObshellError.undecodable(error)
        } catch {
            throw ObshellError(code: .undecodable, message: "the body is not JSON: \(error)")
        }
    }

    /// Formats a coding path as `data.contents[0].nodes[3].state`.
    static func path(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue, key.stringValue == "Index \(index)" || key.stringValue == String(index) {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return text.isEmpty ? "(top level)" : text
    }
}
