import ArgumentParser
import Delivery
import Foundation
import Obshell
import Rules
import Tracker

/// `obwatch test-receiver`: one sample notification through one receiver, and what the far end answered.
struct TestReceiverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-receiver",
        abstract: "Send one sample notification through a receiver and print what the far end answered.",
        discussion: """
            Uses the receiver exactly as `run` would (format, signing, templates of the first rule that notifies \\
            it, TLS, timeout), once, without retries and without the outbox. The sample is a `failed` event of a \\
            made-up DAG on the first configured target. Exits 0 when the far end took it, 1 when not.
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
        let notification = Self.sample(for: receiver, config: config)
        let sender = DeliverySenders.make(for: receiver, config: config)
        let outcome = await sender.deliver(notification, now: Date())
        let output: String
        switch outcome {
        case .delivered(let answer):
            output = "\(receiver.name) (\(receiver.kindName)): delivered; the far end answered: \(answer)"
        case .retry(let reason, let after):
            let wait = after.map { " (it asks to wait \($0))" } ?? ""
            output = "\(receiver.name) (\(receiver.kindName)): not delivered, would be retried\(wait): \(reason)"
        case .rejected(let reason):
            output = "\(receiver.name) (\(receiver.kindName)): not delivered, refused for good: \(reason)"
        }
        FileHandle.standardOutput.write(Data((output + "\n").utf8))
        if case .delivered = outcome { return }
        throw ExitCode(1)
    }

    /// A `failed` event of a sample DAG on the first target, through the first rule that notifies the receiver.
    static func sample(for receiver: ReceiverConfig, config: ObwatchConfig) -> OutboundNotification {
        var event =
            TemplateRenderer.sampleEvents().first { $0.type == .failed }
            ?? Event(
                id: "sample",
                type: .failed,
                at: ObshellTime(date: Date()),
                target: TargetIdentity(name: "sample"),
                summary: "sample"
            )
        if let target = config.targets.first {
            event.target = Event.TargetInfo(target.identity)
        }
        event.at = ObshellTime(date: Date())
        event.id = "test-receiver-\(UUID().uuidString.lowercased())"
        event.summary = "obwatch test-receiver: a sample notification for \(receiver.name); nothing failed"
        let rule = config.rules.first { $0.receivers.contains(receiver.name) }?.name ?? "test-receiver"
        return OutboundNotification(receiver: receiver.name, rule: rule, events: [event])
    }
}
