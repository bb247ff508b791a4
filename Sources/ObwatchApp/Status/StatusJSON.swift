import Obshell

/// JSON written key by key in the order given, the way `Event.jsonLine()` writes events: Foundation's encoder on
/// Linux neither keeps key order nor leaves `/` alone.
struct StatusJSONObject {
    private var body = ""

    /// The object, braces included.
    var text: String { "{" + self.body + "}" }

    mutating func raw(_ key: String, _ json: String) {
        if !self.body.isEmpty { self.body += "," }
        self.body += Self.quote(key) + ":" + json
    }

    mutating func string(_ key: String, _ value: String?) {
        guard let value else { return }
        self.raw(key, Self.quote(value))
    }

    mutating func integer(_ key: String, _ value: Int64) {
        self.raw(key, String(value))
    }

    mutating func strings(_ key: String, _ values: [String]) {
        self.raw(key, "[" + values.map(Self.quote).joined(separator: ",") + "]")
    }

    /// A JSON string literal: only what JSON requires is escaped (`"`, `\` and control characters).
    static func quote(_ value: String) -> String {
        var text = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        return text + "\""
    }
}

extension DagStatus {
    /// The row as a JSON object, keys in the order of the table the API documents.
    var jsonObject: String {
        var json = StatusJSONObject()
        json.string("target", self.target)
        json.string("id", self.id)
        json.integer("dag_id", self.dagID)
        json.string("name", self.name)
        json.string("state", self.state)
        json.string("operator", self.operator)
        json.integer("stage", Int64(self.stage))
        json.integer("max_stage", Int64(self.maxStage))
        if let node = self.currentNode {
            var object = StatusJSONObject()
            object.string("id", node.id)
            object.string("name", node.name)
            object.string("state", node.state)
            json.raw("node", object.text)
        }
        json.string("last_seen", self.lastSeen.text)
        json.string("last_progress", self.lastProgress.text)
        json.integer("stall_seconds", self.stallSeconds)
        json.string("phase", self.phase)
        return json.text
    }
}
