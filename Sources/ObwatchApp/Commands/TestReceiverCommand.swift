import ArgumentParser
import ConfigModel
import Delivery
import Foundation
import Messages
import ObshellModel
import Support
import Tracker

/// `obwatch test-receiver`: one sample notification through one receiver, and what the far end answered.
struct TestReceiverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-receiver",
        abstract: "Send one sample notification through a receiver and print what the far end answered.",
        discussion: """
            Uses the receiver exactly as `run` would (format, signing, templates of the first rule that notifies \
            it, TLS, timeout), once, without retries and without the outbox. The sample is unmistakably a test: \
            its type is `test` (never `failed`), its incident is test/TARGET/..., every title and subject starts \
            with [TEST], and a syslog record says [TEST] and test="true". It carries a failed DAG's facts, so the \
            message looks as a real failure's would. A PagerDuty, Opsgenie or Alertmanager receiver is sent the resolve of the \
            test incident right after its trigger, so that nothing stays open. Exits 0 when the far end took \
            everything, 1 when not.
            """
    )

    @Option(help: "The configuration file (YAML).")
    var config: String

    @Argument(help: "The receiver's name.")
    var name: String

    func run() async throws {
        let (loaded, lines) = RunCommand.checkedConfig(self.config)
        guard let config = loaded else {
            for line in lines { StandardError.write(line) }
            throw ExitCode(1)
        }
        guard let receiver = config.receiver(named: self.name) else {
            let known = config.receivers.map(\.name).joined(separator: ", ")
            StandardError.write("obwatch test-receiver: no receiver named \"\(self.name)\" (known: \(known))")
            throw ExitCode(1)
        }
        let sender = DeliverySenders.make(
            for: receiver,
            templates: MessageTemplates(receiver: receiver, config: config)
        )
        let name = "\(receiver.name) (\(receiver.kindName))"
        let clock = SystemClock()
        for notification in Self.samples(for: receiver, config: config, at: clock.wallNow) {
            let outcome = await sender.deliver(notification, now: clock.wallNow)
            let what =
                notification.status == .resolved ? "the resolve of \(notification.incidents.joined())" : "the test"
            let output: String
            switch outcome {
            case .delivered(let answer):
                output = "\(name): \(what) delivered; the far end answered: \(answer)"
            case .retry(let reason, let after):
                let wait = after.map { " (it asks to wait \($0))" } ?? ""
                output = "\(name): \(what) not delivered, would be retried\(wait): \(reason)"
            case .rejected(let reason):
                output = "\(name): \(what) not delivered, refused for good: \(reason)"
            }
            FileHandle.standardOutput.write(Data((output + "\n").utf8))
            guard case .delivered = outcome else { throw ExitCode(1) }
        }
    }

    /// The notifications `test-receiver` sends at `now`: the test, then, for a paging receiver, its resolve.
    static func samples(for receiver: ReceiverConfig, config: ObwatchConfig, at now: Date) -> [OutboundNotification] {
        let trigger = Self.sample(for: receiver, config: config, at: now)
        guard Self.pages(receiver), var resolve = trigger.events.first else { return [trigger] }
        resolve.status = .resolved
        resolve.id += "-resolved"
        resolve.summary = "[TEST] The test incident of obwatch test-receiver is resolved; nothing failed"
        return [trigger, trigger.with(events: [resolve])]
    }

    /// Whether the receiver opens incidents that stay open until resolved: PagerDuty, Opsgenie and Alertmanager.
    static func pages(_ receiver: ReceiverConfig) -> Bool {
        if case .alertmanager = receiver.kind { return true }
        guard case .webhook(let settings) = receiver.kind else { return false }
        return settings.format == .pagerduty || settings.format == .opsgenie
    }

    /// A `test` event at `now` on the first target (the facts of a failed sample DAG), through the first rule that
    /// notifies the receiver; its incident is `test/TARGET/` and a random suffix, so that two tests never share one.
    static func sample(for receiver: ReceiverConfig, config: ObwatchConfig, at now: Date) -> OutboundNotification {
        var event =
            TemplateRenderer.sampleEvents([.test]).first
            ?? Event(
                id: "sample",
                type: .test,
                at: ObshellTime(date: now),
                target: TargetIdentity(name: "sample"),
                summary: "sample"
            )
        if let target = config.targets.first {
            event.target = Event.TargetInfo(target.identity)
        }
        let suffix = UUID().uuidString.lowercased()
        event.at = ObshellTime(date: now)
        event.id = "test-receiver-\(suffix)"
        event.incident = "test/\(event.target.name)/\(suffix.prefix(8))"
        event.summary = "[TEST] obwatch test-receiver: a test notification for \(receiver.name); nothing failed"
        let rule = config.rules.first { $0.receivers.contains(receiver.name) }?.name ?? "test-receiver"
        return OutboundNotification(receiver: receiver.name, rule: rule, events: [event])
    }
}
