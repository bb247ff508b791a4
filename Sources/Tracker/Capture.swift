public import Foundation
public import ObshellModel
import Support

/// One usable line of a capture: which target it is about and what the tracker observes from it.
public struct CaptureEntry: Sendable, Hashable {
    /// The target the exchange was with.
    public var target: String
    /// The poll or confirmation the line records.
    public var observation: Observation
    /// The 1-based line number in its file.
    public var line: Int

    /// Makes an entry.
    public init(target: String, observation: Observation, line: Int) {
        self.target = target
        self.observation = observation
        self.line = line
    }
}

/// The readable lines of a capture and the problems of the others.
public struct CaptureReading: Sendable {
    /// Polls and confirmations, in file order.
    public var entries: [CaptureEntry]
    /// One error per bad line (`FILE:LINE: error: ...`); those lines were skipped.
    public var diagnostics: [TrackerError]
}

/// Reads the capture format of CONTRACT section 5: JSON Lines, one HTTP exchange per line.
///
/// Lines for `/api/v1/task/dag/unfinish` (any query) are polls; lines for `/api/v1/task/dag/{id}` are
/// confirmations; every other request (`/api/v1/secret`, `/api/v1/info`, ...) is ignored. Lines split on `\n` only;
/// empty lines are skipped.
public enum CaptureReader {
    /// Reads a whole capture.
    /// - Parameters:
    ///   - data: The file's bytes.
    ///   - file: The name diagnostics carry.
    /// - Returns: The entries and the diagnostics of skipped lines.
    public static func read(_ data: Data, file: String) -> CaptureReading {
        var entries: [CaptureEntry?] = []
        var diagnostics: [TrackerError] = []
        // obwatch's client answers a "cannot decrypt the header" with a fresh key and the same request once more:
        // a rejection followed by a key fetch and that retry is one observation (the retry's), as it was live.
        var rejected: [String: KeyRejection] = [:]
        let decoder = FastJSONDecoder()
        var lineNumber = 0
        for range in Self.lineRanges(of: data) {
            lineNumber += 1
            let line = data.subdata(in: range)
            guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") && $0 != 9 }) else {
                continue
            }
            let parsed: ParsedLine
            do {
                parsed = try self.parse(line, file: file, line: lineNumber, decoder: decoder)
            } catch {
                diagnostics.append(error)
                continue
            }
            if parsed.isKeyFetch {
                rejected[parsed.target]?.keyFetched = true
                continue
            }
            // A failed fetch is the failed poll, as the client saw it; after a rejection it takes the rejection's
            // place (no retry follows).
            if parsed.isFailedKeyFetch, let previous = rejected.removeValue(forKey: parsed.target) {
                entries[previous.index] = parsed.entry
                continue
            }
            guard let entry = parsed.entry else { continue }
            if let previous = rejected.removeValue(forKey: parsed.target), previous.keyFetched,
                previous.request == parsed.request
            {
                entries[previous.index] = nil
            }
            if parsed.isKeyRejection {
                rejected[parsed.target] = KeyRejection(index: entries.count, request: parsed.request)
            }
            entries.append(entry)
        }
        return CaptureReading(entries: entries.compactMap { $0 }, diagnostics: diagnostics)
    }

    /// Where each line is, split on `\n` only; a trailing newline leaves one empty line after it. A byte scan:
    /// `Data.split` walked the capture element by element and was most of the time `replay` spent reading.
    static func lineRanges(of data: Data) -> [Range<Int>] {
        let offset = data.startIndex
        return data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) -> [Range<Int>] in
            guard let base = buffer.baseAddress else { return [offset..<offset] }
            var ranges: [Range<Int>] = []
            var start = 0
            while true {
                let rest = buffer.count - start
                guard rest > 0, let found = memchr(base + start, 0x0A, rest) else {
                    ranges.append((offset + start)..<(offset + buffer.count))
                    return ranges
                }
                let end = base.distance(to: UnsafeRawPointer(found))
                ranges.append((offset + start)..<(offset + end))
                start = end + 1
            }
        }
    }

    /// A line whose answer asked the client for a fresh key, waiting to see whether the client retried.
    private struct KeyRejection {
        var index: Int
        var request: String
        var keyFetched = false
    }

    /// What one line holds, beyond its entry.
    private struct ParsedLine {
        var entry: CaptureEntry?
        var target: String
        var request: String
        /// `GET /api/v1/secret` answered: the client got the agent's key and will retry.
        var isKeyFetch: Bool
        /// The agent could not decrypt the request header (HTTP 401, code 1 / `...Header.DecryptFailed`).
        var isKeyRejection: Bool
        /// `GET /api/v1/secret` failed: `entry` is the failed poll it stands for.
        var isFailedKeyFetch = false
    }

    /// Reads one line.
    /// - Returns: The entry, or `nil` for a request that is neither a poll nor a confirmation.
    /// - Throws: ``TrackerError`` `.badCaptureLine` when the line is not JSON or lacks a field.
    public static func entry(_ line: Data, file: String, line number: Int) throws(TrackerError) -> CaptureEntry? {
        try self.parse(line, file: file, line: number).entry
    }

    private static func parse(
        _ line: Data,
        file: String,
        line number: Int,
        decoder: FastJSONDecoder = FastJSONDecoder()
    ) throws(TrackerError) -> ParsedLine {
        func bad(_ message: String) -> TrackerError {
            TrackerError(code: .badCaptureLine, message: message, file: file, line: number)
        }
        let raw: RawLine
        do {
            raw = try decoder.decode(RawLine.self, from: line)
        } catch let error as DecodingError {
            switch error {
            case .keyNotFound(let key, _): throw bad("the line lacks the field \"\(key.stringValue)\"")
            case .typeMismatch(_, let context), .valueNotFound(_, let context):
                let field = context.codingPath.first?.stringValue ?? "?"
                throw bad("the field \"\(field)\" has the wrong type")
            default: throw bad("the line is not a JSON object")
            }
        } catch {
            throw bad("the line is not a JSON object")
        }
        guard let at = ObshellTime(raw.at) else { throw bad("\"at\" is not an RFC 3339 time: \(raw.at)") }
        guard let kind = raw.kind else {
            let path = raw.request.split(separator: " ").last?.split(separator: "?").first
            let isKeyFetch = path == "/api/v1/secret"
            let fetched = raw.error == nil && (200..<300).contains(raw.status ?? 0)
            // The client fetches the key for its first authenticated request, always a poll, or again after a
            // rejection (see `read`): a fetch that failed outside a rejection is that poll, failed.
            let failedPoll =
                isKeyFetch && !fetched
                ? CaptureEntry(
                    target: raw.target,
                    observation: .failedPoll(
                        reason: raw.error ?? "HTTP \(raw.status ?? 0) when fetching the agent's key",
                        kind: raw.error.map(PollFailureKind.init(transportError:)) ?? .http,
                        at: at
                    ),
                    line: number
                )
                : nil
            return ParsedLine(
                entry: failedPoll,
                target: raw.target,
                request: raw.request,
                isKeyFetch: isKeyFetch && fetched,
                isKeyRejection: false,
                isFailedKeyFetch: failedPoll != nil
            )
        }
        if raw.error == nil, raw.status == nil { throw bad("the line has neither \"status\" nor \"error\"") }
        let observation: Observation
        switch kind {
        case .poll:
            switch self.pollOutcome(raw) {
            case .success(let dags): observation = .list(dags, at: at)
            case .failure(let reason): observation = .failedPoll(reason: reason.message, kind: reason.kind, at: at)
            }
        case .dag(let id):
            observation = .confirmation(id: id, result: self.confirmationOutcome(raw), at: at)
        }
        return ParsedLine(
            entry: CaptureEntry(target: raw.target, observation: observation, line: number),
            target: raw.target,
            request: raw.request,
            isKeyFetch: false,
            isKeyRejection: self.isKeyRejection(raw)
        )
    }

    private static func isKeyRejection(_ raw: RawLine) -> Bool {
        guard raw.status == 401, let error = raw.rejection else { return false }
        return error.code == 1 || error.errCode?.hasSuffix("Header.DecryptFailed") == true
    }

    /// Why a poll failed, in words and sorted.
    private struct Reason: Error {
        var message: String
        var kind: PollFailureKind
    }

    private static func pollOutcome(_ raw: RawLine) -> Result<[Dag], Reason> {
        if let error = raw.error {
            return .failure(Reason(message: error, kind: PollFailureKind(transportError: error)))
        }
        let status = raw.status ?? 0
        // A body that is no envelope: a 2xx did not decode; a failure status is sorted by its status, or by the
        // `error` object of a 401 when one could be read.
        let undecoded: PollFailureKind =
            (200..<300).contains(status) ? .decode : PollFailureKind(failedAnswer: status, error: raw.rejection)
        let envelope: Envelope<ContentList<Dag>>
        switch raw.body {
        case nil: return .failure(Reason(message: "HTTP \(status) with no body", kind: undecoded))
        case .text?, .ignored?, .dag?:
            return .failure(Reason(message: "HTTP \(status): the body is not JSON", kind: undecoded))
        case .poll(.failure(let error))?:
            return .failure(
                Reason(message: "HTTP \(status): the body is not an obshell answer: \(error.message)", kind: undecoded)
            )
        case .poll(.success(let decoded))?: envelope = decoded
        }
        guard (200..<300).contains(status), envelope.successful else {
            return .failure(
                Reason(
                    message: self.describeFailure(status: status, error: envelope.error),
                    kind: PollFailureKind(failedAnswer: status, error: envelope.error)
                )
            )
        }
        return .success(envelope.data?.contents ?? [])
    }

    private static func confirmationOutcome(_ raw: RawLine) -> ConfirmationResult {
        if let error = raw.error { return .failed(reason: error) }
        let status = raw.status ?? 0
        if status == 404 { return .notFound }
        let envelope: Envelope<Dag>
        switch raw.body {
        case nil, .text?, .ignored?, .poll?: return .failed(reason: "HTTP \(status): the body is not JSON")
        case .dag(.failure(let error))?:
            return .failed(reason: "HTTP \(status): the body is not an obshell answer: \(error.message)")
        case .dag(.success(let decoded))?: envelope = decoded
        }
        if envelope.error?.errCode == "Task.NotFound" || envelope.status == 404 { return .notFound }
        guard (200..<300).contains(status), envelope.successful, let dag = envelope.data else {
            return .failed(reason: self.describeFailure(status: status, error: envelope.error))
        }
        return .found(dag)
    }

    /// `HTTP 500 Common.Unexpected: Unexpected error: Internal Server Error`.
    private static func describeFailure(status: Int, error: APIError?) -> String {
        var text = "HTTP \(status)"
        if let code = error?.errCode {
            text += " " + code
        } else if let code = error?.code {
            text += " code \(code)"
        }
        if let message = error?.message { text += ": " + message }
        if error == nil, (200..<300).contains(status) { text += ": successful is false" }
        return text
    }
}

