package import ConfigModel
package import Foundation
package import Messages
import ObshellModel
import Synchronization
import Tracker

/// `file:`: appends each notification as one `obwatch.notification/v1` line to a local file, synced to disk.
package struct FileSender: NotificationSender {
    private let path: String
    private let templates: MessageTemplates

    /// Makes a sender.
    package init(settings: FileSettings, templates: MessageTemplates) {
        self.path = settings.path
        self.templates = templates
    }

    package func deliver(_ notification: OutboundNotification, now: Date) async -> DeliveryOutcome {
        var line = WebhookFormatter.genericBody(notification, self.templates.render(notification))
        line.append(UInt8(ascii: "\n"))
        let descriptor = open(self.path, O_WRONLY | O_APPEND | O_CREAT, 0o640)
        guard descriptor >= 0 else {
            return .retry(reason: "cannot open \(self.path): \(String(cString: strerror(errno)))", after: nil)
        }
        defer { close(descriptor) }
        // One write call per line: appends from two obwatch processes never interleave inside a line.
        let written = line.withUnsafeBytes { buffer in
            buffer.baseAddress.map { Foundation.write(descriptor, $0, buffer.count) } ?? -1
        }
        guard written == line.count, fsync(descriptor) == 0 else {
            return .retry(reason: "cannot write \(self.path): \(String(cString: strerror(errno)))", after: nil)
        }
        return .delivered(answer: "appended to \(self.path)")
    }
}

/// `console:`: one readable line per notification on standard output, for the demo and a run in the foreground.
package struct ConsoleSender: NotificationSender {
    private let templates: MessageTemplates
    private let write: @Sendable (String) -> Void

    /// Makes a sender.
    /// - Parameters:
    ///   - templates: The receiver's templates (the title makes the line).
    ///   - write: Where lines go; standard output by default.
    package init(
        templates: MessageTemplates,
        write: @escaping @Sendable (String) -> Void = { ConsoleSender.standardOutput($0) }
    ) {
        self.templates = templates
        self.write = write
    }

    package func deliver(_ notification: OutboundNotification, now: Date) async -> DeliveryOutcome {
        self.write(Self.line(notification, title: self.templates.render(notification).title))
        return .delivered(answer: "printed")
    }

    /// `11:34:47  FIRING    failed           Cluster scale out failed on prod-east (2 events: node failed, DAG
    /// failed)  [failures -> console]`: the time (UTC) and type of the first event the title names (a `node_failed`
    /// gives way to the `failed` it travels with), the status, the title, the rules and the receiver.
    package static func line(_ notification: OutboundNotification, title: String) -> String {
        let first = TemplateContext.merged(notification.events).first
        let time = first.map { Self.clockText($0.at) } ?? "--:--:--"
        let status = notification.status.rawValue.uppercased().padding(toLength: 8, withPad: " ", startingAt: 0)
        let type = (first?.type.rawValue ?? "").padding(toLength: 16, withPad: " ", startingAt: 0)
        let safeTitle = String(
            title.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) }
        )
        return
            "\(time)  \(status) \(type) \(safeTitle)  [\(notification.rules.joined(separator: ",")) -> \(notification.receiver)]"
    }

    private static func clockText(_ time: ObshellTime) -> String {
        let seconds = ((time.seconds % 86_400) + 86_400) % 86_400
        return String(format: "%02d:%02d:%02d", seconds / 3600, (seconds / 60) % 60, seconds % 60)
    }

    private static let lock = Mutex(())

    /// Writes a line to standard output at once, whole.
    package static func standardOutput(_ line: String) {
        let data = Data((line + "\n").utf8)
        Self.lock.withLock { _ in FileHandle.standardOutput.write(data) }
    }
}
