import Foundation
import ObshellModel

/// Writes obshell's `OcsAgentResponse` envelope: `successful`, `timestamp` (the agent's clock, nanoseconds, its
/// offset), `duration` in milliseconds, `status` equal to the HTTP status, `traceId`, then `data` or `error`.
struct EnvelopeWriter: Sendable {
    let engine: SimulatorEngine
    /// Started when the request arrived: the envelope's `duration`.
    let started: Stopwatch
    /// The caller's `X-OBSHELL-Trace-ID`, which obshell echoes.
    let traceID: String?

    private struct Body<Payload: Encodable>: Encodable {
        var successful: Bool
        var timestamp: ObshellTime
        var duration: Int
        var status: Int
        var traceID: String
        var data: Payload?
        var error: APIError?

        enum CodingKeys: String, CodingKey {
            case successful, timestamp, duration, status
            case traceID = "traceId"
            case data, error
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.successful, forKey: .successful)
            try container.encode(self.timestamp, forKey: .timestamp)
            try container.encode(self.duration, forKey: .duration)
            try container.encode(self.status, forKey: .status)
            try container.encode(self.traceID, forKey: .traceID)
            try container.encodeIfPresent(self.data, forKey: .data)
            try container.encodeIfPresent(self.error, forKey: .error)
        }
    }

    func success<Payload: Encodable>(_ data: Payload) async -> SimulatorResponderAnswer {
        await self.write(status: 200, data: data, error: nil, emptyTraceID: false)
    }

    func failure(_ failure: ObshellFailure, emptyTraceID: Bool = false) async -> SimulatorResponderAnswer {
        let error = APIError(code: failure.code, errCode: failure.errCode, message: failure.message)
        return await self.write(
            status: failure.status,
            data: String?.none,
            error: error,
            emptyTraceID: emptyTraceID || failure.emptyTraceID
        )
    }

    private func write<Payload: Encodable>(
        status: Int,
        data: Payload?,
        error: APIError?,
        emptyTraceID: Bool
    ) async
        -> SimulatorResponderAnswer
    {
        let now = await self.engine.snapshot().now
        let elapsed = self.started.elapsed
        let body = Body(
            successful: error == nil,
            timestamp: now,
            duration: Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000),
            status: status,
            traceID: emptyTraceID ? "" : self.traceID ?? Self.newTraceID(),
            data: data,
            error: error
        )
        let encoder = JSONEncoder()
        // Go writes struct fields in a fixed order; Foundation's order is unspecified, so keys are sorted to keep
        // answers byte-stable from one request to the next.
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        // Encoding these plain values cannot fail; an empty body would show it if it ever did.
        let bytes = (try? encoder.encode(body)) ?? Data()
        return SimulatorResponderAnswer(status: status, body: bytes)
    }

    static func newTraceID() -> String {
        let value = UInt64.random(in: 0...UInt64.max)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// What the HTTP layer sends: a status, a body and its content type.
struct SimulatorResponderAnswer: Sendable {
    var status: Int
    var body: Data
    var contentType = "application/json; charset=utf-8"
}
