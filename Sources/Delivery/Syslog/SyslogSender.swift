package import ConfigModel
import Dispatch
package import Foundation

/// Sends formatted syslog messages (``SyslogMessage``) to one collector: a unix datagram socket such as `/dev/log`,
/// UDP (one datagram per message) or TCP with octet counting (RFC 6587).
///
/// The socket is opened on the first send and kept. Socket calls run on the sender's own thread,
/// with non-blocking sockets and `poll` bounded by the timeout, so a slow or dead collector never blocks Swift's
/// cooperative pool; sends complete in the order they were made. On any error the socket is closed and the send
/// throws: the outbox retries, and the next send reconnects.
package actor SyslogSender {
    /// Where and how messages go.
    package let settings: SyslogSettings
    /// The limit for one send, connecting included.
    package let timeout: Duration
    private let socket: SyslogSocket
    private let thread: SyslogThread

    /// Makes a sender; nothing is opened until the first send.
    /// - Parameters:
    ///   - settings: The receiver's `syslog:` settings.
    ///   - timeout: The limit for one send.
    package init(settings: SyslogSettings, timeout: Duration) {
        self.settings = settings
        // A year is plenty and keeps the deadline arithmetic far from overflow whatever the caller passes.
        self.timeout = min(max(timeout, .zero), .seconds(31_536_000))
        self.socket = SyslogSocket(address: settings.address)
        self.thread = SyslogThread(name: "obwatch.syslog")
    }

    /// Sends one message (TCP adds the octet-counting frame).
    /// - Parameter message: The bytes from ``SyslogMessage/format(event:notification:text:settings:hostname:processID:sequence:timeZone:)``.
    /// - Throws: ``SyslogDeliveryError`` when the message could not be handed to the collector's socket.
    package func send(_ message: Data) async throws(SyslogDeliveryError) {
        let deadline = ContinuousClock.now + self.timeout
        let socket = self.socket
        let outcome: Result<Void, SyslogDeliveryError> = await self.thread.run {
            Result { () throws(SyslogDeliveryError) in try socket.send(message, deadline: deadline) }
        }
        try outcome.get()
    }

    /// Closes the socket after the sends already made; a later send opens a new one.
    package func close() {
        let socket = self.socket
        self.thread.enqueue { socket.close() }
    }

    deinit {
        self.thread.stop()
    }
}
