import ConfigModel
import Delivery
import Foundation
import Logging
import Synchronization

/// Where operator actions (silences created or expired, acknowledgements) are recorded: the daemon's log at notice,
/// and every syslog receiver of the configuration in force, directly (not through the outbox: an audit record is
/// not an event, and no rule routes it). A syslog receiver that cannot take it is logged, not retried.
final class AuditTrail: Sendable {
    private let receivers = Mutex<[(name: String, settings: SyslogSettings, timeout: Duration)]>([])
    private let logger: Logger
    private let hostname: String

    /// - Parameters:
    ///   - logger: The daemon's log.
    ///   - hostname: This machine's name, for the records.
    init(logger: Logger, hostname: String = ProcessInfo.processInfo.hostName) {
        self.logger = logger
        self.hostname = hostname
    }

    /// Takes the syslog receivers of the configuration now in force (at each start and reload).
    func use(_ receivers: [ReceiverConfig]) {
        let syslog = receivers.compactMap { receiver -> (String, SyslogSettings, Duration)? in
            guard case .syslog(let settings) = receiver.kind else { return nil }
            return (receiver.name, settings, receiver.delivery.timeout)
        }
        self.receivers.withLock { $0 = syslog }
    }

    /// Logs the record and sends it to every syslog receiver; returns once each took it or failed.
    func record(_ record: AuditRecord) async {
        var metadata: Logger.Metadata = ["audit": "\(record.action)"]
        for field in record.fields { metadata[field.name] = "\(field.value)" }
        self.logger.notice("\(record.text)", metadata: metadata)
        for receiver in self.receivers.withLock({ $0 }) {
            let sender = SyslogSender(settings: receiver.settings, timeout: receiver.timeout)
            let message = SyslogMessage.audit(
                record,
                settings: receiver.settings,
                hostname: self.hostname,
                processID: getpid()
            )
            do {
                try await sender.send(message)
            } catch {
                self.logger.error(
                    "the audit record did not reach syslog receiver \(receiver.name)",
                    metadata: ["audit": "\(record.action)", "error": "\(error)"]
                )
            }
            await sender.close()
        }
    }
}