/// Which requests a capture line can record.
enum RequestKind: Equatable {
    case poll
    case dag(id: String)

    private static let unfinished = "/api/v1/task/dag/unfinish"
    private static let dagPrefix = "/api/v1/task/dag/"

    init?(_ request: String) {
        // `GET /path?query`; a bare `/path?query` is read as a GET too.
        let parts = request.split(separator: " ", omittingEmptySubsequences: true)
        let target: Substring
        if parts.count == 2, parts[0] == "GET" {
            target = parts[1]
        } else if parts.count == 1, parts[0].hasPrefix("/") {
            target = parts[0]
        } else {
            return nil
        }
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        if path == Self.unfinished {
            self = .poll
            return
        }
        guard path.hasPrefix(Self.dagPrefix) else { return nil }
        let rest = path.dropFirst(Self.dagPrefix.count)
        guard !rest.isEmpty, !rest.contains("/") else { return nil }
        self = .dag(id: String(rest).removingPercentEncoding ?? String(rest))
    }
}

/// A capture line as written: `body` is a JSON value, or a string when the agent's answer was not JSON.
///
/// The line is parsed once: `request` is read first, and it decides what `body` is decoded as (a list answer, a DAG
/// answer, or nothing for requests the reader ignores), straight from the same parse.
private struct RawLine: Decodable {
    enum Body {
        case poll(Result<Envelope<ContentList<Dag>>, ObshellError>)
        case dag(Result<Envelope<Dag>, ObshellError>)
        case text(String)
        /// JSON the reader does not need (the answer to a request that is neither a poll nor a confirmation).
        case ignored
    }

