package import Foundation
package import Messages
package import ObshellModel
package import Support
package import Tracker

/// One alert as Alertmanager's `POST /api/v2/alerts` takes it, and as obwatch keeps it while it is open.
package struct AlertmanagerAlert: Sendable, Hashable, Codable {
    /// The identity: Alertmanager merges posts with equal label sets into one alert.
    package var labels: [String: String]
    /// The facts shown with the alert.
    package var annotations: [String: String]
    /// When the incident started, RFC 3339 in UTC.
    package var startsAt: String
    /// When it ended (RFC 3339 in UTC); `nil` while it is open, so that Alertmanager keeps it active until its
    /// `resolve_timeout` passes without a post.
    package var endsAt: String?
    /// A link back to obwatch, when configured.
    package var generatorURL: String?
    /// `startsAt` in seconds since 1970, so that an end is never put before the start.
    package var startsAtEpoch: Double

    /// Makes an alert.
    package init(
        labels: [String: String],
        annotations: [String: String],
        startsAt: String,
        endsAt: String? = nil,
        generatorURL: String? = nil,
        startsAtEpoch: Double
    ) {
        self.labels = labels
        self.annotations = annotations
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.generatorURL = generatorURL
        self.startsAtEpoch = startsAtEpoch
    }

    /// The alert as Alertmanager reads it, labels and annotations in key order.
    package var json: OrderedJSON {
        OrderedJSON.members([
            "labels": Self.sortedObject(self.labels),
            "annotations": Self.sortedObject(self.annotations),
            "startsAt": .string(self.startsAt),
            "endsAt": self.endsAt.map { .string($0) },
            "generatorURL": self.generatorURL.map { .string($0) },
        ])
    }

    /// The same alert, ended at `time` (never before its start).
    package func ended(at time: ObshellTime) -> AlertmanagerAlert {
        var ended = self
        ended.endsAt =
            time.date.timeIntervalSince1970 >= self.startsAtEpoch
            ? WebhookFormatter.utcTimestamp(time) : self.startsAt
        return ended
    }

    private static func sortedObject(_ values: [String: String]) -> OrderedJSON {
        .object(values.keys.sorted().compactMap { key in values[key].map { OrderedJSON.Member(key, .string($0)) } })
    }
}

