package import Foundation
package import ObshellModel
import Support

/// One usable line of a capture: which target it is about and what the tracker observes from it.
package struct CaptureEntry: Sendable, Hashable {
    /// The target the exchange was with.
    package var target: String
    /// The poll or confirmation the line records.
    package var observation: Observation
    /// The 1-based line number in its file.
    package var line: Int
    /// obshell's clock at the answer (the envelope's `timestamp`) of a good poll, when it sent one.
    package var agentTime: ObshellTime?
    /// Whether this is a good list whose line repeats the target's previous entry, a good list too, byte for byte
    /// but for its times and trace id: the same DAGs observed again, so the tracker only moves its clocks.
    package var repeatsPreviousList: Bool

    /// Makes an entry.
    package init(
        target: String,
        observation: Observation,
        line: Int,
        agentTime: ObshellTime? = nil,
        repeatsPreviousList: Bool = false
    ) {
        self.target = target
        self.observation = observation
        self.line = line
        self.agentTime = agentTime
        self.repeatsPreviousList = repeatsPreviousList
    }
}

/// The readable lines of a capture and the problems of the others.
package struct CaptureReading: Sendable {
    /// Polls and confirmations, in file order.
    package var entries: [CaptureEntry]
    /// One error per bad line (`FILE:LINE: error: ...`); those lines were skipped.
    package var diagnostics: [TrackerError]
}

