package import ConfigModel
import Foundation
import Messages
import Tracker
package import YAML

/// What `obwatch check` found: every diagnostic of the config, its rules and its templates, and a summary.
package struct ConfigCheckReport: Sendable {
    /// Errors and warnings, sorted by file and position.
    package var diagnostics: Diagnostics
    /// The checked configuration, when it has no error.
    package var config: ObwatchConfig?
    /// How many template renderings were tried against sample events.
    package var renderedTemplates: Int
    /// Where `run` would keep its state and why there, such as `/var/lib/obwatch (the default)`; `nil` when the
    /// configuration is invalid.
    var stateDirectoryUsed: String?

    /// Whether the configuration can be used (warnings allowed).
    package var isValid: Bool { self.config != nil && !self.diagnostics.hasErrors }

    /// The lines `check` prints: every diagnostic, then a summary.
    package var lines: [String] {
        var lines = self.diagnostics.entries.map(\.description)
        let errors = self.diagnostics.errors.count
        let warnings = self.diagnostics.warnings.count
        let counted = Self.count(errors, "error") + ", " + Self.count(warnings, "warning")
        guard let config = self.config, self.isValid else {
            lines.append("invalid: \(counted)")
            return lines
        }
        let kinds = config.receivers.map(\.kindName)
        let thresholds = config.trackerSettings.stallThresholds.map(\.text)
        lines.append(
            "valid: \(Self.count(config.targets.count, "target")), "
                + "\(Self.count(config.receivers.count, "receiver"))"
                + (kinds.isEmpty ? "" : " (\(kinds.joined(separator: ", ")))") + ", "
                + "\(Self.count(config.rules.count, "rule")), \(Self.count(config.silences.count, "silence")), "
                + "\(Self.count(config.inhibitions.count, "inhibition")); "
                + self.stateSummary
                + "stall thresholds \(thresholds.joined(separator: ", ")); "
                + "\(Self.count(self.renderedTemplates, "template rendering")) checked; \(counted)"
        )
        return lines
    }

    /// Where `run` keeps its state: `state in FOLDER; ` for the state folder; with PostgreSQL, the server,
    /// database and schema (never the password) and the folder that keeps the outbox.
    private var stateSummary: String {
        guard let folder = self.stateDirectoryUsed else { return "" }
        guard case .postgres(let settings) = self.config?.store else { return "state in \(folder); " }
        return "state in \(settings.summary); outbox in \(folder); "
    }

    static func count(_ number: Int, _ noun: String) -> String {
        "\(number) \(noun)\(number == 1 ? "" : "s")"
    }
}

/// `obwatch check` (and `run`, which starts only on what `check` accepts): the whole configuration, its included
/// rule files, every template rendered against a sample event of every type, and a `state_dir` obwatch can write.
/// `replay` loads with ``ConfigLoader`` alone: it keeps no state, so it takes a config whose `state_dir` is elsewhere.
package enum ConfigCheck {
    /// Checks a configuration file.
    /// - Parameters:
    ///   - path: The file.
    ///   - environment: Where `${NAME}` and `STATE_DIRECTORY` are looked up.
    ///   - probingStateDirectory: Whether `state_dir` must be a folder obwatch can write. `false` for a caller that
    ///     keeps its state somewhere else (`obwatch demo`, in a temporary folder): the probe would write beside the
    ///     rules file, which may be a read-only place such as /usr/share/obwatch/rules.
    package static func run(
        contentsOfFile path: String,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        probingStateDirectory: Bool = true
    ) -> ConfigCheckReport {
        let loaded = ConfigLoader(environment: environment).load(contentsOfFile: path)
        guard let config = loaded.config else {
            return ConfigCheckReport(diagnostics: loaded.diagnostics, config: nil, renderedTemplates: 0)
        }
        var diagnostics = loaded.diagnostics
        if probingStateDirectory {
            Self.checkStateDirectory(config, environment: environment, into: &diagnostics)
        }
        let rendered = Self.renderSamples(config, into: &diagnostics)
        return ConfigCheckReport(
            diagnostics: diagnostics,
            config: diagnostics.hasErrors ? nil : config,
            renderedTemplates: rendered,
            stateDirectoryUsed: Self.plainPath(config.stateDirectory)
                + (Self.stateDirectoryOrigin(config, environment: environment).map { " (\($0))" } ?? "")
        )
    }

    /// Why `state_dir` is what it is when the file does not set it: `the default`, or `from STATE_DIRECTORY`
    /// (systemd's `StateDirectory=`); `nil` when the file sets it.
    static func stateDirectoryOrigin(_ config: ObwatchConfig, environment: [String: String]) -> String? {
        guard config.stateDirectoryMark == nil else { return nil }
        return ObwatchConfig.defaultStateDirectory(environment: environment) == ObwatchConfig.builtInStateDirectory
            ? "the default" : "from STATE_DIRECTORY"
    }

    /// An error when obwatch could not create or write `state_dir`: at the key, or about the file when the folder
    /// is the default.
    static func checkStateDirectory(
        _ config: ObwatchConfig,
        environment: [String: String],
        into diagnostics: inout Diagnostics
    ) {
        guard let problem = StateDirectoryCheck.problem(path: config.stateDirectory) else { return }
        let shown = Self.plainPath(config.stateDirectory)
        guard let mark = config.stateDirectoryMark else {
            let origin = Self.stateDirectoryOrigin(config, environment: environment) ?? "the default"
            diagnostics.append(
                Diagnostic(
                    .error,
                    "state_dir \(shown) (\(origin), as the file sets none): \(problem)",
                    file: config.file
                )
            )
            return
        }
        diagnostics.error("state_dir \(shown): \(problem)", at: YAMLMark(mark))
    }

    /// A path as it is when it holds no space, quote or control character; quoted and escaped otherwise, so that
    /// a diagnostic stays one readable line.
    static func plainPath(_ path: String) -> String {
        let isPlain = path.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 && $0.value < 0x7F && $0 != "\"" }
        return isPlain ? path : ConfigDecoder.quotedPath(path)
    }

    /// Renders every rule's templates, for every receiver it notifies, against a sample event of every type, and
    /// each notification as one batch; an empty title is an error at the rule.
    /// - Returns: How many renderings were done.
    static func renderSamples(_ config: ObwatchConfig, into diagnostics: inout Diagnostics) -> Int {
        let samples = TemplateRenderer.sampleEvents()
        let zone = config.messageTimeZone
        var count = 0
        for rule in config.rules {
            for name in rule.receivers {
                guard let receiver = config.receiver(named: name) else { continue }
                let renderer: TemplateRenderer
                do {
                    renderer = try TemplateRenderer(
                        format: receiver.formatName,
                        overrides: rule.template,
                        timeZone: zone
                    )
                } catch {
                    diagnostics.error(error.message, at: YAMLMark(error.mark ?? rule.mark))
                    continue
                }
                for sample in samples where rule.matcher.types.contains(sample.type) {
                    let message = renderer.render(receiver: receiver.name, rule: rule.name, events: [sample])
                    count += 1
                    if message.title.trimmingCharacters(in: .whitespaces).isEmpty {
                        diagnostics.error(
                            "the title renders empty for a \(sample.type.rawValue) event to \(receiver.name)",
                            at: YAMLMark(rule.template.title?.mark ?? rule.mark)
                        )
                    }
                }
                _ = renderer.render(receiver: receiver.name, rule: rule.name, events: samples)
                count += 1
            }
        }
        return count
    }
}
