import ConfigModel
import Delivery
import Foundation
import Messages
import ObshellModel
import Testing
import Tracker

/// Sample events, notifications and decoding helpers for the format tests.
enum FormatSamples {
    static let at = ObshellTime("2024-01-10T11:34:32.520371417+08:00") ?? ObshellTime(seconds: 0, nanoseconds: 0)
    static let target = TargetIdentity(name: "prod-east", url: "http://10.0.0.5:2886", labels: ["env": "prod"])

    static func dag(name: String = "Cluster scale out", id: Int64 = 11) -> Event.DagInfo {
        Event.DagInfo(
            id: String(id),
            dagID: id,
            name: name,
            stage: 4,
            maxStage: 9,
            state: "FAILED",
            operator: "RUN"
        )
    }

    static func failed(
        dagName: String = "Cluster scale out",
        dagID: Int64 = 11,
        lastLog: String? = "deploy timed out"
    )
        -> Event
    {
        Event(
            id: "ev-failed-\(dagID)",
            type: .failed,
            incident: "prod-east/\(dagID)/failed",
            at: Self.at,
            target: Self.target,
            dag: Self.dag(name: dagName, id: dagID),
            node: Event.NodeInfo(
                id: "14",
                nodeID: 4,
                name: "Wait remote deploy finish",
                state: "FAILED",
                operator: "RUN"
            ),
            subTasks: [
                Event.SubTaskInfo(
                    id: "14",
                    name: "Wait remote deploy finish",
                    state: "FAILED",
                    executeTimes: 1,
                    lastLog: lastLog
                )
            ],
            summary: "\(dagName) failed at stage 4/9 (Wait remote deploy finish) on prod-east"
        )
    }

    /// The `node_failed` that comes with ``failed(dagName:dagID:lastLog:)``: the same node, sub-task and incident.
    static func nodeFailed(dagID: Int64 = 11, lastLog: String? = "deploy timed out") -> Event {
        var event = Self.failed(dagID: dagID, lastLog: lastLog)
        event.id = "ev-node-failed-\(dagID)"
        event.type = .nodeFailed
        event.dag?.state = "RUNNING"
        event.summary = "Node Wait remote deploy finish of Cluster scale out failed at stage 4/9 on prod-east"
        return event
    }

    static func retried(dagID: Int64 = 11) -> Event {
        Event(
            id: "ev-retried-\(dagID)",
            type: .retried,
            incident: "prod-east/\(dagID)/failed",
            at: Self.at,
            target: Self.target,
            dag: Self.dag(id: dagID),
            summary: "Cluster scale out runs again on prod-east"
        )
    }

    static func stalled(dagID: Int64 = 12) -> Event {
        Event(
            id: "ev-stalled-\(dagID)",
            type: .stalled,
            incident: "prod-east/\(dagID)/stalled",
            at: Self.at,
            target: Self.target,
            dag: Self.dag(id: dagID),
            stalledSeconds: 1800,
            threshold: "30m",
            summary: "Cluster scale out made no progress for 30m on prod-east"
        )
    }

    static func started() -> Event {
        Event(
            id: "ev-started-13",
            type: .started,
            at: Self.at,
            target: Self.target,
            dag: Self.dag(id: 13),
            observedMidRun: false,
            summary: "Cluster scale out started on prod-east"
        )
    }

    static func notification(_ events: [Event]) -> OutboundNotification {
        OutboundNotification(receiver: "db-chat", rule: "failures", events: events)
    }

    static let message = RenderedMessage(title: "Cluster scale out failed", text: "stage 4/9\nnode: Wait remote deploy")

    static func formatter(
        _ format: WebhookFormat,
        url: String = "https://hooks.example.com/hook?token=abc",
        signingSecret: String? = nil,
        mentions: [String] = [],
        headers: [String: Secret] = [:]
    ) -> WebhookFormatter {
        WebhookFormatter(
            settings: WebhookSettings(
                format: format,
                url: Secret(url),
                redactedURL: "https://hooks.example.com/hook?<redacted>",
                signingSecret: signingSecret.map(Secret.init),
                routingKey: Secret("R0UTINGKEY0123456789abcdef012345"),
                apiKey: Secret("genie-key-1"),
                headers: headers,
                mentions: mentions
            )
        )
    }

    static let now = Date(timeIntervalSince1970: 1_720_063_700)
}

/// Decodes a body into a JSON object, failing the test when it is not one.
func decodeObject(_ data: Data, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
    let value = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    return try #require(value as? [String: Any], sourceLocation: sourceLocation)
}

/// A member of a JSON object by key path, e.g. `["card", "header", "template"]`.
func value(_ object: [String: Any], _ path: [String]) -> Any? {
    var current: Any? = object
    for key in path {
        current = (current as? [String: Any])?[key]
    }
    return current
}

/// The query parameters of a URL.
func queryItems(_ url: String) -> [String: String] {
    guard let query = url.split(separator: "?", maxSplits: 1).dropFirst().first else { return [:] }
    var items: [String: String] = [:]
    for pair in query.split(separator: "&") {
        let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
        items[parts[0]] = parts.count > 1 ? parts[1] : ""
    }
    return items
}