/// Reads the capture format of CONTRACT section 5: JSON Lines, one HTTP exchange per line.
///
/// Lines for `/api/v1/task/dag/unfinish` (any query) are polls; lines for `/api/v1/task/dag/{id}` are
/// confirmations; every other request (`/api/v1/secret`, `/api/v1/info`, ...) is ignored. Lines split on `\n` only;
/// empty lines are skipped.
package enum CaptureReader {
    /// Reads a whole capture.
    /// - Parameters:
    ///   - data: The file's bytes.
    ///   - file: The name diagnostics carry.
    /// - Returns: The entries and the diagnostics of skipped lines.
    package static func read(_ data: Data, file: String) -> CaptureReading {
        data.withUnsafeBytes { raw in
            self.read(data, bytes: raw.bindMemory(to: UInt8.self), file: file)
        }
    }

    private static func read(_ data: Data, bytes: UnsafeBufferPointer<UInt8>, file: String) -> CaptureReading {
        var entries: [CaptureEntry] = []
        var dropped = Set<Int>()
        var diagnostics: [TrackerError] = []
        // obwatch's client answers a "cannot decrypt the header" with a fresh key and the same request once more:
        // a rejection followed by a key fetch and that retry is one observation (the retry's), as it was live.
        var rejected: [String: KeyRejection] = [:]
        var repeats = CaptureRepeats()
        let decoder = FastJSONDecoder()
        var lineNumber = 0
        let offset = data.startIndex
        let ranges = Self.lineRanges(of: data)
        entries.reserveCapacity(ranges.count)
        for range in ranges {
            lineNumber += 1
            let local = (range.lowerBound - offset)..<(range.upperBound - offset)
            let parsed: ParsedLine
            if let repeated = repeats.read(local, in: bytes) {
                // The same list as the target's template: only the times are new (see `CaptureRepeats`).
                parsed = ParsedLine(
                    entry: CaptureEntry(
                        target: repeated.target,
                        observation: .list(repeated.dags, at: repeated.at),
                        line: lineNumber,
                        agentTime: repeated.agentTime,
                        repeatsPreviousList: repeated.follows
                    ),
                    target: repeated.target,
                    request: repeated.request,
                    isKeyFetch: false,
                    isKeyRejection: false
                )
            } else {
                let line = data.subdata(in: range)
                guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") && $0 != 9 }) else {
                    continue
                }
                do {
                    parsed = try self.parse(line, file: file, line: lineNumber, decoder: decoder)
                } catch {
                    diagnostics.append(error)
                    continue
                }
                if let entry = parsed.entry {
                    repeats.noteFullRead(
                        local,
                        in: bytes,
                        target: entry.target,
                        request: parsed.request,
                        observation: entry.observation,
                        agentTime: entry.agentTime
                    )
                }
            }
            if parsed.isKeyFetch {
                rejected[parsed.target]?.keyFetched = true
                continue
            }
            // A failed fetch is the failed poll, as the client saw it; after a rejection it takes the rejection's
            // place (no retry follows).
            if parsed.isFailedKeyFetch, let previous = rejected.removeValue(forKey: parsed.target) {
                if let entry = parsed.entry {
                    entries[previous.index] = entry
                } else {
                    dropped.insert(previous.index)
                }
                continue
            }
            guard let entry = parsed.entry else { continue }
            if !rejected.isEmpty, let previous = rejected.removeValue(forKey: parsed.target), previous.keyFetched,
                previous.request == parsed.request
            {
                dropped.insert(previous.index)
            }
            if parsed.isKeyRejection {
                rejected[parsed.target] = KeyRejection(index: entries.count, request: parsed.request)
            }
            entries.append(entry)
        }
        if !dropped.isEmpty {
            entries = entries.indices.filter { !dropped.contains($0) }.map { entries[$0] }
        }
        return CaptureReading(entries: entries, diagnostics: diagnostics)
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
    package static func entry(_ line: Data, file: String, line number: Int) throws(TrackerError) -> CaptureEntry? {
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
        guard let answer = raw.answer else {
            let path = raw.request.split(separator: " ").last?.split(separator: "?").first
            let isKeyFetch = path == "/api/v1/secret"
            let fetchFailure: AgentAnswer.Failure? =
                if let error = raw.error {
                    AgentAnswer.transportFailure(error).failure
                } else {
                    AgentAnswer.keyFetchFailure(status: raw.status ?? 0)
                }
            // The client fetches the key for its first authenticated request, always a poll, or again after a
            // rejection (see `read`): a fetch that failed outside a rejection is that poll, failed.
            let failedPoll =
                isKeyFetch
                ? fetchFailure.map { failure in
                    CaptureEntry(
                        target: raw.target,
                        observation: .failedPoll(reason: failure.reason, kind: failure.kind, at: at),
                        line: number
                    )
                } : nil
            return ParsedLine(
                entry: failedPoll,
                target: raw.target,
                request: raw.request,
                isKeyFetch: isKeyFetch && fetchFailure == nil,
                isKeyRejection: false,
                isFailedKeyFetch: failedPoll != nil
            )
        }
        if raw.error == nil, raw.status == nil { throw bad("the line has neither \"status\" nor \"error\"") }
        let observation: Observation
        let outcome: AgentAnswer.Outcome
        switch answer {
        case .poll(let body):
            outcome =
                raw.error.map(AgentAnswer.transportFailure) ?? AgentAnswer.list(status: raw.status ?? 0, body: body)
            observation = .poll(outcome, at: at)
        case .dag(let id, let body):
            outcome =
                raw.error.map(AgentAnswer.transportFailure) ?? AgentAnswer.dag(status: raw.status ?? 0, body: body)
            observation = .confirmation(id: id, outcome, at: at)
        }
        var isKeyRejection = false
        if case .keyRejected = outcome { isKeyRejection = true }
        var agentTime: ObshellTime?
        if case .list(_, let time) = outcome { agentTime = time }
        return ParsedLine(
            entry: CaptureEntry(target: raw.target, observation: observation, line: number, agentTime: agentTime),
            target: raw.target,
            request: raw.request,
            isKeyFetch: false,
            isKeyRejection: isKeyRejection
        )
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
    /// The answer to a poll or a confirmation, read for ``AgentAnswer``.
    enum Answer {
        case poll(AgentAnswer.Body<ContentList<Dag>>)
        case dag(id: String, AgentAnswer.Body<Dag>)
    }

    var at: String
    var target: String
    var request: String
    var status: Int?
    var error: String?
    /// The answer, for a poll or a confirmation; `nil` for every other request.
    var answer: Answer?

    enum CodingKeys: String, CodingKey { case at, target, request, status, body, error }
    private enum ErrorKeys: String, CodingKey { case error }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.at = try container.decode(String.self, forKey: .at)
        self.target = try container.decode(String.self, forKey: .target)
        self.request = try container.decode(String.self, forKey: .request)
        self.status = try container.decodeIfPresent(Int.self, forKey: .status)
        self.error = try container.decodeIfPresent(String.self, forKey: .error)
        switch RequestKind(self.request) {
        case .poll: self.answer = .poll(try Self.body(ContentList<Dag>.self, container, status: self.status))
        case .dag(let id): self.answer = .dag(id: id, try Self.body(Dag.self, container, status: self.status))
        case nil: self.answer = nil
        }
    }

    /// The body as ``AgentAnswer`` reads it: an envelope, or text when it is a string.
    private static func body<Payload: Decodable & Sendable>(
        _ payload: Payload.Type,
        _ container: KeyedDecodingContainer<CodingKeys>,
        status: Int?
    ) throws -> AgentAnswer.Body<Payload> {
        guard container.contains(.body), try !container.decodeNil(forKey: .body) else { return .missing }
        // An envelope is tried first: a failed `decode(String.self)` costs an error with its coding path, and
        // nearly every body is an object.
        let result = ObshellDecoder.envelope(Payload.self, nestedIn: try container.superDecoder(forKey: .body))
        if case .failure = result, (try? container.decode(String.self, forKey: .body)) != nil { return .notJSON }
        var rejection: APIError?
        if status == 401 {
            let body = try? container.nestedContainer(keyedBy: ErrorKeys.self, forKey: .body)
            rejection = try? body?.decodeIfPresent(APIError.self, forKey: .error)
        }
        return .object(result, error: rejection)
    }
}

/// Formats exchanges as capture lines, for `obwatch run --record`.
package struct CaptureWriter: Sendable {
    /// Makes a writer.
    package init() {}

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
    package func line(
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
