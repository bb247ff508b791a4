import ConfigModel
import Foundation
import Messages
import ObshellModel
import Support
import Tracker

extension WebhookFormatter {
    /// PagerDuty's limits (receivers.md 2.7).
    static let pagerDutyDedupKeyLimit = 255
    static let pagerDutySummaryLimit = 1_024
    static let pagerDutyBodyLimit = 512_000
    /// Opsgenie's limits (receivers.md 2.8).
    static let opsgenieMessageLimit = 130
    static let opsgenieAliasLimit = 512
    static let opsgenieDescriptionLimit = 15_000
    static let opsgenieTagLimit = 50
    static let opsgenieDetailLimit = 1_000

    /// The events of one incident (or one event without an incident), in routing order.
    struct PagingGroup {
        /// The incident, when the events have one.
        var incident: String?
        /// The events, never empty.
        var events: [Event]

        /// The event that decides the request: the incident's latest, whose status is its state now.
        var deciding: Event { self.events[self.events.count - 1] }

        /// The key the vendor deduplicates on: the incident, else the event id.
        var key: String { self.incident ?? self.deciding.id }
    }

    /// The notification's events grouped by incident, in order of first appearance.
    static func pagingGroups(_ notification: OutboundNotification) -> [PagingGroup] {
        var groups: [PagingGroup] = []
        var indexByIncident: [String: Int] = [:]
        for event in notification.events {
            if let incident = event.incident {
                if let index = indexByIncident[incident] {
                    groups[index].events.append(event)
                } else {
                    indexByIncident[incident] = groups.count
                    groups.append(PagingGroup(incident: incident, events: [event]))
                }
            } else {
                groups.append(PagingGroup(incident: nil, events: [event]))
            }
        }
        return groups
    }

    /// A key within `limit` UTF-8 bytes; a longer one keeps a prefix and gains a hash of the whole, so that the
    /// firing and the resolve of one incident still agree and two long keys do not collide.
    static func boundedKey(_ key: String, limit: Int) -> String {
        if key.utf8.count <= limit { return key }
        let hash = EventID.make([key])
        var prefix = ""
        for character in key {
            if prefix.utf8.count + character.utf8.count > limit - hash.utf8.count - 1 { break }
            prefix.append(character)
        }
        return prefix + "#" + hash
    }

    /// The summary of a page: the event's own, else the title.
    static func pageSummary(_ event: Event, _ message: RenderedMessage) -> String {
        let summary = TextLimits.oneLine(event.summary)
        return summary.trimmingCharacters(in: .whitespaces).isEmpty ? TextLimits.oneLine(message.title) : summary
    }

    /// PagerDuty Events API v2: one trigger or resolve per incident.
    func pagerDutyRequests(_ notification: OutboundNotification, _ message: RenderedMessage) -> [WebhookRequest] {
        let routingKey = self.settings.routingKey?.revealed ?? ""
        return Self.pagingGroups(notification).map { group in
            let event = group.deciding
            let dedupKey = Self.boundedKey(group.key, limit: Self.pagerDutyDedupKeyLimit)
            let body: Data
            if notification.acknowledgedBy != nil {
                // `obwatch ack`: the incident stays open at PagerDuty, its escalation stops.
                body =
                    OrderedJSON.members([
                        "routing_key": .string(routingKey),
                        "event_action": .string("acknowledge"),
                        "dedup_key": .string(dedupKey),
                        "client": .string("obwatch"),
                    ]).webhookBody
            } else if event.status == .resolved {
                body =
                    OrderedJSON.members([
                        "routing_key": .string(routingKey),
                        "event_action": .string("resolve"),
                        "dedup_key": .string(dedupKey),
                        "client": .string("obwatch"),
                    ]).webhookBody
            } else {
                let summary = TextLimits.truncated(
                    Self.pageSummary(event, message),
                    characters: Self.pagerDutySummaryLimit
                )
                let build = { (details: OrderedJSON) -> OrderedJSON in
                    OrderedJSON.members([
                        "routing_key": .string(routingKey),
                        "event_action": .string("trigger"),
                        "dedup_key": .string(dedupKey),
                        "payload": .members([
                            "summary": .string(summary),
                            "source": .string(event.target.name),
                            "severity": .string(event.severity.rawValue),
                            "timestamp": .string(Self.utcTimestamp(event.at)),
                            "component": event.dag.map { .string($0.name) },
                            "group": .string(event.target.name),
                            "class": .string(event.type.rawValue),
                            "custom_details": details,
                        ]),
                        "client": .string("obwatch"),
                    ])
                }
                let full = build(.raw(event.jsonLine())).webhookBody
                if full.count <= Self.pagerDutyBodyLimit {
                    body = full
                } else {
                    // A body over 512 KB is refused; the event then travels as cut text, the page itself intact.
                    let room = Self.pagerDutyBodyLimit - build(.string("")).webhookBody.count
                    body = build(.string(TextLimits.truncated(event.jsonLine(), jsonBytes: max(0, room)))).webhookBody
                }
            }
            return WebhookRequest(
                url: self.url,
                redactedURL: self.redactedURL,
                headers: self.headers(),
                body: body,
                incident: dedupKey
            )
        }
    }