    var at: String
    var target: String
    var request: String
    var kind: RequestKind?
    var status: Int?
    var body: Body?
    var error: String?
    /// The answer's `error` object read on its own, for a 401 whose body is not a whole envelope.
    var rejection: APIError?

    enum CodingKeys: String, CodingKey { case at, target, request, status, body, error }
    private enum ErrorKeys: String, CodingKey { case error }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.at = try container.decode(String.self, forKey: .at)
        self.target = try container.decode(String.self, forKey: .target)
        self.request = try container.decode(String.self, forKey: .request)
        self.kind = RequestKind(self.request)
        self.status = try container.decodeIfPresent(Int.self, forKey: .status)
        self.error = try container.decodeIfPresent(String.self, forKey: .error)
        guard container.contains(.body), try !container.decodeNil(forKey: .body) else {
            self.body = nil
            return
        }
        // An envelope is tried first: a failed `decode(String.self)` costs an error with its coding path, and
        // nearly every body is an object.
        switch self.kind {
        case .poll:
            let result = ObshellDecoder.envelope(
                ContentList<Dag>.self,
                nestedIn: try container.superDecoder(forKey: .body)
            )
            self.body = Self.textIfNotEnvelope(result, container) ?? .poll(result)
        case .dag:
            let result = ObshellDecoder.envelope(Dag.self, nestedIn: try container.superDecoder(forKey: .body))
            self.body = Self.textIfNotEnvelope(result, container) ?? .dag(result)
        case nil:
            self.body = .ignored
        }
        if self.status == 401 {
            let body = try? container.nestedContainer(keyedBy: ErrorKeys.self, forKey: .body)
            self.rejection = try? body?.decodeIfPresent(APIError.self, forKey: .error)
        }
    }

    /// The body as text, when no envelope could be read from it because it is a string.
    private static func textIfNotEnvelope<Payload>(
        _ result: Result<Envelope<Payload>, ObshellError>,
        _ container: KeyedDecodingContainer<CodingKeys>
    ) -> Body? {
        guard case .failure = result else { return nil }
        return (try? container.decode(String.self, forKey: .body)).map { .text($0) }
    }
}

