import ConfigModel
import Foundation
import ObshellModel
import Support
import Tracker

/// The JSON of `/api/v2/silences`, shaped like Alertmanager's v2 silences where it fits: `id`, `status.state`,
/// `matchers` (`name`, `value`, `isRegex`, `isEqual`), `startsAt`, `endsAt`, `createdBy`, `comment`.
///
/// Matcher names: `target` (a glob on the target's name), `dag` (a glob on the whole DAG name), `event` (an event
/// type; several `event` matchers mean any of them) and `label:KEY` or any other name (a glob on that target
/// label). Values are globs, never regular expressions (`isRegex: true` and `isEqual: false` are refused).
enum SilenceJSON {
    /// A `POST /api/v2/silences` body.
    struct Postable: Decodable {
        struct Matcher: Decodable {
            var name: String
            var value: String
            var isRegex: Bool?
            var isEqual: Bool?
        }

        var matchers: [Matcher]
        var startsAt: String?
        var endsAt: String
        var createdBy: String
        var comment: String
    }

    /// A `POST /api/v2/acks` body.
    struct Acknowledgement: Decodable {
        var incident: String
        var author: String
        var comment: String?
    }

    /// The silence a POST body asks for, checked.
    /// - Parameters:
    ///   - body: The request body.
    ///   - id: The new silence's id.
    ///   - now: The daemon's time: a start in the past or none is now.
    /// - Throws: ``RuntimeSilenceError`` saying what is wrong with the request and how to fix it.
    static func silence(from body: Data, id: String, now: ObshellTime) throws(RuntimeSilenceError) -> RuntimeSilence {
        let postable: Postable
        do {
            postable = try JSONDecoder().decode(Postable.self, from: body)
        } catch {
            throw RuntimeSilenceError(
                "the body is not a silence: expected {\"matchers\":[{\"name\":\"target\",\"value\":\"prod-east\"}],"
                    + "\"endsAt\":\"RFC 3339\",\"createdBy\":\"...\",\"comment\":\"...\"}"
            )
        }
        var matchers = RuntimeSilence.Matchers()
        for matcher in postable.matchers {
            guard matcher.isRegex != true, matcher.isEqual != false else {
                throw RuntimeSilenceError("matcher \(matcher.name): only equality with a glob is supported")
            }
            switch matcher.name {
            case "target": matchers.target = matcher.value
            case "dag": matchers.dag = matcher.value
            case "event", "type":
                guard let type = EventType(rawValue: matcher.value) else {
                    let known = EventType.allCases.map(\.rawValue).joined(separator: ", ")
                    throw RuntimeSilenceError("unknown event type \"\(matcher.value)\"; known: \(known)")
                }
                matchers.events.append(type)
            default:
                let key = matcher.name.hasPrefix("label:") ? String(matcher.name.dropFirst(6)) : matcher.name
                guard !key.isEmpty else { throw RuntimeSilenceError("a label matcher needs a name: label:KEY") }
                matchers.labels[key] = matcher.value
            }
        }
        guard !matchers.isEmpty else {
            throw RuntimeSilenceError("a silence needs at least one matcher (target, dag, event or a label)")
        }
        _ = try matchers.compiled()
        let createdBy = postable.createdBy.trimmingCharacters(in: .whitespacesAndNewlines)
        let comment = postable.comment.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !createdBy.isEmpty else { throw RuntimeSilenceError("createdBy is required: who adds the silence") }
        guard !comment.isEmpty else { throw RuntimeSilenceError("comment is required: why the silence is added") }
        guard let endsAt = ObshellTime(postable.endsAt) else {
            throw RuntimeSilenceError("endsAt must be an RFC 3339 time such as 2026-12-01T04:00:00+08:00")
        }
        var startsAt = now
        if let text = postable.startsAt {
            guard let given = ObshellTime(text) else {
                throw RuntimeSilenceError("startsAt must be an RFC 3339 time such as 2026-12-01T02:00:00+08:00")
            }
            if given.isLater(than: now) { startsAt = given }
        }
        guard endsAt.isLater(than: startsAt) else {
            throw RuntimeSilenceError("endsAt must be after startsAt (and after now)")
        }
        return RuntimeSilence(
            id: id,
            matchers: matchers,
            startsAt: startsAt,
            endsAt: endsAt,
            createdBy: createdBy,
            comment: comment,
            createdAt: now
        )
    }

    /// One silence as Alertmanager shows it, plus `expiredAt` when it was expired by hand.
    static func object(_ silence: RuntimeSilence, now: ObshellTime) -> OrderedJSON {
        .members([
            "id": .string(silence.id),
            "status": .members(["state": .string(silence.state(at: now).rawValue)]),
            "matchers": .array(Self.matchers(silence.matchers)),
            "startsAt": .string(silence.startsAt.text),
            "endsAt": .string(silence.effectiveEnd.text),
            "createdBy": .string(silence.createdBy),
            "comment": .string(silence.comment),
            "createdAt": .string(silence.createdAt.text),
            "expiredAt": silence.expiredAt.map { .string($0.text) },
        ])
    }

    private static func matchers(_ matchers: RuntimeSilence.Matchers) -> [OrderedJSON] {
        var list: [(String, String)] = []
        if let target = matchers.target { list.append(("target", target)) }
        for key in matchers.labels.keys.sorted() { list.append(("label:" + key, matchers.labels[key] ?? "")) }
        if let dag = matchers.dag { list.append(("dag", dag)) }
        for type in matchers.events { list.append(("event", type.rawValue)) }
        return list.map { name, value in
            .members([
                "name": .string(name), "value": .string(value), "isRegex": .bool(false), "isEqual": .bool(true),
            ])
        }
    }

    /// The matchers in words, for logs, audit records and `silence list`: `target=prod-east dag="Cluster*"`.
    static func matcherText(_ matchers: RuntimeSilence.Matchers) -> String {
        var parts: [String] = []
        if let target = matchers.target { parts.append("target=" + Self.quotedIfNeeded(target)) }
        for key in matchers.labels.keys.sorted() {
            parts.append("label:\(key)=" + Self.quotedIfNeeded(matchers.labels[key] ?? ""))
        }
        if let dag = matchers.dag { parts.append("dag=" + Self.quotedIfNeeded(dag)) }
        if !matchers.events.isEmpty { parts.append("event=" + matchers.events.map(\.rawValue).joined(separator: ",")) }
        return parts.joined(separator: " ")
    }

    private static func quotedIfNeeded(_ text: String) -> String {
        text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) || text.isEmpty
            ? "\"" + text.replacing("\"", with: "\\\"") + "\"" : text
    }
}
