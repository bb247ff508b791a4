import ConfigModel
import Foundation
import Messages
import ObshellModel
import Testing
import Tracker

@Suite struct TemplateRenderingTests {
    @Test func samplesCoverEveryEventType() {
        let samples = TemplateRenderer.sampleEvents()
        #expect(samples.map(\.type) == EventType.allCases)
        #expect(samples.first?.at.text == "2024-01-10T11:34:32.520371417+08:00")
    }

    @Test(arguments: TemplateDefaults.formatNames)
    func everyDefaultRendersEverySample(format: String) throws {
        let renderer = try TemplateRenderer(format: format, timeZone: TemplateTestSupport.shanghai)
        for event in TemplateRenderer.sampleEvents() {
            let message = renderer.render(receiver: "db-chat", rule: "to-chat", events: [event])
            #expect(!message.title.isEmpty, "\(format) \(event.type)")
            #expect(!message.title.contains("\n") && !message.title.contains("\r"))
            #expect(message.title.contains("[\(event.status.rawValue.uppercased())]"), "\(message.title)")
            #expect(message.text.contains(event.target.name), "\(format) \(event.type): \(message.text)")
            #expect(message.text.contains("2024-01-10 11:34:32 +08:00"))
            #expect(!message.text.contains("{{"))
            #expect((message.html != nil) == (format == "email"))
        }
    }

    @Test func defaultPlainTextNamesEverythingAboutAFailure() throws {
        let renderer = try TemplateRenderer(format: "generic", timeZone: TemplateTestSupport.shanghai)
        let message = renderer.render(
            receiver: "db-chat",
            rule: "r",
            events: [try TemplateTestSupport.sample(.nodeFailed)]
        )
        #expect(message.title == "[FIRING] Cluster scale out: node Wait remote deploy finish failed on prod-east")
        let expected = """
            Cluster scale out: node Wait remote deploy finish failed on prod-east
            Cluster scale out: node Wait remote deploy finish failed at stage 4/9 on prod-east
            Target: prod-east (http://10.0.0.5:2886)
            DAG: Cluster scale out (id 11), stage 4/9, RUNNING/RUN
            Node: Wait remote deploy finish (FAILED/RUN)
            Sub-task: Wait remote deploy finish (id 14, FAILED, ran 1x on 10.10.10.1:2886): \
            [2024-01-10T11:34:31.8+08:00] wait remote deploy timeout: agent 10.10.10.2:2886 did not answer
            At: 2024-01-10 11:34:32 +08:00
            """
        #expect(message.text == expected)
    }

    @Test func titleOfAFailureAndAStall() throws {
        let renderer = try TemplateRenderer(format: "slack", timeZone: TemplateTestSupport.shanghai)
        let failed = renderer.render(receiver: "c", rule: "r", events: [try TemplateTestSupport.sample(.failed)])
        #expect(failed.title == "[FIRING] Cluster scale out failed on prod-east")
        let stalled = renderer.render(receiver: "c", rule: "r", events: [try TemplateTestSupport.sample(.stalled)])
        #expect(stalled.title == "[FIRING] Cluster scale out stalled for 31m on prod-east")
        #expect(stalled.text.contains("31m (threshold 30m)"))
    }

    @Test func aBatchNamesEveryEventAndKeepsFieldsApart() throws {
        let events = [
            try TemplateTestSupport.sample(.targetDown), try TemplateTestSupport.sample(.failed),
            try TemplateTestSupport.sample(.succeeded),
        ]
        let renderer = try TemplateRenderer(format: "email", timeZone: TemplateTestSupport.shanghai)
        let message = renderer.render(receiver: "mail", rule: "r", events: events)
        #expect(message.title == "[FIRING] prod-east is down (3 events: target down, DAG failed, DAG succeeded)")
        #expect(message.text.contains("Cluster scale out failed on prod-east"))
        #expect(message.text.contains("Cluster scale out succeeded on prod-east"))
        // Only the first event has an error: Mustache must not find it again from inside the others.
        #expect(message.text.components(separatedBy: "Error:").count == 2)
        #expect(message.text.contains("\n\nCluster scale out failed on prod-east\n"))
    }

