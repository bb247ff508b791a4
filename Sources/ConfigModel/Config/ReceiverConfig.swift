import Foundation

/// One `receivers:` entry.
package struct ReceiverConfig: Sendable, Hashable {
    /// How a receiver is reached.
    package enum Kind: Sendable, Hashable {
        /// `webhook:`.
        case webhook(WebhookSettings)
        /// `email:`.
        case email(EmailSettings)
        /// `syslog:`.
        case syslog(SyslogSettings)
        /// `file:`: notifications appended to a local JSON Lines file (for a log shipper, or the demo).
        case file(FileSettings)
        /// `console:`: one readable line per notification on standard output (the demo, a foreground run).
        case console
        /// `alertmanager:`: events posted as alerts to Prometheus Alertmanager, open ones re-posted.
        case alertmanager(AlertmanagerSettings)

        /// The rate limits a receiver of this kind has when it sets none: the vendor's documented ones for a
        /// webhook, none otherwise.
        package var defaultRateLimits: [RateLimit] {
            switch self {
            case .webhook(let settings): settings.format.defaultRateLimits
            case .email, .syslog, .file, .console, .alertmanager: []
            }
        }

        /// How many notifications a receiver of this kind has in flight at once when it sets no `concurrency:`:
        /// 8 for webhooks and mail, whose far ends take requests in parallel; 1 for the kinds that deliver serially.
        package var defaultConcurrency: Int {
            self.deliversSerially ? 1 : 8
        }

        /// Whether the kind delivers one notification at a time whatever `concurrency:` says: syslog, a file and the
        /// console write one ordered stream (their records keep the order they were made in, across incidents), and
        /// Alertmanager's sender keeps its book of open alerts by posting one change at a time.
        package var deliversSerially: Bool {
            switch self {
            case .webhook, .email: false
            case .syslog, .file, .console, .alertmanager: true
            }
        }

        /// The key that names the kind in a config: `webhook`, `email`, `syslog`, `file`, `console`, `alertmanager`.
        package var key: String {
            switch self {
            case .webhook: "webhook"
            case .email: "email"
            case .syslog: "syslog"
            case .file: "file"
            case .console: "console"
            case .alertmanager: "alertmanager"
            }
        }
    }

    /// The unique name rules' `notify:` lists.
    package var name: String
    /// How it is reached.
    package var kind: Kind
    /// Retries, rate limits and age limits.
    package var delivery: DeliverySettings
    /// Where it is written.
    package var mark: SourcePosition

    /// Makes a receiver.
    package init(name: String, kind: Kind, delivery: DeliverySettings, mark: SourcePosition) {
        self.name = name
        self.kind = kind
        self.delivery = delivery
        self.mark = mark
    }

    /// The message format templates render for: the webhook's format, `email` or `syslog` (plain text, which a file,
    /// the console and Alertmanager's `description` annotation use too).
    package var formatName: String {
        switch self.kind {
        case .webhook(let settings): settings.format.rawValue
        case .email: "email"
        case .syslog, .file, .console, .alertmanager: "syslog"
        }
    }

    /// What the receiver is, for summaries: the webhook's format, `email`, `syslog`, `file`, `console` or
    /// `alertmanager`.
    package var kindName: String {
        switch self.kind {
        case .webhook(let settings): settings.format.rawValue
        case .email: "email"
        case .syslog: "syslog"
        case .file: "file"
        case .console: "console"
        case .alertmanager: "alertmanager"
        }
    }
}