    /// Opsgenie Alert API: one create or close per incident, keyed by alias.
    func opsgenieRequests(_ notification: OutboundNotification, _ message: RenderedMessage) -> [WebhookRequest] {
        let authorization = WebhookHeader(
            name: "Authorization",
            value: "GenieKey " + (self.settings.apiKey?.revealed ?? "")
        )
        return Self.pagingGroups(notification).map { group in
            let event = group.deciding
            let alias = Self.boundedKey(group.key, limit: Self.opsgenieAliasLimit)
            if event.status == .resolved || notification.acknowledgedBy != nil {
                // Closing and acknowledging are the same call on the alias: `close` or `acknowledge`.
                let acknowledgedBy = notification.acknowledgedBy.map {
                    TextLimits.truncated(TextLimits.oneLine($0), characters: 100)
                }
                let body = OrderedJSON.members([
                    "user": acknowledgedBy.map { .string($0) },
                    "source": .string("obwatch"),
                    "note": .string(TextLimits.truncated(TextLimits.oneLine(message.title), characters: 25_000)),
                ])
                let action = acknowledgedBy == nil ? "/close" : "/acknowledge"
                let path = WebhookSigning.percentEncoded(alias) + action
                return WebhookRequest(
                    url: WebhookSigning.appendingPath(path, query: "identifierType=alias", to: self.url),
                    redactedURL: WebhookSigning.appendingPath(
                        path,
                        query: "identifierType=alias",
                        to: self.redactedURL
                    ),
                    headers: self.headers([authorization]),
                    body: body.webhookBody,
                    incident: alias
                )
            }
            let text = TextLimits.truncated(message.text, characters: Self.opsgenieDescriptionLimit)
            let body = OrderedJSON.members([
                "message": .string(
                    TextLimits.truncated(Self.pageSummary(event, message), characters: Self.opsgenieMessageLimit)
                ),
                "alias": .string(alias),
                "description": text.isEmpty ? nil : .string(text),
                "details": self.opsgenieDetails(notification, event),
                "entity": .string(TextLimits.truncated(event.target.name, characters: 512)),
                "source": .string("obwatch"),
                "priority": .string(Self.opsgeniePriority(event.severity)),
                "tags": .array(
                    [event.type.rawValue, event.target.name].map {
                        .string(TextLimits.truncated(TextLimits.oneLine($0), characters: Self.opsgenieTagLimit))
                    }
                ),
            ])
            return WebhookRequest(
                url: self.url,
                redactedURL: self.redactedURL,
                headers: self.headers([authorization]),
                body: body.webhookBody,
                incident: alias
            )
        }
    }

    /// Opsgenie details are string to string; each value is kept short.
    private func opsgenieDetails(_ notification: OutboundNotification, _ event: Event) -> OrderedJSON {
        var pairs: [(String, String?)] = [
            ("event_id", event.id),
            ("type", event.type.rawValue),
            ("status", event.status.rawValue),
            ("severity", event.severity.rawValue),
            ("incident", event.incident),
            ("at", event.at.text),
            ("target", event.target.name),
            ("rule", notification.rule),
            ("rules", notification.rules.joined(separator: ", ")),
            ("notification_id", notification.id),
        ]
        if let dag = event.dag {
            pairs += [("dag", dag.name), ("dag_id", String(dag.dagID)), ("stage", "\(dag.stage)/\(dag.maxStage)")]
        }
        if let node = event.node { pairs.append(("node", node.name)) }
        return .object(
            pairs.compactMap { key, value in
                value.map {
                    OrderedJSON.Member(key, .string(TextLimits.truncated($0, characters: Self.opsgenieDetailLimit)))
                }
            }
        )
    }

    /// P1 for critical, P3 for warning, P5 for info.
    static func opsgeniePriority(_ severity: EventSeverity) -> String {
        switch severity {
        case .critical: "P1"
        case .warning: "P3"
        case .info: "P5"
        }
    }

    /// The instant in RFC 3339 UTC, as PagerDuty wants it, to the millisecond: the agent's nanoseconds are more
    /// than ISO 8601 parsers reliably take.
    static func utcTimestamp(_ time: ObshellTime) -> String {
        let milliseconds = time.nanoseconds / 1_000_000 * 1_000_000
        return ObshellTime(seconds: time.seconds, nanoseconds: milliseconds, utcOffsetSeconds: 0).text
    }
}