/// Formats exchanges as capture lines, for `obwatch run --record`.
public struct CaptureWriter: Sendable {
    /// Makes a writer.
    public init() {}

    /// One capture line, without the trailing newline.
    ///
    /// A body that is a JSON object is embedded as received (compacted only when it spans lines, so that the line
    /// stays one line); any other body is embedded as a string.
    /// - Parameters:
    ///   - at: When the answer (or the failure) came.
    ///   - target: The target's name.
    ///   - request: `GET /api/v1/task/dag/unfinish?show_details=true`.
    ///   - status: The HTTP status, when an answer came.
    ///   - body: The answer's bytes, when an answer came.
    ///   - error: Why no answer came; replaces `status` and `body`.
    public func line(
        at: ObshellTime,
        target: String,
        request: String,
        status: Int? = nil,
        body: Data? = nil,
        error: String? = nil
    ) -> String {
        var text = "{\"at\":" + Self.quote(at.text) + ",\"target\":" + Self.quote(target)
        text += ",\"request\":" + Self.quote(request)
        if let error {
            return text + ",\"error\":" + Self.quote(error) + "}"
        }
        text += ",\"status\":\(status ?? 0)"
        if let body {
            text += ",\"body\":" + Self.embed(body)
        }
        return text + "}"
    }

    private static func embed(_ body: Data) -> String {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: body), case .object = value else {
            return self.quote(String(decoding: body, as: UTF8.self))
        }
        if !body.contains(UInt8(ascii: "\n")), !body.contains(UInt8(ascii: "\r")) {
            return String(decoding: body, as: UTF8.self)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        guard let compact = try? encoder.encode(value) else { return self.quote(String(decoding: body, as: UTF8.self)) }
        return String(decoding: compact, as: UTF8.self)
    }

    private static func quote(_ text: String) -> String {
        JSONStringLiteral.quoted(text)
    }
}
