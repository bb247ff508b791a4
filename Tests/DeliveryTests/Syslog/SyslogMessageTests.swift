import ConfigModel
import Foundation
import ObshellModel
import Testing
import Tracker

@testable import Delivery

/// The formatter alone: exact bytes, priorities, timestamps, escaping, one-line and size limits.
struct SyslogMessageTests {
    static let settings5424 = SyslogSettings(address: .unix(path: "/dev/log"), format: .rfc5424, facility: 16)
    static let settings3164 = SyslogSettings(address: .unix(path: "/dev/log"), format: .rfc3164, facility: 16)
    static let notification = OutboundNotification(
        receiver: "audit",
        rule: "audit-trail",
        events: [MailFixtures.failed()]
    )

    static func format(
        _ event: Event,
        text: String = "Cluster scale out failed",
        settings: SyslogSettings = Self.settings5424,
        hostname: String = "mon-1",
        sequence: UInt64 = 7,
        timeZone: TimeZone = TimeZone(secondsFromGMT: 0) ?? .current
    ) -> Data {
        SyslogMessage.format(
            event: event,
            notification: Self.notification,
            text: text,
            settings: settings,
            hostname: hostname,
            processID: 4242,
            sequence: sequence,
            timeZone: timeZone
        )
    }

    @Test func rfc5424IsExact() {
        let event = MailFixtures.failed()
        let expected =
            "<130>1 2024-01-10T11:34:32.520371+08:00 mon-1 obwatch 4242 failed [obwatch@32473 target=\"prod-east\" "
            + "dag_id=\"11\" dag=\"Cluster scale out\" type=\"failed\" status=\"firing\" incident=\"prod-east/11/failed\" "
            + "rule=\"audit-trail\" receiver=\"audit\" event_id=\"\(event.id)\" severity=\"critical\" stage=\"4/9\" "
            + "state=\"FAILED\"][meta sequenceId=\"7\"] \u{FEFF}Cluster scale out failed"
        #expect(String(decoding: Self.format(event), as: UTF8.self) == expected)
    }

    @Test("a test-receiver sample is marked in the text and the structured data, in both formats")
    func aTestSaysSo() throws {
        var event = MailFixtures.failed()
        event.type = .test
        let parsed = try SyslogParsed5424(Self.format(event))
        #expect(parsed.msgID == "test")
        let element = try #require(parsed.element("obwatch@32473"))
        #expect(element.value("type") == "test")
        #expect(element.value("test") == "true")
        let text = String(decoding: Self.format(event), as: UTF8.self)
        #expect(text.hasSuffix("\u{FEFF}[TEST] Cluster scale out failed"))
        let bsd = String(decoding: Self.format(event, settings: Self.settings3164), as: UTF8.self)
        #expect(bsd.hasSuffix(": [TEST] Cluster scale out failed"))
        // A real event carries no test parameter.
        #expect(try SyslogParsed5424(Self.format(MailFixtures.failed())).element("obwatch@32473")?.value("test") == nil)
    }

    @Test func rfc5424ParsesStrictly() throws {
        let parsed = try SyslogParsed5424(Self.format(MailFixtures.retried()))
        #expect(parsed.priority == 16 * 8 + 5)
        #expect(parsed.timestamp == "2024-01-10T11:52:07.000001+08:00")
        #expect(parsed.hostname == "mon-1")
        #expect(parsed.appName == "obwatch")
        #expect(parsed.procID == "4242")
        #expect(parsed.msgID == "retried")
        let element = try #require(parsed.element("obwatch@32473"))
        #expect(element.value("status") == "resolved")
        #expect(element.value("incident") == "prod-east/11/failed")
        #expect(parsed.element("meta")?.value("sequenceId") == "7")
        #expect(parsed.message == "Cluster scale out failed")
    }

    @Test func targetEventsLeaveOutDAGParameters() throws {
        let event = Event(
            id: "e1",
            type: .targetDown,
            incident: "prod-east/target_down",
            at: MailFixtures.time("2024-01-10T03:00:00Z"),
            target: MailFixtures.target,
            error: "connection refused",
            summary: "prod-east is down"
        )
        let parsed = try SyslogParsed5424(Self.format(event, text: ""))
        let element = try #require(parsed.element("obwatch@32473"))
        #expect(element.value("dag_id") == nil && element.value("dag") == nil && element.value("stage") == nil)
        #expect(parsed.timestamp == "2024-01-10T03:00:00Z")
        #expect(parsed.message == nil)
    }

    @Test func priorityFollowsSeverityAndStatus() {
        var event = MailFixtures.failed()
        #expect(SyslogMessage.priority(event: event, facility: 16) == 130)
        event.severity = .warning
        #expect(SyslogMessage.priority(event: event, facility: 1) == 12)
        event.severity = .info
        #expect(SyslogMessage.priority(event: event, facility: 0) == 6)
        #expect(SyslogMessage.priority(event: MailFixtures.retried(), facility: 23) == 189)
        #expect(SyslogMessage.priority(event: MailFixtures.started(), facility: 99) == 23 * 8 + 6)
        #expect(SyslogMessage.priority(event: MailFixtures.started(), facility: -3) == 6)
    }

