import ObshellModel
import Support
import Tracker

extension DagStatus {
    /// The row as a JSON object, keys in the order of the table the API documents.
    var jsonObject: String {
        var json = OrderedJSONObject()
        json.string("target", self.target)
        json.string("id", self.id)
        json.integer("dag_id", self.dagID)
        json.string("name", self.name)
        json.string("state", self.state)
        json.string("operator", self.operator)
        json.integer("stage", Int64(self.stage))
        json.integer("max_stage", Int64(self.maxStage))
        if let node = self.currentNode { json.raw("node", Self.nodeObject(node)) }
        json.string("last_seen", self.lastSeen.text)
        json.string("last_progress", self.lastProgress.text)
        json.integer("stall_seconds", self.stallSeconds)
        json.string("phase", self.phase)
        if let seconds = self.usualSeconds { json.integer("usual_seconds", seconds) }
        if let eta = self.eta {
            var object = OrderedJSONObject()
            object.integer("low_seconds", eta.lowSeconds)
            object.integer("typical_seconds", eta.typicalSeconds)
            object.integer("high_seconds", eta.highSeconds)
            object.string("text", eta.text)
            json.raw("eta", object.text)
        }
        // Added after the first release, at the end so that readers of the documented order keep working.
        json.string("start_time", self.startTime?.text)
        if let seconds = self.elapsedSeconds { json.integer("elapsed_seconds", seconds) }
        if let node = self.failedNode { json.raw("failed_node", Self.nodeObject(node)) }
        return json.text
    }

    private static func nodeObject(_ node: Node) -> String {
        var object = OrderedJSONObject()
        object.string("id", node.id)
        object.string("name", node.name)
        object.string("state", node.state)
        object.string("last_log", node.lastLog)
        return object.text
    }
}
