package import ObshellModel
package import Tracker

/// Where a reader of `/api/v1/events` left off: the `next` of its last answer, or an instant.
package enum EventCursor: Sendable, Hashable {
    /// Events whose sequence number is this or later.
    case sequence(Int64)
    /// Events whose `at` is after this instant.
    case after(ObshellTime)

    /// Reads a `since=` value: a non-negative integer is a sequence number, an RFC 3339 instant is a time; anything
    /// else is `nil`.
    /// - Parameter text: The query parameter's value.
    package init?(parsing text: String) {
        if let number = Int64(text), number >= 0 {
            self = .sequence(number)
        } else if let time = ObshellTime(text) {
            self = .after(time)
        } else {
            return nil
        }
    }
}

/// One answer of ``EventLog/events(since:)``.
package struct EventPage: Sendable, Hashable {
    /// The events asked for, oldest first, each with its sequence number.
    package var events: [LoggedEvent]
    /// The cursor for the next question: one past the newest sequence number handed out so far.
    package var next: Int64

    /// Makes a page.
    package init(events: [LoggedEvent], next: Int64) {
        self.events = events
        self.next = next
    }
}

/// An event as the log keeps it.
package struct LoggedEvent: Sendable, Hashable {
    /// Its place in the log: 1 for the first event ever appended, never reused.
    package var sequence: Int64
    /// The event.
    package var event: Event

    /// Makes an entry.
    package init(sequence: Int64, event: Event) {
        self.sequence = sequence
        self.event = event
    }
}

/// The most recent events, for `/api/v1/events`: a bounded ring, so a daemon that runs for months keeps only the
/// last ``capacity`` events in memory.
package actor EventLog {
    /// How many events are kept; older ones are dropped first.
    package let capacity: Int
    private var entries: [LoggedEvent] = []
    /// Where the oldest entry sits in `entries` once the ring is full.
    private var start = 0
    private var nextSequence: Int64 = 1

    /// Makes an empty log.
    /// - Parameter capacity: How many events to keep (at least 1).
    package init(capacity: Int = 1000) {
        self.capacity = max(capacity, 1)
    }

    /// Appends events in order, dropping the oldest beyond ``capacity``.
    /// - Parameter events: The new events.
    package func append(_ events: [Event]) {
        for event in events {
            let entry = LoggedEvent(sequence: self.nextSequence, event: event)
            self.nextSequence += 1
            if self.entries.count < self.capacity {
                self.entries.append(entry)
            } else {
                self.entries[self.start] = entry
                self.start = (self.start + 1) % self.capacity
            }
        }
    }

    /// The kept events after a cursor, oldest first; all kept events when `cursor` is `nil`.
    /// - Parameter cursor: Where the reader left off.
    package func events(since cursor: EventCursor?) -> EventPage {
        let ordered = Array(self.entries[self.start...] + self.entries[..<self.start])
        let selected: [LoggedEvent]
        switch cursor {
        case nil: selected = ordered
        case .sequence(let sequence): selected = ordered.filter { $0.sequence >= sequence }
        case .after(let instant): selected = ordered.filter { Self.isAfter($0.event.at, instant) }
        }
        return EventPage(events: selected, next: self.nextSequence)
    }

    /// Compares instants only: two texts of one instant in different zones are the same time.
    private static func isAfter(_ time: ObshellTime, _ instant: ObshellTime) -> Bool {
        if time.seconds != instant.seconds { return time.seconds > instant.seconds }
        return time.nanoseconds > instant.nanoseconds
    }
}