    @Test(
        "a node_failed that travels with its DAG's failed is shown once, by the failed",
        arguments: TemplateDefaults.formatNames
    )
    func aFailureIsOneMessage(format: String) throws {
        let renderer = try TemplateRenderer(format: format, timeZone: TemplateTestSupport.shanghai)
        let events = [try TemplateTestSupport.sample(.nodeFailed), try TemplateTestSupport.sample(.failed)]
        let message = renderer.render(receiver: "db-chat", rule: "failures-to-chat", events: events)
        #expect(
            message.title
                == "[FIRING] Cluster scale out failed on prod-east (2 events: node failed, DAG failed)"
        )
        // The failed node, its sub-task, the agent and the last log line, each once.
        let log = "wait remote deploy timeout"
        #expect(message.text.components(separatedBy: log).count == 2, "\(format): \(message.text)")
        #expect(message.text.components(separatedBy: "10.10.10.1:2886").count == 2)
        #expect(message.text.components(separatedBy: "At:").count == 2)
        #expect(!message.text.contains("more"))
        #expect(!message.text.contains("node Wait remote deploy finish failed"))
    }

    @Test func eventsOfOtherIncidentsAreNotMerged() throws {
        var otherNode = try TemplateTestSupport.sample(.nodeFailed)
        otherNode.incident = "prod-east/12/failed"
        let failed = try TemplateTestSupport.sample(.failed)
        let nodeFailed = try TemplateTestSupport.sample(.nodeFailed)
        #expect(TemplateContext.merged([nodeFailed, failed]).map(\.id) == [failed.id])
        #expect(TemplateContext.merged([otherNode, failed]).map(\.id) == [otherNode.id, failed.id])
        #expect(TemplateContext.merged([nodeFailed]).map(\.id) == [nodeFailed.id])
        let context = TemplateContext(receiver: "c", rule: "r", events: [nodeFailed, failed])
        #expect(context[path: "type"] == "failed")
        #expect(context[path: "count"] == "2")
        #expect(context[path: "kinds"] == "node failed, DAG failed")
        #expect(context[path: "kind"] == "DAG failed")
        let advances = Array(repeating: try TemplateTestSupport.sample(.stageAdvanced), count: 3)
        #expect(
            TemplateContext.kinds([try TemplateTestSupport.sample(.started)] + advances)
                == "DAG started, stage advanced ×3"
        )
    }

    @Test func contextOffersTheHelpers() throws {
        let stalled = TemplateContext(
            event: try TemplateTestSupport.sample(.stalled),
            timeZone: TimeZone(secondsFromGMT: 0) ?? .current
        )
        #expect(stalled[path: "stalled_for"] == "31m")
        #expect(stalled[path: "stalled_seconds"] == "1860")
        #expect(stalled[path: "progress"] == "5/9")
        #expect(stalled[path: "at_local"] == "2024-01-10 03:34:32 +00:00")
        #expect(stalled[path: "at"] == "2024-01-10T11:34:32.520371417+08:00")
        #expect(stalled[path: "target.labels.env"] == "prod")
        #expect(stalled[path: "dag.dag_id"] == "1")
        #expect(stalled[path: "error"] == nil)
        #expect(stalled[path: "dag"] == nil)
        let batch = TemplateContext(
            receiver: "db-chat",
            rule: "r",
            events: TemplateRenderer.sampleEvents(),
            timeZone: TemplateTestSupport.shanghai
        )
        #expect(batch[path: "count"] == "19")
        #expect(batch[path: "more"] == "18")
        #expect(batch[path: "receiver"] == "db-chat")
        #expect(batch[path: "type"] == "started")
        #expect(batch[path: "observed_mid_run"] == "false")
    }

    @Test func overridesReplaceTheDefaults() throws {
        let overrides = TemplateOverrides(
            title: TemplateTestSupport.source("{{dag.name}} {{type}}"),
            text: TemplateTestSupport.source("{{#events}}{{rule}}:{{index()}}:{{type}};{{/events}} {{count}}")
        )
        let renderer = try TemplateRenderer(format: "dingtalk", overrides: overrides)
        let events = [try TemplateTestSupport.sample(.failed), try TemplateTestSupport.sample(.cancelled)]
        let message = renderer.render(receiver: "c", rule: "audit", events: events)
        #expect(message.title == "Cluster scale out failed")
        #expect(message.text == "audit:0:failed;audit:1:cancelled; 2")
    }

    @Test func rulesListsEveryRuleThatRoutedTheNotification() throws {
        let overrides = TemplateOverrides(
            title: TemplateTestSupport.source("{{rule}}"),
            text: TemplateTestSupport.source("{{#rules}}{{^first()}}, {{/first()}}{{.}}{{/rules}}")
        )
        #expect(TemplateChecker.check(overrides).isEmpty)
        let renderer = try TemplateRenderer(format: "dingtalk", overrides: overrides)
        let events = [try TemplateTestSupport.sample(.failed)]
        let both = renderer.render(receiver: "c", rule: "page", rules: ["page", "audit"], events: events)
        #expect(both.title == "page")
        #expect(both.text == "page, audit")
        // Without rules (a caller from before they existed), the rule alone.
        #expect(renderer.render(receiver: "c", rule: "page", events: events).text == "page")
    }

    @Test func anEmptyTitleFallsBackToTheSummary() throws {
        let overrides = TemplateOverrides(title: TemplateTestSupport.source("{{error}}"))
        let renderer = try TemplateRenderer(format: "pagerduty", overrides: overrides)
        let event = try TemplateTestSupport.sample(.failed)
        #expect(renderer.render(receiver: "p", rule: "r", events: [event]).title == event.summary)
    }

    @Test func badTemplatesAndFormatsAreRefused() throws {
        let overrides = TemplateOverrides(text: TemplateTestSupport.source("{{#events}}", line: 7, column: 13))
        let error = try #require(throws: TemplateError.self) {
            try TemplateRenderer(format: "slack", overrides: overrides)
        }
        #expect(error.code == .invalidTemplate)
        #expect(error.mark == SourcePosition(file: "rules.yaml", line: 7, column: 13))
        #expect(error.description == "rules.yaml:7:13: error: unclosed section \"events\": no {{/events}}")
        let unknown = try #require(throws: TemplateError.self) { try TemplateRenderer(format: "telegram") }
        #expect(unknown.code == .unknownFormat)
    }
}
