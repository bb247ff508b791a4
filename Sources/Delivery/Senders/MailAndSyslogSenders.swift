package import ConfigModel
import Curl
package import Foundation
package import Messages
import Synchronization

/// `email:`: one mail per notification through the relay, threaded by incident.
package struct EmailNotificationSender: NotificationSender {
    private let settings: EmailSettings
    private let templates: MessageTemplates
    private let sender: MailSender
    private let hostname: String

    /// Makes a sender.
    /// - Parameters:
    ///   - settings: The relay and addresses.
    ///   - templates: The receiver's templates.
    ///   - timeout: How long one SMTP session may take.
    ///   - hostname: The host part of Message-IDs.
    package init(settings: EmailSettings, templates: MessageTemplates, timeout: Duration, hostname: String) {
        self.settings = settings
        self.templates = templates
        self.sender = MailSender(settings: settings, timeout: timeout)
        self.hostname = hostname
    }

    package func deliver(_ notification: OutboundNotification, now: Date) async -> DeliveryOutcome {
        let message = MailMessage.build(
            notification: notification,
            message: self.templates.render(notification),
            settings: self.settings,
            hostname: self.hostname,
            now: now
        )
        do {
            let response = try await self.sender.send(message)
            return .delivered(answer: "SMTP \(response.replyCode)")
        } catch {
            return error.retryable
                ? .retry(reason: error.description, after: nil) : .rejected(reason: error.description)
        }
    }
}

/// `syslog:`: one record per event, an audit trail. A notification partly sent when the daemon went away resumes
/// after its last sent event, so a retry does not repeat records.
package struct SyslogNotificationSender: NotificationSender {
    private let settings: SyslogSettings
    private let templates: MessageTemplates
    private let sender: SyslogSender
    private let hostname: String
    private let timeZone: TimeZone
    private let progress: SyslogProgress

    /// Makes a sender.
    /// - Parameters:
    ///   - settings: Where and how.
    ///   - templates: The receiver's templates (the text of each record).
    ///   - timeout: How long one send may take.
    ///   - hostname: HOSTNAME of the records.
    ///   - timeZone: The zone of RFC 3164 timestamps (which carry none).
    ///   - progress: The sequence numbers to continue, from ``SyslogProgressBook`` when the sender replaces an
    ///     earlier one of the same receiver (a reload); a new count from 1 by default.
    package init(
        settings: SyslogSettings,
        templates: MessageTemplates,
        timeout: Duration,
        hostname: String,
        timeZone: TimeZone,
        progress: SyslogProgress = SyslogProgress()
    ) {
        self.settings = settings
        self.templates = templates
        self.sender = SyslogSender(settings: settings, timeout: timeout)
        self.hostname = hostname
        self.timeZone = timeZone
        self.progress = progress
    }

    package func deliver(_ notification: OutboundNotification, now: Date) async -> DeliveryOutcome {
        let alreadySent = self.progress.state.withLock { $0.sentByNotification[notification.id] ?? 0 }
        for (index, event) in notification.events.enumerated() where index >= alreadySent {
            let single = notification.with(events: [event])
            let text = self.templates.render(single).text
            let sequence = self.progress.state.withLock { state -> UInt64 in
                state.sequence += 1
                return state.sequence
            }
            let record = SyslogMessage.format(
                event: event,
                notification: notification,
                text: text,
                settings: self.settings,
                hostname: self.hostname,
                processID: getpid(),
                sequence: sequence,
                timeZone: self.timeZone
            )
            do {
                try await self.sender.send(record)
            } catch {
                return error.retryable
                    ? .retry(reason: error.description, after: nil) : .rejected(reason: error.description)
            }
            self.progress.state.withLock { $0.sentByNotification[notification.id] = index + 1 }
        }
        self.progress.state.withLock { _ = $0.sentByNotification.removeValue(forKey: notification.id) }
        return .delivered(answer: "\(notification.events.count - alreadySent) record(s) to \(self.settings.address)")
    }
}

/// The RFC 5424 sequence numbers of a syslog receiver, and how far each partly sent notification got.
package final class SyslogProgress: Sendable {
    let state = Mutex<(sequence: UInt64, sentByNotification: [String: Int])>((0, [:]))

    /// A count that starts at 1.
    package init() {}
}

/// Every syslog receiver's ``SyslogProgress`` by name, kept for the life of the process: a reload makes new senders,
/// and a collector that watches `sequenceId` for gaps must not see the count start again at 1.
package final class SyslogProgressBook: Sendable {
    private let entries = Mutex<[String: SyslogProgress]>([:])

    /// An empty book.
    package init() {}

    /// The progress of receiver `name`, the same object every time it is asked.
    package func progress(for name: String) -> SyslogProgress {
        self.entries.withLock { entries in
            if let known = entries[name] { return known }
            let progress = SyslogProgress()
            entries[name] = progress
            return progress
        }
    }
}

/// The sender of each kind of receiver: the one place Delivery names every ``ReceiverConfig/Kind``.
package enum DeliverySenders {
    /// What delivers for `receiver`.
    /// - Parameters:
    ///   - receiver: The receiver.
    ///   - templates: The receiver's compiled templates; their time zone is also the one of RFC 3164 syslog
    ///     timestamps.
    ///   - hostname: This machine's name, for Message-IDs and syslog records.
    ///   - console: Where `console:` lines go.
    ///   - syslogProgress: Where syslog receivers keep their sequence numbers across senders (the daemon's reloads);
    ///     without one, each sender counts from 1.
    ///   - alertmanagerBooks: Where `alertmanager:` receivers keep their open alerts and re-post them (the daemon's);
    ///     without one, a sender keeps them in memory and never re-posts (`test-receiver`, the demo).
    package static func make(
        for receiver: ReceiverConfig,
        templates: MessageTemplates,
        hostname: String = ProcessInfo.processInfo.hostName,
        console: @escaping @Sendable (String) -> Void = { ConsoleSender.standardOutput($0) },
        syslogProgress: SyslogProgressBook? = nil,
        alertmanagerBooks: AlertmanagerBooks? = nil
    ) -> any NotificationSender {
        let timeout = receiver.delivery.timeout
        switch receiver.kind {
        case .webhook(let settings):
            return WebhookSender(settings: settings, templates: templates, timeout: timeout)
        case .email(let settings):
            return EmailNotificationSender(
                settings: settings,
                templates: templates,
                timeout: timeout,
                hostname: hostname
            )
        case .syslog(let settings):
            return SyslogNotificationSender(
                settings: settings,
                templates: templates,
                timeout: timeout,
                hostname: hostname,
                timeZone: templates.timeZone,
                progress: syslogProgress?.progress(for: receiver.name) ?? SyslogProgress()
            )
        case .file(let settings):
            return FileSender(settings: settings, templates: templates)
        case .console:
            return ConsoleSender(templates: templates, write: console)
        case .alertmanager(let settings):
            return AlertmanagerSender(
                settings: settings,
                templates: templates,
                timeout: timeout,
                book: alertmanagerBooks?.book(for: receiver.name, settings: settings, timeout: timeout)
                    ?? AlertmanagerBook(file: nil)
            )
        }
    }
}
