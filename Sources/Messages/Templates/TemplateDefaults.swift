import ConfigModel

/// The title and text each format uses when a rule's `template:` does not replace them.
///
/// Every default loops over `merged_events`, so a notification that carries several events names each of them once
/// (a `node_failed` that travels with its DAG's `failed` is shown by it); the title names the first and says what
/// they all are: `(2 events: node failed, DAG failed)`.
package enum TemplateDefaults {
    /// Every format templates are rendered for: the webhook formats, `email` and `syslog`.
    package static let formatNames: [String] = WebhookFormat.allCases.map(\.rawValue) + ["email", "syslog"]

    /// The default title, e.g. `[FIRING] Cluster scale out failed on prod-east` or, for a notification of several
    /// events, `[FIRING] Cluster scale out failed on prod-east (2 events: node failed, DAG failed)`; `nil` for an
    /// unknown format.
    /// - Parameter format: A name of ``formatNames``.
    package static func title(for format: String) -> String? {
        guard Self.formatNames.contains(format) else { return nil }
        return "[{{uppercased(status)}}] {{headline}}{{#more}} ({{count}} events: {{kinds}}){{/more}}"
    }

    /// The default text; `nil` for an unknown format.
    /// - Parameter format: A name of ``formatNames``.
    package static func text(for format: String) -> String? {
        guard Self.formatNames.contains(format) else { return nil }
        switch TemplateEscaping.forFormat(format) {
        case .slack: return Self.slackText
        case .markdown: return Self.markdownText
        case .teams: return Self.teamsText
        case .plain, .html: return Self.plainText
        }
    }

    private static let plainText = """
        {{#merged_events}}
        {{headline}}
        {{summary}}
        Target: {{target.name}}{{#target.url}} ({{.}}){{/target.url}}
        {{#dag}}
        DAG: {{name}} (id {{id}}), stage {{progress}}, {{state}}/{{operator}}\
        {{#previous}}, was stage {{stage}} {{state}}/{{operator}}{{/previous}}\
        {{#observed_mid_run}}, first seen mid-run{{/observed_mid_run}}
        {{/dag}}
        {{#node}}
        Node: {{name}} ({{state}}/{{operator}})
        {{/node}}
        {{#sub_tasks}}
        Sub-task: {{name}} (id {{id}}, {{state}}, ran {{execute_times}}x\
        {{#execute_agent}} on {{ip}}:{{port}}{{/execute_agent}}){{#last_log}}: {{.}}{{/last_log}}
        {{/sub_tasks}}
        {{#stalled_for}}
        No progress for {{.}} (threshold {{threshold}})
        {{/stalled_for}}
        {{#error}}
        Error: {{.}}
        {{/error}}
        At: {{at_local}}
        {{^last()}}

        {{/last()}}
        {{/merged_events}}
        """

    private static let slackText = """
        {{#merged_events}}
        *{{headline}}*
        {{summary}}
        • *Target:* {{target.name}}
        {{#dag}}
        • *DAG:* {{name}} (id {{id}}), stage {{progress}}, {{state}}/{{operator}}\
        {{#previous}}, was stage {{stage}} {{state}}/{{operator}}{{/previous}}\
        {{#observed_mid_run}}, first seen mid-run{{/observed_mid_run}}
        {{/dag}}
        {{#node}}
        • *Node:* {{name}} ({{state}}/{{operator}})
        {{/node}}
        {{#sub_tasks}}
        • *Sub-task:* {{name}} (id {{id}}, {{state}}, ran {{execute_times}}x\
        {{#execute_agent}} on {{ip}}:{{port}}{{/execute_agent}}){{#last_log}}: {{.}}{{/last_log}}
        {{/sub_tasks}}
        {{#stalled_for}}
        • *No progress for:* {{.}} (threshold {{threshold}})
        {{/stalled_for}}
        {{#error}}
        • *Error:* {{.}}
        {{/error}}
        • *At:* {{at_local}}
        {{^last()}}

        {{/last()}}
        {{/merged_events}}
        """

    /// The facts of one event as a Markdown list, shared by the Markdown formats.
    private static let markdownFacts = """
        - **Target:** {{target.name}}
        {{#dag}}
        - **DAG:** {{name}} (id {{id}}), stage {{progress}}, {{state}}/{{operator}}\
        {{#previous}}, was stage {{stage}} {{state}}/{{operator}}{{/previous}}\
        {{#observed_mid_run}}, first seen mid-run{{/observed_mid_run}}
        {{/dag}}
        {{#node}}
        - **Node:** {{name}} ({{state}}/{{operator}})
        {{/node}}
        {{#sub_tasks}}
        - **Sub-task:** {{name}} (id {{id}}, {{state}}, ran {{execute_times}}x\
        {{#execute_agent}} on {{ip}}:{{port}}{{/execute_agent}}){{#last_log}}: {{.}}{{/last_log}}
        {{/sub_tasks}}
        {{#stalled_for}}
        - **No progress for:** {{.}} (threshold {{threshold}})
        {{/stalled_for}}
        {{#error}}
        - **Error:** {{.}}
        {{/error}}
        - **At:** {{at_local}}

        """

    private static let markdownText = """
        {{#merged_events}}
        ### {{headline}}
        {{summary}}


        """ + markdownFacts + """
            {{^last()}}

            ---

            {{/last()}}
            {{/merged_events}}
            """

    private static let teamsText = """
        {{#merged_events}}
        **{{headline}}**

        {{summary}}


        """ + markdownFacts + """
            {{^last()}}

            {{/last()}}
            {{/merged_events}}
            """
}
