package import ConfigModel
package import Curl
package import Foundation
package import Logging
package import Messages
package import Support
import Synchronization
import Tracker

/// The alerts an `alertmanager:` receiver has open, by incident, and the one line of work on them at a time.
///
/// Every post (a notification's, a re-post) runs through ``serially(_:)``: a re-post can never take a snapshot
/// before a resolve and land after it, which would open the resolved alert again. With a state folder the open
/// alerts are saved after every change (`alertmanager-<receiver>.json`), so a restart resolves what the previous run
/// opened and keeps re-posting it.
package actor AlertmanagerBook {
    /// What is saved.
    struct Saved: Codable {
        var version = 1
        var open: [String: [AlertmanagerAlert]]
    }

    /// Open alerts by incident, each incident's in the order they opened.
    private(set) var open: [String: [AlertmanagerAlert]]
    private let file: StateFile<Saved>?
    private let logger: Logger?
    private var tail: Task<Void, Never>?

    /// Makes a book, loaded from `file` when it is given and readable.
    /// - Parameters:
    ///   - file: Where the open alerts are kept; `nil` keeps them in memory only.
    ///   - timestamp: Names a file set aside because it could not be read.
    ///   - logger: Where a file that cannot be read or written is reported.
    package init(file: URL?, timestamp: String = "", logger: Logger? = nil) {
        self.file = file.map { StateFile<Saved>(url: $0, newestVersion: 1) }
        self.logger = logger
        let loaded = self.file?.load(timestamp: timestamp)
        if let aside = loaded?.setAside {
            logger?.error("alertmanager: open alerts not loaded (\(aside.problem)); starting with none")
        }
        self.open = loaded?.value?.open ?? [:]
    }

    /// Every open alert, in incident order.
    package var openAlerts: [AlertmanagerAlert] {
        self.open.keys.sorted().flatMap { self.open[$0] ?? [] }
    }

    /// Replaces the open alerts and saves them.
    func replace(_ open: [String: [AlertmanagerAlert]]) {
        guard open != self.open else { return }
        self.open = open
        do {
            try self.file?.save(Saved(open: open))
        } catch {
            self.logger?.error("alertmanager: cannot save the open alerts: \(error)")
        }
    }

    /// Runs `operation` after every operation started before it has finished.
    func serially<Result: Sendable>(_ operation: @escaping @Sendable () async -> Result) async -> Result {
        let previous = self.tail
        let task = Task {
            await previous?.value
            return await operation()
        }
        self.tail = Task { _ = await task.value }
        return await task.value
    }
}