/// A webhook's body format (CONTRACT section 3).
package enum WebhookFormat: String, Sendable, Hashable, CaseIterable {
    /// `obwatch.notification/v1`.
    case generic
    /// Slack incoming webhook, blocks.
    case slack
    /// DingTalk custom robot, markdown, optionally signed.
    case dingtalk
    /// Feishu/Lark custom bot, interactive card, optionally signed.
    case feishu
    /// WeCom group robot, markdown.
    case wecom
    /// Microsoft Teams through a Workflows URL, Adaptive Card.
    case teams
    /// PagerDuty Events API v2.
    case pagerduty
    /// Opsgenie Alert API.
    case opsgenie

    /// The documented rate limits of the vendor (receivers.md section 2); generic webhooks have none.
    package var defaultRateLimits: [RateLimit] {
        switch self {
        case .generic, .opsgenie: []
        case .slack: [RateLimit(count: 1, per: .seconds(1), text: "1/s")]
        case .dingtalk, .wecom: [RateLimit(count: 20, per: .seconds(60), text: "20/min")]
        case .feishu:
            [
                RateLimit(count: 5, per: .seconds(1), text: "5/s"),
                RateLimit(count: 100, per: .seconds(60), text: "100/min"),
            ]
        case .teams: [RateLimit(count: 4, per: .seconds(1), text: "4/s")]
        case .pagerduty: [RateLimit(count: 120, per: .seconds(60), text: "120/min")]
        }
    }

    /// The vendor's fixed endpoint, for the formats that have one.
    package var defaultURL: String? {
        switch self {
        case .pagerduty: "https://events.pagerduty.com/v2/enqueue"
        case .opsgenie: "https://api.opsgenie.com/v2/alerts"
        default: nil
        }
    }
}

/// `webhook:` settings.
package struct WebhookSettings: Sendable, Hashable {
    /// The body format.
    package var format: WebhookFormat
    /// Where to post; a secret, since chat webhooks carry their key in the URL.
    package var url: Secret
    /// The URL with its query and credentials hidden, for logs and `check`.
    package var redactedURL: String
    /// DingTalk and Feishu signing secret.
    package var signingSecret: Secret?
    /// PagerDuty `routing_key`.
    package var routingKey: Secret?
    /// Opsgenie `api_key`.
    package var apiKey: Secret?
    /// Extra request headers (generic webhooks), values secret.
    package var headers: [String: Secret]
    /// Phone numbers or user ids to mention (DingTalk `atMobiles`, WeCom `mentioned_list`); never `@all` by itself.
    package var mentions: [String]
    /// A PEM CA file trusted besides the system's.
    package var caFile: String?

    /// Makes settings.
    package init(
        format: WebhookFormat,
        url: Secret,
        redactedURL: String,
        signingSecret: Secret? = nil,
        routingKey: Secret? = nil,
        apiKey: Secret? = nil,
        headers: [String: Secret] = [:],
        mentions: [String] = [],
        caFile: String? = nil
    ) {
        self.format = format
        self.url = url
        self.redactedURL = redactedURL
        self.signingSecret = signingSecret
        self.routingKey = routingKey
        self.apiKey = apiKey
        self.headers = headers
        self.mentions = mentions
        self.caFile = caFile
    }
}

/// `email:` settings.
package struct EmailSettings: Sendable, Hashable {
    /// How the relay connection is protected.
    package enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// Plain connect, then STARTTLS, required (the default on 587 and 25).
        case starttls
        /// TLS from the first byte (the default on 465).
        case implicit
        /// No TLS: allowed only to a loopback relay.
        case none
    }

    /// The relay, `smtp://host:port` (or `smtps://`).
    package var relayURL: String
    /// TLS mode.
    package var tls: TLSMode
    /// AUTH user name, if the relay wants one.
    package var username: String?
    /// AUTH password.
    package var password: Secret?
    /// `From:`.
    package var from: String
    /// `To:`.
    package var to: [String]
    /// A PEM CA file trusted besides the system's.
    package var caFile: String?

    /// Makes settings.
    package init(
        relayURL: String,
        tls: TLSMode,
        username: String? = nil,
        password: Secret? = nil,
        from: String,
        to: [String],
        caFile: String? = nil
    ) {
        self.relayURL = relayURL
        self.tls = tls
        self.username = username
        self.password = password
        self.from = from
        self.to = to
        self.caFile = caFile
    }
}

