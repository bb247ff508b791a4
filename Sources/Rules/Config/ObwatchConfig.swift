public import Foundation
public import ObshellModel
internal import Support
public import Tracker
public import YAML

/// The whole configuration of CONTRACT section 3, checked: every name resolves, every pattern compiles, every
/// secret is read. Built by ``ConfigLoader``.
public struct ObwatchConfig: Sendable {
    /// `defaults:`: what every target uses unless it says otherwise.
    public struct Defaults: Sendable, Hashable {
        /// How often a target is polled.
        public var pollInterval: Duration = .seconds(5)
        /// How long one request may take.
        public var timeout: Duration = .seconds(5)
        /// Failed polls in a row before `target_down`.
        public var downAfter: Int = 3
        /// How long a DAG that left the list is confirmed before `vanished`.
        public var confirmWithin: Duration = .seconds(600)
        /// The stall threshold that always applies, as written.
        public var stallAfter = TrackerSettings.defaultStallAfter
        /// `time_zone:`: where messages show local times (`at_local`); UTC when not given.
        public var timeZone: TimeZone?
        /// `stuck_after:`: a receiver whose oldest undelivered notification is older than this counts as stuck.
        public var stuckAfter: Duration = .seconds(600)

        /// The built-in defaults.
        public init() {}
    }

    /// One `targets:` entry.
    public struct Target: Sendable, Hashable {
        /// The unique name events and state files carry.
        public var name: String
        /// The agent: `http://`, `https://` or `unix://`.
        public var url: String
        /// The password, after `${VAR}` interpolation or read from `password_file`.
        public var password: Password
        /// How often this target is polled.
        public var pollInterval: Duration
        /// How long one request to this target may take.
        public var timeout: Duration
        /// The target's labels, copied into events.
        public var labels: [String: String]
        /// A PEM CA file trusted besides the system's, for `https://` agents.
        public var caFile: String?
        /// Where the target is written.
        public var mark: YAMLMark

        /// Makes a target.
        public init(
            name: String,
            url: String,
            password: Password,
            pollInterval: Duration,
            timeout: Duration,
            labels: [String: String],
            caFile: String? = nil,
            mark: YAMLMark = YAMLMark(file: "", line: 0, column: 0)
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
        public var identity: TargetIdentity {
            TargetIdentity(name: self.name, url: URLRedaction.redact(self.url), labels: self.labels)
        }
    }

    /// `http:`: the status API.
    public struct HTTPSettings: Sendable, Hashable {
        /// `listen:` host.
        public var host: String
        /// `listen:` port.
        public var port: Int
        /// `bearer_token_file:`'s contents: when set, `/api` and `/metrics` need `Authorization: Bearer ...`.
        public var bearerToken: Secret?

        /// Makes settings.
        public init(host: String, port: Int, bearerToken: Secret? = nil) {
            self.host = host
            self.port = port
            self.bearerToken = bearerToken
        }
    }

    /// `heartbeat:`: a URL obwatch calls while it runs, so that an outside monitor notices when it stops.
    public struct HeartbeatSettings: Sendable, Hashable {
        /// The HTTP method of each call.
        public enum Method: String, Sendable, Hashable, CaseIterable {
            /// `GET`, the default.
            case get = "GET"
            /// `POST`.
            case post = "POST"
        }

        /// Where to call; a secret, since monitoring services put their key in the URL (its path, often).
        public var url: Secret
        /// The URL with its path, query and credentials hidden, for logs and `check`.
        public var redactedURL: String
        /// How often to call; above zero.
        public var every: Duration
        /// `method:`.
        public var method: Method
        /// How long one call may take.
        public var timeout: Duration
        /// A PEM CA file trusted besides the system's.
        public var caFile: String?
        /// The `Authorization` header's value (`GenieKey KEY` for an Opsgenie heartbeat), a secret.
        public var authorization: Secret?
        /// Where `heartbeat:` is written.
        public var mark: YAMLMark

        /// Makes settings; the defaults are the config's (`every: 1m`, `GET`, `timeout: 10s`).
        public init(
            url: Secret,
            redactedURL: String,
            every: Duration = .seconds(60),
            method: Method = .get,
            timeout: Duration = .seconds(10),
            caFile: String? = nil,
            authorization: Secret? = nil,
            mark: YAMLMark = YAMLMark(file: "", line: 0, column: 0)
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
    public static let builtInStateDirectory = "/var/lib/obwatch"

    /// The `state_dir` of a file that does not set it.
    /// - Parameter environment: Where `STATE_DIRECTORY` is looked up.
    public static func defaultStateDirectory(environment: [String: String]) -> String {
        let first = environment["STATE_DIRECTORY"]?.split(separator: ":").first.map(String.init) ?? ""
        return first.isEmpty ? Self.builtInStateDirectory : first
    }

    /// The file the configuration was read from.
    public var file: String
    /// `state_dir`: tracker state and the delivery queue; ``defaultStateDirectory(environment:)`` when not set.
    public var stateDirectory: String
    /// Where `state_dir` is written; `nil` when the file does not set it.
    public var stateDirectoryMark: YAMLMark?
    /// `http:`, when given.
    public var http: HTTPSettings?
    /// `heartbeat:`, when given.
    public var heartbeat: HeartbeatSettings?
    /// `defaults:`.
    public var defaults: Defaults
    /// `targets:`, in file order.
    public var targets: [Target]
    /// `receivers:`, in file order.
    public var receivers: [ReceiverConfig]
    /// `rules:`, in file order, those of included files where their `include:` stands.
    public var rules: [Rule]
    /// `silences:`.
    public var silences: [Silence]
    /// `inhibit:`.
    public var inhibitions: [Inhibition]

    /// Makes a configuration.
    public init(
        file: String,
        stateDirectory: String,
        stateDirectoryMark: YAMLMark? = nil,
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
        self.http = http
        self.heartbeat = heartbeat
        self.defaults = defaults
        self.targets = targets
        self.receivers = receivers
        self.rules = rules
        self.silences = silences
        self.inhibitions = inhibitions
    }

    /// The tracker's settings: `defaults:` plus one stall threshold per distinct rule `after:`.
    public var trackerSettings: TrackerSettings {
        var thresholds = [self.defaults.stallAfter]
        for rule in self.rules {
            if let after = rule.after, !thresholds.contains(where: { $0.text == after.text }) {
                thresholds.append(after)
            }
        }
        return TrackerSettings(
            downAfter: self.defaults.downAfter,
            confirmWithin: self.defaults.confirmWithin,
            stallThresholds: thresholds
        )
    }

    /// The receiver named `name`.
    public func receiver(named name: String) -> ReceiverConfig? {
        self.receivers.first { $0.name == name }
    }
}
