/// Templates of obshell's parameterised DAG and node names: the key history is kept under.
///
/// obshell builds many names with `fmt.Sprintf` (`Create tenant %s`, `Upgrade obshell %s-%s`, `Stop %s` for a zone),
/// so the raw name would split the runs of one kind of DAG into one key per tenant, zone or version. The table below
/// follows the format strings in obshell's executors (`ob/agent/executor/tenant/enter.go`, `executor/ob/backup.go`,
/// `backup_config.go`, `restore.go`, `cancel_restore.go`, `upgrade_agent.go`, `upgrade_agent_check.go`,
/// `upgrade_ob.go`, `upgrade_ob_check.go`, `upgrade_stop_zone.go`, `upgrade_start_zone.go`, `enter.go`,
/// `executor/agent/follower_remove.go`). A name no pattern matches is its own template.
///
/// ``version`` is part of every stored history: when the table changes so that a name maps to another template, the
/// version goes up and history keyed under older templates is dropped rather than mixed up.
package enum NameTemplates {
    /// The version of the table; stored with every history.
    package static let version = 1

    /// The template of a DAG name, e.g. `Create tenant {tenant}` for `Create tenant t1`.
    package static func dagTemplate(_ name: String) -> String {
        for pattern in Self.dagPatterns {
            if let template = pattern.template(of: name) { return template }
        }
        return name
    }

    /// The template of a node name within a DAG of `dagTemplate`, e.g. `Stop {zone}` for `Stop zone1` in a rolling
    /// upgrade. Zone nodes named `Start <zone>` and `Stop <zone>` exist only in the upgrade DAGs; elsewhere `Start
    /// observer` or `Stop OB` are fixed names, so those two patterns apply only there.
    package static func nodeTemplate(_ name: String, dagTemplate: String) -> String {
        for pattern in Self.nodePatterns {
            if let template = pattern.template(of: name) { return template }
        }
        if Self.upgradeDags.contains(dagTemplate) {
            for pattern in Self.upgradeZonePatterns {
                if let template = pattern.template(of: name) { return template }
            }
        }
        return name
    }

    private static let dagPatterns: [NamePattern] = [
        NamePattern(prefix: "Create tenant ", placeholder: .tenant),
        NamePattern(prefix: "Restore backup_", placeholder: .tenant),
        NamePattern(prefix: "Cancel restore ", placeholder: .tenant),
        NamePattern(prefix: "Upgrade obshell ", placeholder: .version),
        NamePattern(prefix: "Upgrade check obshell ", placeholder: .version),
        NamePattern(prefix: "Upgrade check OB ", placeholder: .version),
        NamePattern(prefix: "OB rolling upgrade ", placeholder: .version),
        NamePattern(prefix: "OB stop service upgrade ", placeholder: .version),
        NamePattern(prefix: "Obcluster start full backup for ", placeholder: .tenant),
        NamePattern(prefix: "Obcluster start increment backup for ", placeholder: .tenant),
        NamePattern(prefix: "Set obcluster backup config for ", placeholder: .tenant),
        NamePattern(prefix: "Remove follower agent ", placeholder: .address),
    ]

    private static let nodePatterns: [NamePattern] = [
        NamePattern(prefix: "Stop zone ", placeholder: .zone),
        NamePattern(prefix: "Delete zone ", placeholder: .zone),
        NamePattern(prefix: "Upgrade process ", placeholder: .index),
    ]

    private static let upgradeDags: Set<String> = ["OB rolling upgrade {version}", "OB stop service upgrade {version}"]

    private static let upgradeZonePatterns: [NamePattern] = [
        NamePattern(prefix: "Stop ", placeholder: .zone),
        NamePattern(prefix: "Start ", placeholder: .zone),
    ]
}

/// A fixed prefix followed by one parameter to the end of the name.
struct NamePattern: Sendable, Hashable {
    /// What a parameter may be; each is one word except a tenant name.
    enum Placeholder: String, Sendable, Hashable {
        case tenant, zone, version, address, index

        func accepts(_ value: Substring) -> Bool {
            guard !value.isEmpty else { return false }
            switch self {
            case .index: return value.allSatisfy { $0.isASCII && $0.isNumber }
            case .tenant, .zone, .version, .address: return !value.contains(" ")
            }
        }
    }

    var prefix: String
    var placeholder: Placeholder

    func template(of name: String) -> String? {
        guard name.hasPrefix(self.prefix) else { return nil }
        let value = name.dropFirst(self.prefix.count)
        guard self.placeholder.accepts(value) else { return nil }
        return self.prefix + "{" + self.placeholder.rawValue + "}"
    }
}
