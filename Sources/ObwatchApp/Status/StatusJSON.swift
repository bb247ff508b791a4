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
        if let node = self.currentNode {
            var object = OrderedJSONObject()
            object.string("id", node.id)
            object.string("name", node.name)
            object.string("state", node.state)
            json.raw("node", object.text)
        }
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
        return json.text
    }
}
