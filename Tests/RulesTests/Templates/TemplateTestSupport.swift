import ConfigModel
import Foundation
import Messages
import ObshellModel
import Tracker

/// Shared test data for the template tests.
enum TemplateTestSupport {
    /// Agent text that tries everything a chat message should never let through.
    static let hostile =
        "evil\r\n[FIRING] fake @all <!channel> @here <at user_id=\"all\">all</at> <@U123> *bold* _it_ "
        + "[x](http://evil) & `code` # h"

    /// The zone of the sample events' own offset.
    static let shanghai = TimeZone(secondsFromGMT: 28_800) ?? .current

    /// The sample of one type.
    static func sample(_ type: EventType) throws -> Event {
        let sample = TemplateRenderer.sampleEvents().first { $0.type == type }
        guard let sample else { throw TemplateTestFailure(message: "no sample of \(type)") }
        return sample
    }

    /// A failed event whose every piece of agent text is hostile.
    static func hostileEvent() throws -> Event {
        var event = try self.sample(.nodeFailed)
        event.target.name = self.hostile
        event.target.labels = ["env": self.hostile]
        event.dag?.name = self.hostile
        event.node?.name = self.hostile
        event.subTasks = [
            Event.SubTaskInfo(id: "14", name: self.hostile, state: "FAILED", executeTimes: 1, lastLog: self.hostile)
        ]
        return event
    }

    /// A source at a known place.
    static func source(
        _ text: String,
        line: Int = 5,
        column: Int = 14,
        quoted: Bool = false,
        block: Bool = false
    ) -> TemplateSource {
        TemplateSource(
            text: text,
            mark: SourcePosition(file: "rules.yaml", line: line, column: column),
            isQuoted: quoted,
            isBlock: block
        )
    }
}

/// A test precondition that did not hold.
struct TemplateTestFailure: Error {
    var message: String
}