/// `syslog:` settings.
package struct SyslogSettings: Sendable, Hashable {
    /// Where the syslog daemon listens.
    package enum Address: Sendable, Hashable, CustomStringConvertible {
        /// A unix datagram socket such as `/dev/log`.
        case unix(path: String)
        /// UDP, one message per datagram.
        case udp(host: String, port: Int)
        /// TCP with octet counting (RFC 6587).
        case tcp(host: String, port: Int)

        package var description: String {
            switch self {
            case .unix(let path): "unix://\(path)"
            case .udp(let host, let port): "udp://\(host):\(port)"
            case .tcp(let host, let port): "tcp://\(host):\(port)"
            }
        }
    }

    /// The message format.
    package enum Format: String, Sendable, Hashable, CaseIterable {
        /// RFC 5424 with structured data.
        case rfc5424
        /// BSD syslog.
        case rfc3164
    }

    /// Where to send.
    package var address: Address
    /// The message format.
    package var format: Format
    /// The facility number, 0 (kern) to 23 (local7).
    package var facility: Int
    /// APP-NAME / TAG.
    package var appName: String

    /// Makes settings.
    package init(address: Address, format: Format, facility: Int, appName: String = "obwatch") {
        self.address = address
        self.format = format
        self.facility = facility
        self.appName = appName
    }

    /// Facility names as syslog spells them, by number.
    package static let facilityNames = [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "ntp",
        "security", "console", "solaris-cron", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
        "local7",
    ]
}

/// `file:` settings.
package struct FileSettings: Sendable, Hashable {
    /// The JSON Lines file notifications are appended to (`obwatch.notification/v1`, one per line).
    package var path: String

    /// Makes settings.
    package init(path: String) {
        self.path = path
    }
}

/// At most `count` sends in any window of `per`.
package struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    /// Sends allowed per window.
    package var count: Int
    /// The window.
    package var per: Duration
    /// As written (`20/min`).
    package var text: String

    /// Makes a limit.
    package init(count: Int, per: Duration, text: String) {
        self.count = count
        self.per = per
        self.text = text
    }

    package var description: String { self.text }
}

/// How a receiver's outbox behaves.
package struct DeliverySettings: Sendable, Hashable {
    /// How long one send may take.
    package var timeout: Duration
    /// Sends allowed per window; empty means no limit.
    package var rateLimits: [RateLimit]
    /// After this long undelivered, a notification is dropped with an error line and a counter.
    package var maxAge: Duration
    /// The first retry's delay ceiling; each retry doubles it, with full jitter.
    package var retryInitial: Duration
    /// The largest delay between two tries.
    package var retryMax: Duration
    /// Whether resolved events are sent (true for every format: a page is closed where it was opened).
    package var sendResolved: Bool
    /// At most this many notifications in flight at once (`concurrency:`), never two of one incident; 1 delivers
    /// strictly one after another, first in, first out. A config gets the kind's
    /// ``ReceiverConfig/Kind/defaultConcurrency`` (8 for webhooks and mail, 1 for the others).
    package var concurrency: Int

    /// The values `concurrency:` may take.
    package static let concurrencyRange = 1...64

    /// Makes settings; the defaults are a 10 s timeout, no rate limit, 24 h max age, retries from 1 s up to 5 min,
    /// one try at a time.
    package init(
        timeout: Duration = .seconds(10),
        rateLimits: [RateLimit] = [],
        maxAge: Duration = .seconds(86_400),
        retryInitial: Duration = .seconds(1),
        retryMax: Duration = .seconds(300),
        sendResolved: Bool = true,
        concurrency: Int = 1
    ) {
        self.timeout = timeout
        self.rateLimits = rateLimits
        self.maxAge = maxAge
        self.retryInitial = retryInitial
        self.retryMax = retryMax
        self.sendResolved = sendResolved
        self.concurrency = concurrency
    }
}