/// Talks to one Alertmanager: posts alerts, lists an incident's alerts. Answers are judged as a generic webhook's
/// (2xx delivered; 408, 425, 429 and 5xx retried; other codes refused), and reasons never hold the URL's
/// credentials, the password or the token.
package struct AlertmanagerClient: Sendable {
    private let settings: AlertmanagerSettings
    private let judge: WebhookFormatter
    private let timeout: Duration
    private let tls: TLSOptions
    private let engine: CurlEngine

    /// Makes a client.
    package init(settings: AlertmanagerSettings, timeout: Duration, engine: CurlEngine = .shared) {
        self.settings = settings
        // A generic webhook's judge and scrubber; its "headers" are only the secrets that reasons must not show.
        var secrets: [String: Secret] = [:]
        switch settings.authorization {
        case .basic(let username, let password):
            secrets["password"] = password
            secrets["basic"] = Secret(Data((username + ":" + password.revealed).utf8).base64EncodedString())
        case .bearer(let token):
            secrets["token"] = token
        case nil:
            break
        }
        self.judge = WebhookFormatter(
            settings: WebhookSettings(
                format: .generic,
                url: settings.url,
                redactedURL: settings.redactedURL,
                headers: secrets
            )
        )
        self.timeout = timeout
        self.tls = TLSOptions(caFile: settings.caFile)
        self.engine = engine
    }

    /// `{url}/api/v2/alerts`, the base's trailing slashes dropped.
    private func endpoint(_ base: String, query: String? = nil) -> String {
        var trimmed = Substring(base)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return trimmed + "/api/v2/alerts" + (query.map { "?" + $0 } ?? "")
    }

    private var headers: HTTPHeaders {
        var list = [HTTPHeader(name: "Content-Type", value: "application/json")]
        switch self.settings.authorization {
        case .basic(let username, let password):
            let pair = Data((username + ":" + password.revealed).utf8).base64EncodedString()
            list.append(HTTPHeader(name: "Authorization", value: "Basic " + pair))
        case .bearer(let token):
            list.append(HTTPHeader(name: "Authorization", value: "Bearer " + token.revealed))
        case nil:
            break
        }
        return HTTPHeaders(list)
    }

    /// Posts `alerts` in one request.
    package func post(_ alerts: [AlertmanagerAlert], now: Date) async -> DeliveryOutcome {
        let request = HTTPRequest(
            method: .post,
            target: .url(self.endpoint(self.settings.url.revealed)),
            headers: self.headers,
            body: AlertmanagerAlerts.body(alerts),
            timeout: self.timeout,
            connectTimeout: min(self.timeout, .seconds(10)),
            tls: self.tls,
            maxResponseBytes: 1 << 20,
            hidesPathInErrors: true
        )
        do {
            let response = try await self.engine.perform(request)
            let outcome = self.judge.outcome(
                status: response.status,
                headers: response.headers.map { ($0.name, $0.value) },
                body: response.body,
                transportError: nil,
                now: now
            )
            switch outcome {
            case .delivered:
                return .delivered(
                    answer: "\(alerts.count) alert(s) to \(self.settings.redactedURL): HTTP \(response.status)"
                )
            case .retry(let reason, let after): return .retry(reason: reason, after: after)
            case .rejected(let reason): return .rejected(reason: reason)
            }
        } catch {
            return Self.outcome(
                self.judge.outcome(status: nil, headers: [], body: Data(), transportError: error.message)
            )
        }
    }

    /// The alerts Alertmanager holds with `incident="<incident>"`, resolved ones included.
    package func alerts(incident: String) async -> Result<[AlertmanagerAlert], AlertmanagerListError> {
        let escaped = incident.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let filter = ("incident=\"" + escaped + "\"").addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
        let request = HTTPRequest(
            method: .get,
            target: .url(self.endpoint(self.settings.url.revealed, query: "filter=" + filter)),
            headers: self.headers,
            body: nil,
            timeout: self.timeout,
            connectTimeout: min(self.timeout, .seconds(10)),
            tls: self.tls,
            maxResponseBytes: 16 << 20,
            hidesPathInErrors: true
        )
        do {
            let response = try await self.engine.perform(request)
            guard (200..<300).contains(response.status) else {
                return .failure(
                    AlertmanagerListError(
                        outcome: Self.outcome(
                            self.judge.outcome(
                                status: response.status,
                                headers: response.headers.map { ($0.name, $0.value) },
                                body: response.body,
                                transportError: nil
                            )
                        )
                    )
                )
            }
            guard let alerts = AlertmanagerAlerts.decodeListed(response.body) else {
                return .failure(
                    AlertmanagerListError(outcome: .retry(reason: "the alert list is not JSON", after: nil))
                )
            }
            return .success(alerts)
        } catch {
            return .failure(
                AlertmanagerListError(
                    outcome: Self.outcome(
                        self.judge.outcome(status: nil, headers: [], body: Data(), transportError: error.message)
                    )
                )
            )
        }
    }

    private static func outcome(_ outcome: WebhookOutcome) -> DeliveryOutcome {
        switch outcome {
        case .delivered: .delivered(answer: "")
        case .retry(let reason, let after): .retry(reason: reason, after: after)
        case .rejected(let reason): .rejected(reason: reason)
        }
    }
}

/// Why Alertmanager's alerts could not be listed, as the outcome the notification gets.
package struct AlertmanagerListError: Error, Sendable {
    /// A retry or a refusal.
    package var outcome: DeliveryOutcome
}

/// `alertmanager:`: each notification's events become alerts in one post (see ``AlertmanagerAlerts``). An opening
/// event's alert is kept open in the ``AlertmanagerBook`` until a resolving event of its incident ends it; the book
/// changes only once Alertmanager took the post, so a retry posts the same alerts again (Alertmanager merges equal
/// label sets: a repeat is harmless).
package struct AlertmanagerSender: NotificationSender {
    private let settings: AlertmanagerSettings
    private let templates: MessageTemplates
    private let client: AlertmanagerClient
    private let book: AlertmanagerBook

    /// Makes a sender.
    /// - Parameters:
    ///   - settings: Where Alertmanager is.
    ///   - templates: The receiver's templates (the `description` annotation).
    ///   - timeout: How long one request may take.
    ///   - book: The receiver's open alerts; a new, empty one in memory by default.
    package init(
        settings: AlertmanagerSettings,
        templates: MessageTemplates,
        timeout: Duration,
        book: AlertmanagerBook = AlertmanagerBook(file: nil)
    ) {
        self.settings = settings
        self.templates = templates
        self.client = AlertmanagerClient(settings: settings, timeout: timeout)
        self.book = book
    }

    package func deliver(_ notification: OutboundNotification, now: Date) async -> DeliveryOutcome {
        let (book, client, templates, generatorURL) = (
            self.book, self.client, self.templates, self.settings.generatorURL
        )
        return await book.serially {
            var open = await book.open
            var posted: [[String: String]: AlertmanagerAlert] = [:]
            var order: [[String: String]] = []
            func add(_ alert: AlertmanagerAlert) {
                if posted[alert.labels] == nil { order.append(alert.labels) }
                posted[alert.labels] = alert
            }
            var skipped = 0
            for event in notification.events {
                switch event.status {
                case .firing, .info:
                    var alert = AlertmanagerAlerts.alert(
                        for: event,
                        message: templates.render(notification.with(events: [event])),
                        generatorURL: generatorURL
                    )
                    guard let incident = event.incident else {
                        add(alert)
                        continue
                    }
                    var alerts = open[incident] ?? []
                    if let index = alerts.firstIndex(where: { $0.labels == alert.labels }) {
                        // A reminder or a second node of the same incident: the same alert, its start kept.
                        alert.startsAt = alerts[index].startsAt
                        alert.startsAtEpoch = alerts[index].startsAtEpoch
                        alerts[index] = alert
                    } else {
                        alerts.append(alert)
                    }
                    open[incident] = alerts
                    add(alert)
                case .resolved:
                    guard let incident = event.incident else {
                        skipped += 1
                        continue
                    }
                    var ending = open.removeValue(forKey: incident) ?? []
                    if ending.isEmpty {
                        // Opened before this book knew it (state lost, another replica): ask Alertmanager.
                        switch await client.alerts(incident: incident) {
                        case .success(let listed): ending = listed
                        case .failure(let error): return error.outcome
                        }
                    }
                    if ending.isEmpty { skipped += 1 }
                    for alert in ending { add(alert.ended(at: event.at)) }
                }
            }
            let alerts = order.compactMap { posted[$0] }
            guard !alerts.isEmpty else {
                await book.replace(open)
                return .delivered(answer: "nothing to post: \(skipped) resolved event(s) close no open alert")
            }
            let outcome = await client.post(alerts, now: now)
            if case .delivered = outcome { await book.replace(open) }
            return outcome
        }
    }
}

