package import Foundation
import History
package import ObshellModel
import Support
package import Tracker

/// The whole configuration of CONTRACT section 3, checked: every name resolves, every pattern compiles, every
/// secret is read. Built by `ConfigLoader` (in ConfigLoading).
package struct ObwatchConfig: Sendable {
    /// `defaults:`: what every target uses unless it says otherwise.
    package struct Defaults: Sendable, Hashable {
        /// How often a target is polled.
        package var pollInterval: Duration = .seconds(5)
        /// How long one request may take.
        package var timeout: Duration = .seconds(5)
        /// Failed polls in a row before `target_down`.
        package var downAfter: Int = 3
        /// How long a DAG that left the list is confirmed before `vanished`.
        package var confirmWithin: Duration = .seconds(600)
        /// The stall threshold that always applies, as written.
        package var stallAfter = TrackerSettings.defaultStallAfter
        /// `time_zone:`: where messages show local times (`at_local`); UTC when not given.
        package var timeZone: TimeZone?
        /// `stuck_after:`: a receiver whose oldest undelivered notification is older than this counts as stuck.
        package var stuckAfter: Duration = .seconds(600)

        /// The built-in defaults.
        package init() {}
    }

    /// One `targets:` entry.
    package struct Target: Sendable, Hashable {
        /// The unique name events and state files carry.
        package var name: String
        /// The agent: `http://`, `https://` or `unix://`.
        package var url: String
        /// The password, after `${VAR}` interpolation or read from `password_file`.
        package var password: Password
        /// How often this target is polled.
        package var pollInterval: Duration
        /// How long one request to this target may take.
        package var timeout: Duration
        /// The target's labels, copied into events.
        package var labels: [String: String]
        /// A PEM CA file trusted besides the system's, for `https://` agents.
        package var caFile: String?
        /// Where the target is written.
        package var mark: SourcePosition

        /// Makes a target.
        package init(
            name: String,
            url: String,
            password: Password,
            pollInterval: Duration,
            timeout: Duration,
            labels: [String: String],
            caFile: String? = nil,
            mark: SourcePosition = .unknown
        ) {
            self.name = name
            self.url = url
            self.password = password
            self.pollInterval = pollInterval
            self.timeout = timeout
            self.labels = labels
            self.caFile = caFile
            self.mark = mark
        }

        /// Who events are about: the URL without credentials or query.
        package var identity: TargetIdentity {
            TargetIdentity(name: self.name, url: URLRedaction.redact(self.url), labels: self.labels)
        }
    }

    /// `http:`: the status API.
    package struct HTTPSettings: Sendable, Hashable {
        /// `listen:` host.
        package var host: String
        /// `listen:` port.
        package var port: Int
        /// `bearer_token_file:`'s contents: when set, `/api` and `/metrics` need `Authorization: Bearer ...`.
        package var bearerToken: Secret?
        /// `write_token_file:`'s contents: writes (silences, acknowledgements) need `Authorization: Bearer ...` with
        /// it; without one the API refuses every write.
        package var writeToken: Secret?
        /// `tls:`: the API is served over HTTPS with these files.
        package var tls: TLSFiles?

        /// `tls: {cert_file, key_file}`: a PEM certificate chain and its PEM private key.
        package struct TLSFiles: Sendable, Hashable {
            /// `cert_file:`.
            package var certificateFile: String
            /// `key_file:`.
            package var keyFile: String

            /// Makes the pair.
            package init(certificateFile: String, keyFile: String) {
                self.certificateFile = certificateFile
                self.keyFile = keyFile
            }
        }

        /// Makes settings.
        package init(
            host: String,
            port: Int,
            bearerToken: Secret? = nil,
            writeToken: Secret? = nil,
            tls: TLSFiles? = nil
        ) {
            self.host = host
            self.port = port
            self.bearerToken = bearerToken
            self.writeToken = writeToken
            self.tls = tls
        }
    }

    /// `heartbeat:`: a URL obwatch calls while it runs, so that an outside monitor notices when it stops.
    package struct HeartbeatSettings: Sendable, Hashable {
        /// The HTTP method of each call.
        package enum Method: String, Sendable, Hashable, CaseIterable {
            /// `GET`, the default.
            case get = "GET"
            /// `POST`.
            case post = "POST"
        }

        /// Where to call; a secret, since monitoring services put their key in the URL (its path, often).
        package var url: Secret
        /// The URL with its path, query and credentials hidden, for logs and `check`.
        package var redactedURL: String
        /// How often to call; above zero.
        package var every: Duration
        /// `method:`.
        package var method: Method
        /// How long one call may take.
        package var timeout: Duration
        /// A PEM CA file trusted besides the system's.
        package var caFile: String?
        /// The `Authorization` header's value (`GenieKey KEY` for an Opsgenie heartbeat), a secret.
        package var authorization: Secret?
        /// Where `heartbeat:` is written.
        package var mark: SourcePosition

        /// Makes settings; the defaults are the config's (`every: 1m`, `GET`, `timeout: 10s`).
        package init(
            url: Secret,
            redactedURL: String,
            every: Duration = .seconds(60),
            method: Method = .get,
            timeout: Duration = .seconds(10),
            caFile: String? = nil,
            authorization: Secret? = nil,
            mark: SourcePosition = .unknown
        ) {
            self.authorization = authorization
            self.url = url
            self.redactedURL = redactedURL
            self.every = every
            self.method = method
            self.timeout = timeout
            self.caFile = caFile
            self.mark = mark
        }
    }

    /// Where `state_dir` is when the file does not say: systemd's `$STATE_DIRECTORY` (its first path when it
    /// lists several), else `/var/lib/obwatch`.
    package static let builtInStateDirectory = "/var/lib/obwatch"

    /// The `state_dir` of a file that does not set it.
    /// - Parameter environment: Where `STATE_DIRECTORY` is looked up.
    package static func defaultStateDirectory(environment: [String: String]) -> String {
        let first = environment["STATE_DIRECTORY"]?.split(separator: ":").first.map(String.init) ?? ""
        return first.isEmpty ? Self.builtInStateDirectory : first
    }

    /// The file the configuration was read from.
    package var file: String
    /// `state_dir`: tracker state and the delivery queue; ``defaultStateDirectory(environment:)`` when not set.
    package var stateDirectory: String
    /// Where `state_dir` is written; `nil` when the file does not set it.
    package var stateDirectoryMark: SourcePosition?
    /// `store:`: where target records and the router's memory are kept; the state folder when not given. The
    /// outbox stays in `state_dir` either way (for now).
    package var store: StoreSettings
    /// `http:`, when given.
    package var http: HTTPSettings?
    /// `heartbeat:`, when given.
    package var heartbeat: HeartbeatSettings?
    /// `defaults:`.
    package var defaults: Defaults
    /// `targets:`, in file order.
    package var targets: [Target]
    /// `receivers:`, in file order.
    package var receivers: [ReceiverConfig]
    /// `rules:`, in file order, those of included files where their `include:` stands.
    package var rules: [Rule]
    /// `silences:`.
    package var silences: [Silence]
    /// `inhibit:`.
    package var inhibitions: [Inhibition]

    /// Makes a configuration.
    package init(
        file: String,
        stateDirectory: String,
        stateDirectoryMark: SourcePosition? = nil,
        store: StoreSettings = .local,
        http: HTTPSettings? = nil,
        heartbeat: HeartbeatSettings? = nil,
        defaults: Defaults = Defaults(),
        targets: [Target] = [],
        receivers: [ReceiverConfig] = [],
        rules: [Rule] = [],
        silences: [Silence] = [],
        inhibitions: [Inhibition] = []
    ) {
        self.file = file
        self.stateDirectory = stateDirectory
        self.stateDirectoryMark = stateDirectoryMark
        self.store = store
        self.http = http
        self.heartbeat = heartbeat
        self.defaults = defaults
        self.targets = targets
        self.receivers = receivers
        self.rules = rules
        self.silences = silences
        self.inhibitions = inhibitions
    }

    /// The tracker's settings: `defaults:` plus one stall threshold per distinct rule `after:` and one slowness
    /// threshold per distinct rule `slower_than:` (after the built-in one).
    package var trackerSettings: TrackerSettings {
        var thresholds = [self.defaults.stallAfter]
        for rule in self.rules {
            if let after = rule.after, !thresholds.contains(where: { $0.text == after.text }) {
                thresholds.append(after)
            }
        }
        var slowThresholds = [SlowerThan.usual]
        for case let slowerThan? in self.rules.map(\.slowerThan)
        where !slowThresholds.contains(where: { $0.text == slowerThan.text }) {
            slowThresholds.append(slowerThan)
        }
        return TrackerSettings(
            downAfter: self.defaults.downAfter,
            confirmWithin: self.defaults.confirmWithin,
            stallThresholds: thresholds,
            slowThresholds: slowThresholds
        )
    }

    /// The zone messages write local times in (`at_local`, RFC 3164 timestamps): `defaults.time_zone`, else UTC.
    package var messageTimeZone: TimeZone {
        self.defaults.timeZone ?? TimeZone(identifier: "UTC") ?? .current
    }

    /// The receiver named `name`.
    package func receiver(named name: String) -> ReceiverConfig? {
        self.receivers.first { $0.name == name }
    }
}
