package import Foundation
package import ObshellModel
package import Tracker

/// One `silences:` entry: events it matches are not sent while it is active (`replay` still prints them, with no
/// receivers).
package struct Silence: Sendable, Hashable {
    /// `match:`.
    package var matcher: EventMatcher
    /// When it is active.
    package var window: SilenceWindow
    /// `comment:`, for the log.
    package var comment: String?
    /// Where it is written.
    package var mark: SourcePosition

    /// Makes a silence.
    package init(matcher: EventMatcher, window: SilenceWindow, comment: String? = nil, mark: SourcePosition) {
        self.matcher = matcher
        self.window = window
        self.comment = comment
        self.mark = mark
    }

    /// Whether the silence covers `event` at the instant `now`.
    package func silences(_ event: Event, at now: ObshellTime) -> Bool {
        self.matcher.matches(event) && self.window.contains(now)
    }
}

/// When a silence is active.
package enum SilenceWindow: Sendable, Hashable {
    /// `from:` and `until:` instants (RFC 3339 with any offset); active from `from` inclusive to `until` exclusive.
    case absolute(from: ObshellTime, until: ObshellTime)
    /// `weekly:`: the same hours on chosen weekdays, in an IANA time zone.
    case weekly(WeeklyWindow)

    /// Whether `instant` falls inside.
    package func contains(_ instant: ObshellTime) -> Bool {
        switch self {
        case .absolute(let from, let until): !from.isLater(than: instant) && until.isLater(than: instant)
        case .weekly(let window): window.contains(instant.date)
        }
    }
}

/// Weekly hours in a time zone, such as "Saturday and Sunday 02:00 to 06:00 Asia/Shanghai".
///
/// The hours are wall-clock times of the zone, so a window keeps its local hours across a daylight-saving change. A
/// window whose end is not after its start runs past midnight into the next day (22:00 to 02:00); it belongs to the
/// weekday on which it starts. `from` equal to `until` means the whole day.
package struct WeeklyWindow: Sendable, Hashable {
    /// Weekdays, 1 = Sunday ... 7 = Saturday (Foundation's numbering).
    package var weekdays: Set<Int>
    /// Minutes after local midnight at which the window opens.
    package var startMinute: Int
    /// Minutes after local midnight at which it closes.
    package var endMinute: Int
    /// The zone the hours are read in.
    package var timeZone: TimeZone

    /// Makes a window.
    package init(weekdays: Set<Int>, startMinute: Int, endMinute: Int, timeZone: TimeZone) {
        self.weekdays = weekdays
        self.startMinute = startMinute
        self.endMinute = endMinute
        self.timeZone = timeZone
    }

    /// Whether `date` falls inside, read on the zone's wall clock.
    package func contains(_ date: Date) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = self.timeZone
        let parts = calendar.dateComponents([.weekday, .hour, .minute], from: date)
        guard let weekday = parts.weekday, let hour = parts.hour, let minute = parts.minute else { return false }
        let minuteOfDay = hour * 60 + minute
        let previousDay = weekday == 1 ? 7 : weekday - 1
        if self.startMinute == self.endMinute { return self.weekdays.contains(weekday) }
        if self.startMinute < self.endMinute {
            return self.weekdays.contains(weekday) && minuteOfDay >= self.startMinute && minuteOfDay < self.endMinute
        }
        // Past midnight: the evening part belongs to today, the morning part to yesterday's window.
        return (self.weekdays.contains(weekday) && minuteOfDay >= self.startMinute)
            || (self.weekdays.contains(previousDay) && minuteOfDay < self.endMinute)
    }
}

/// One `inhibit:` entry: while a source incident is open on a target and DAG, the listed event types of the same
/// target and DAG are not sent.
package struct Inhibition: Sendable, Hashable {
    /// `source:`: the firing types whose open incident inhibits.
    package var sources: Set<EventType>
    /// `suppress:`: the types not sent meanwhile.
    package var suppressed: Set<EventType>
    /// Where it is written.
    package var mark: SourcePosition

    /// Makes an inhibition.
    package init(sources: Set<EventType>, suppressed: Set<EventType>, mark: SourcePosition) {
        self.sources = sources
        self.suppressed = suppressed
        self.mark = mark
    }
}