/// How obwatch's events become Alertmanager alerts (README "Alertmanager"). Pure: no network, no clock.
///
/// Identity: an event that opens an incident gives the alert `alertname="obwatch_<type>"` with the labels `event`,
/// `severity`, `target`, `dag`, `dag_id`, `incident` and the target's labels. The resolving event does not build its
/// own labels (its type and severity differ): it ends the alerts that its incident opened, with their labels as they
/// were posted, so Alertmanager sees the same label set resolve. Events of no incident (`started`,
/// `stage_advanced`, ...) are posted once with an `event_id` label and no end, and fade after Alertmanager's
/// `resolve_timeout`.
package enum AlertmanagerAlerts {
    /// The labels obwatch sets itself; a target label of the same name becomes `exported_<name>`.
    package static let fixedLabels: Set<String> = [
        "alertname", "event", "severity", "target", "dag", "dag_id", "incident", "event_id",
    ]
    /// The longest annotation value; the last log and description are cut (with "…") to it.
    static let annotationLimit = 4_000
    /// The longest label value.
    static let labelValueLimit = 1_000

    /// The alert an opening or informational event posts.
    /// - Parameters:
    ///   - event: The event.
    ///   - message: Its rendered plain-text message (the `description` annotation).
    ///   - generatorURL: The configured link, if any.
    package static func alert(for event: Event, message: RenderedMessage, generatorURL: String?) -> AlertmanagerAlert {
        AlertmanagerAlert(
            labels: Self.labels(for: event),
            annotations: Self.annotations(for: event, message: message),
            startsAt: WebhookFormatter.utcTimestamp(event.at),
            generatorURL: generatorURL,
            startsAtEpoch: event.at.date.timeIntervalSince1970
        )
    }

    /// The label set of an event's alert.
    package static func labels(for event: Event) -> [String: String] {
        var labels: [String: String] = [:]
        // Target labels first, renamed to Alertmanager's rules; the fixed ones are set after and always win.
        for key in event.target.labels.keys.sorted() {
            guard let value = event.target.labels[key], !value.isEmpty else { continue }
            var name = Self.labelName(key)
            if Self.fixedLabels.contains(name) || name.hasPrefix("__") { name = "exported_" + name }
            // Two keys that clean up to the same name: the first in key order keeps it.
            if labels[name] == nil { labels[name] = Self.labelValue(value) }
        }
        let fixed: [(String, String?)] = [
            ("alertname", "obwatch_" + event.type.rawValue),
            ("event", event.type.rawValue),
            ("severity", event.severity.rawValue),
            ("target", event.target.name),
            ("dag", event.dag?.name),
            ("dag_id", event.dag?.id),
            ("incident", event.incident),
            ("event_id", event.incident == nil ? event.id : nil),
        ]
        for (name, value) in fixed {
            if let value, !value.isEmpty {
                labels[name] = Self.labelValue(value)
            } else {
                labels.removeValue(forKey: name)
            }
        }
        return labels
    }

    /// A label name Alertmanager accepts (`[a-zA-Z_][a-zA-Z0-9_]*`): every other character becomes `_`, and a name
    /// that starts with a digit (or is empty) gains a leading `_`.
    package static func labelName(_ key: String) -> String {
        var name = String(
            key.unicodeScalars.map { scalar -> Character in
                switch scalar {
                case "a"..."z", "A"..."Z", "0"..."9", "_": Character(scalar)
                default: "_"
                }
            }
        )
        if name.isEmpty || name.first?.isNumber == true { name = "_" + name }
        return name
    }

    /// A label value on one line and not too long: a label is an identity, not a place for text.
    static func labelValue(_ value: String) -> String {
        TextLimits.truncated(TextLimits.oneLine(value), characters: Self.labelValueLimit)
    }

    /// `summary`, `description`, `node`, `last_log`, `stage`, `state`, `error`, `event_id`, `at`, `threshold`.
    static func annotations(for event: Event, message: RenderedMessage) -> [String: String] {
        var annotations: [String: String] = [:]
        let summary = TextLimits.oneLine(event.summary).trimmingCharacters(in: .whitespaces)
        annotations["summary"] = TextLimits.truncated(
            summary.isEmpty ? TextLimits.oneLine(message.title) : summary,
            characters: 1_000
        )
        let description = message.text.trimmingCharacters(in: .whitespacesAndNewlines)
        if !description.isEmpty {
            annotations["description"] = TextLimits.truncated(description, characters: Self.annotationLimit)
        }
        if let node = event.node { annotations["node"] = TextLimits.truncated(node.name, characters: 1_000) }
        // The first failed sub-task's last log line: byte-exact in the event, made one line here (JSON escapes it
        // anyway; Alertmanager's pages show it as text).
        if let lastLog = event.subTasks?.lazy.compactMap(\.lastLog).first(where: { !$0.isEmpty }) {
            annotations["last_log"] = TextLimits.truncated(
                TextLimits.oneLine(lastLog),
                characters: Self.annotationLimit
            )
        }
        if let dag = event.dag {
            annotations["stage"] = "\(dag.stage)/\(dag.maxStage)"
            annotations["state"] = dag.state
        }
        if let error = event.error {
            annotations["error"] = TextLimits.truncated(TextLimits.oneLine(error), characters: 1_000)
        }
        if let threshold = event.threshold { annotations["threshold"] = threshold }
        annotations["event_id"] = event.id
        annotations["at"] = event.at.text
        return annotations
    }

    /// The body of one post: a JSON array of alerts.
    package static func body(_ alerts: [AlertmanagerAlert]) -> Data {
        OrderedJSON.array(alerts.map(\.json)).webhookBody
    }

    /// Alerts as `GET /api/v2/alerts` lists them, for ending alerts this process did not post (lost state, another
    /// replica); unreadable entries are skipped.
    package static func decodeListed(_ data: Data) -> [AlertmanagerAlert]? {
        guard let list = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else { return nil }
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        return list.compactMap { entry -> AlertmanagerAlert? in
            guard let labels = entry["labels"] as? [String: String], let startsAt = entry["startsAt"] as? String
            else { return nil }
            let start = parser.date(from: startsAt) ?? plain.date(from: startsAt)
            return AlertmanagerAlert(
                labels: labels,
                annotations: entry["annotations"] as? [String: String] ?? [:],
                startsAt: startsAt,
                generatorURL: (entry["generatorURL"] as? String).flatMap { $0.isEmpty ? nil : $0 },
                startsAtEpoch: start?.timeIntervalSince1970 ?? 0
            )
        }
    }
}
