package import Foundation

/// How an SMTP transfer is protected.
package enum MailTLSMode: String, Hashable, Sendable {
    /// Plain connection upgraded with STARTTLS, which is required: if the server does not offer it the transfer fails
    /// (`CURLUSESSL_ALL`), it never falls back to plain text. Needs an `smtp://` URL, usually port 587.
    case starttls
    /// TLS from the first byte. Needs an `smtps://` URL, usually port 465.
    case implicit
    /// No TLS at all. Only allowed to a loopback host (`localhost`, `127.0.0.0/8`, `::1`); refused otherwise.
    case none
}

/// An SMTP user name and password. Its descriptions and reflection never show the password.
package struct MailCredentials: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The user name for SMTP AUTH.
    package var username: String
    /// The password for SMTP AUTH.
    package var password: String

    /// Creates credentials.
    /// - Parameters:
    ///   - username: The user name.
    ///   - password: The password; it never appears in descriptions or errors.
    package init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// The user name and a placeholder for the password.
    package var description: String {
        "\(self.username):<redacted>"
    }

    /// The same as ``description``, so `debugPrint` and string interpolation of containers stay safe.
    package var debugDescription: String {
        self.description
    }

    /// Hides the password from `dump` and other reflection.
    package var customMirror: Mirror {
        Mirror(self, children: ["username": self.username, "password": "<redacted>"])
    }
}

/// One message to hand to an SMTP server: envelope and RFC 5322 bytes.
///
/// The bytes are sent as given. Building them is the caller's job, including CRLF line endings (libcurl does not
/// convert bare LF here) and leaving out any `Bcc` header. Dot-stuffing is done by libcurl.
package struct MailRequest: Sendable {
    /// The server, `smtp://host:port` or `smtps://host:port`.
    package var server: String
    /// How the connection is protected.
    package var tls: MailTLSMode
    /// The AUTH credentials, if the server wants them.
    package var credentials: MailCredentials?
    /// The envelope sender (`MAIL FROM`), a bare address without angle brackets; empty for the null sender `<>`.
    package var sender: String
    /// Every envelope recipient (To, Cc and Bcc), bare addresses without angle brackets.
    package var recipients: [String]
    /// The RFC 5322 message, headers and body, with CRLF line endings.
    package var message: Data
    /// The limit for the whole transfer, connection included.
    package var timeout: Duration
    /// The limit for establishing the connection (TCP and TLS handshake).
    package var connectTimeout: Duration
    /// How the TLS peer is verified for `starttls` and `implicit`.
    package var tlsOptions: TLSOptions

    /// Creates a mail transfer.
    /// - Parameters:
    ///   - server: `smtp://host:port` or `smtps://host:port`.
    ///   - tls: How the connection is protected.
    ///   - credentials: The AUTH credentials, or `nil`.
    ///   - sender: The envelope sender address.
    ///   - recipients: Every envelope recipient address.
    ///   - message: The RFC 5322 message bytes with CRLF line endings.
    ///   - timeout: The limit for the whole transfer.
    ///   - connectTimeout: The limit for establishing the connection.
    ///   - tlsOptions: How the TLS peer is verified.
    package init(
        server: String,
        tls: MailTLSMode,
        credentials: MailCredentials? = nil,
        sender: String,
        recipients: [String],
        message: Data,
        timeout: Duration = .seconds(60),
        connectTimeout: Duration = .seconds(10),
        tlsOptions: TLSOptions = TLSOptions()
    ) {
        self.server = server
        self.tls = tls
        self.credentials = credentials
        self.sender = sender
        self.recipients = recipients
        self.message = message
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.tlsOptions = tlsOptions
    }
}

/// What the SMTP server said when it accepted a message.
package struct MailResponse: Hashable, Sendable {
    /// The server's last reply code, normally 250.
    package var replyCode: Int
    /// The time the whole transfer took, connection included.
    package var totalTime: Duration

    /// Creates a mail response.
    /// - Parameters:
    ///   - replyCode: The last SMTP reply code.
    ///   - totalTime: The transfer's duration.
    package init(replyCode: Int, totalTime: Duration) {
        self.replyCode = replyCode
        self.totalTime = totalTime
    }
}