    @Test func timestampsKeepSixDigitsAndTheOffset() {
        #expect(
            SyslogMessage.timestamp(MailFixtures.time("2024-01-10T11:34:32.520371417+08:00"))
                == "2024-01-10T11:34:32.520371+08:00"
        )
        #expect(
            SyslogMessage.timestamp(MailFixtures.time("2024-01-10T11:34:32.5-05:30")) == "2024-01-10T11:34:32.5-05:30"
        )
        #expect(SyslogMessage.timestamp(MailFixtures.time("2024-02-29T00:00:00.000000999Z")) == "2024-02-29T00:00:00Z")
        #expect(SyslogMessage.timestamp(MailFixtures.time("1969-12-31T23:59:59Z")) == "1969-12-31T23:59:59Z")
        #expect(SyslogMessage.timestamp(ObshellTime(seconds: 0, nanoseconds: 0)) == "1970-01-01T00:00:00Z")
    }

    @Test(arguments: [
        "line one\r\nline two\nline three\rfour",
        "brackets ] quotes \" backslash \\ end\\",
        "separators \u{2028} \u{2029} \u{85} nul \u{0} esc \u{1B}[31m tab\t del \u{7F}",
        String(repeating: "10 KB of agent log, with ] and \" and \\ and \n newlines. 日本語 🚨 ", count: 160),
    ])
    func hostileTextStaysOneMessage(text: String) throws {
        let event = MailFixtures.failed(name: "DAG \(text)", log: text)
        let data = Self.format(event, text: text)
        #expect(data.count <= SyslogMessage.maximumRFC5424Length)
        let parsed = try SyslogParsed5424(data)
        let element = try #require(parsed.element("obwatch@32473"))
        let dag = try #require(element.value("dag"))
        let message = try #require(parsed.message)
        for decoded in [dag, message] {
            #expect(!decoded.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
            #expect(!decoded.contains("\u{2028}") && !decoded.contains("\u{2029}"))
        }
        let oneLine = SyslogMessage.oneLine(text)
        #expect(oneLine.hasPrefix(message))
        #expect(("DAG " + oneLine).hasPrefix(dag))
        if text.utf8.count < 1000 {
            #expect(message == oneLine)
            #expect(dag == "DAG " + oneLine)
        }
        #expect(element.value("rule") == "audit-trail")
    }

    @Test func rfc3164IsExact() {
        let text = String(decoding: Self.format(MailFixtures.failed(), settings: Self.settings3164), as: UTF8.self)
        #expect(text == "<130>Jan 10 03:34:32 mon-1 obwatch[4242]: Cluster scale out failed")
    }

    @Test func rfc3164UsesTheGivenZoneAndPadsTheDay() throws {
        var event = MailFixtures.started()
        event.at = MailFixtures.time("2024-03-05T01:02:03-07:00")
        let utc = try SyslogParsed3164(Self.format(event, settings: Self.settings3164))
        #expect(utc.timestamp == "Mar  5 08:02:03")
        let shanghai = try #require(TimeZone(identifier: "Asia/Shanghai"))
        let local = try SyslogParsed3164(Self.format(event, settings: Self.settings3164, timeZone: shanghai))
        #expect(local.timestamp == "Mar  5 16:02:03")
        #expect(local.priority == 16 * 8 + 6)
        #expect(local.tag == "obwatch" && local.processID == "4242" && local.hostname == "mon-1")
    }

    @Test func rfc3164IsCutAtACharacterBoundary() throws {
        let text = "告警\r\n" + String(repeating: "日本語🚨", count: 400)
        for prefix in 0..<4 {
            let data = Self.format(
                MailFixtures.failed(),
                text: String(repeating: "x", count: prefix) + text,
                settings: Self.settings3164
            )
            #expect(data.count <= 1024 && data.count > 1000)
            let parsed = try SyslogParsed3164(data)
            #expect(parsed.message.hasPrefix(String(repeating: "x", count: prefix) + "告警 日本語🚨"))
        }
    }

    @Test func headerFieldsStayPrintable() throws {
        let settings = SyslogSettings(
            address: .unix(path: "/dev/log"),
            format: .rfc5424,
            facility: 16,
            appName: "ob watch\n[x]: " + String(repeating: "a", count: 60)
        )
        let parsed = try SyslogParsed5424(
            Self.format(MailFixtures.failed(), settings: settings, hostname: "évil host\r\n")
        )
        #expect(parsed.hostname == "vilhost")
        #expect(parsed.appName == "obwatch[x]:" + String(repeating: "a", count: 37))
        let empty = try SyslogParsed5424(Self.format(MailFixtures.failed(), hostname: ""))
        #expect(empty.hostname == "-")
        let bsd = SyslogSettings(
            address: .unix(path: "/dev/log"),
            format: .rfc3164,
            facility: 16,
            appName: "ob[watch]:"
        )
        let parsed3164 = try SyslogParsed3164(Self.format(MailFixtures.failed(), settings: bsd, hostname: "a b"))
        #expect(parsed3164.tag == "obwatch")
        #expect(parsed3164.hostname == "ab")
    }

    @Test func extremeTimesDoNotCrash() throws {
        // ObshellTime's own init traps near Int64.max (reported), so the extremes stay a little inside.
        for seconds: Int64 in [1_000_000_000_000_000, -1_000_000_000_000_000, -62_200_000_000, 253_402_300_800] {
            var event = MailFixtures.failed()
            event.at = ObshellTime(seconds: seconds, nanoseconds: 999_999_999, utcOffsetSeconds: 50_400)
            let parsed = try SyslogParsed5424(Self.format(event))
            #expect(parsed.timestamp == "-")
            _ = try SyslogParsed3164(Self.format(event, settings: Self.settings3164))
        }
    }

    @Test func sequenceIDsWrapIntoTheRFCRange() {
        #expect(SyslogMessage.sequenceID(1) == 1)
        #expect(SyslogMessage.sequenceID(2_147_483_647) == 2_147_483_647)
        #expect(SyslogMessage.sequenceID(2_147_483_648) == 1)
        #expect(SyslogMessage.sequenceID(0) == 1)
        #expect(SyslogMessage.sequenceID(.max) <= 2_147_483_647)
    }
}