/// The ``AlertmanagerBook`` of every `alertmanager:` receiver, and the task of each that re-posts its open alerts
/// every `repost_every`, so that Alertmanager's `resolve_timeout` does not resolve them while obwatch still sees
/// the incident. Asking for a receiver's book again (a reload) restarts its re-posts with the new settings.
/// ``stop()`` (or the end of the object) ends every re-post task.
package final class AlertmanagerBooks: Sendable {
    private struct Entry {
        var book: AlertmanagerBook
        var reposts: Task<Void, Never>?
    }

    private let stateDirectory: URL?
    private let clock: any ObwatchClock
    private let logger: Logger
    private let entries = Mutex<[String: Entry]>([:])

    /// Makes the shelf.
    /// - Parameters:
    ///   - stateDirectory: Where each receiver's open alerts are saved; `nil` keeps them in memory.
    ///   - clock: Times the re-posts.
    ///   - logger: Where failed re-posts are reported.
    package init(stateDirectory: URL?, clock: any ObwatchClock, logger: Logger = Logger(label: "obwatch.alertmanager"))
    {
        self.stateDirectory = stateDirectory
        self.clock = clock
        self.logger = logger
    }

    deinit { self.stop() }

    /// The file of receiver `name`'s open alerts: its name made safe for a file name.
    package static func fileName(for name: String) -> String {
        let safe = String(
            name.unicodeScalars.map { scalar -> Character in
                switch scalar {
                case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": Character(scalar)
                default: "_"
                }
            }
        )
        return "alertmanager-\(safe)-\(EventID.make([name]).prefix(8)).json"
    }

    /// Receiver `receiver`'s book, loaded on first use, with its re-posts (re)started for `settings`.
    /// - Parameters:
    ///   - receiver: The receiver's name.
    ///   - settings: Its settings now.
    ///   - timeout: How long one re-post may take.
    package func book(for receiver: String, settings: AlertmanagerSettings, timeout: Duration) -> AlertmanagerBook {
        let (clock, logger) = (self.clock, self.logger)
        return self.entries.withLock { entries in
            let book =
                entries[receiver]?.book
                ?? AlertmanagerBook(
                    file: self.stateDirectory?.appendingPathComponent(Self.fileName(for: receiver)),
                    timestamp: String(Int64(clock.wallNow.timeIntervalSince1970)),
                    logger: logger
                )
            entries[receiver]?.reposts?.cancel()
            let client = AlertmanagerClient(settings: settings, timeout: timeout)
            let period = settings.repostEvery
            let reposts = Task {
                while !Task.isCancelled {
                    do { try await clock.sleep(for: period) } catch { return }
                    let outcome = await book.serially { () async -> DeliveryOutcome? in
                        let alerts = await book.openAlerts
                        guard !alerts.isEmpty else { return nil }
                        return await client.post(alerts, now: clock.wallNow)
                    }
                    switch outcome {
                    case .retry(let reason, _), .rejected(let reason):
                        logger.warning("alertmanager \(receiver): re-post of open alerts failed: \(reason)")
                    case .delivered, nil:
                        break
                    }
                }
            }
            entries[receiver] = Entry(book: book, reposts: reposts)
            return book
        }
    }

    /// Ends every re-post task.
    package func stop() {
        let tasks = self.entries.withLock { entries in entries.values.compactMap(\.reposts) }
        for task in tasks { task.cancel() }
    }
}
