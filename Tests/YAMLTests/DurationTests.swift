import Testing
import YAML

@Suite struct DurationTests {
    @Test(arguments: [
        ("30s", Duration.seconds(30)),
        ("5m", .seconds(300)),
        ("1h30m", .seconds(5400)),
        ("2h", .seconds(7200)),
        ("500ms", .milliseconds(500)),
        ("1d", .seconds(86_400)),
        ("1h30m15s", .seconds(5415)),
        ("1m500ms", .milliseconds(60_500)),
        ("0s", .zero),
        ("90m", .seconds(5400)),
    ])
    func validDurations(text: String, expected: Duration) throws {
        let node = try root("after: \(text)\n")
        let value = try #require(node["after"])
        #expect(try value.duration() == expected)
        let written = try value.writtenDuration()
        #expect(written.text == text)
        #expect(written.duration == expected)
        #expect(Duration(yamlText: text) == expected)
    }

    @Test func quotedDurationIsAccepted() throws {
        let node = try root("after: \"30m\"\n")
        #expect(try #require(node["after"]).writtenDuration() == WrittenDuration("30m"))
    }

    @Test(arguments: [
        ("5", "t.yaml:1:8: error: invalid duration \"5\": the number 5 needs a unit (ms, s, m, h or d)"),
        ("5x", "t.yaml:1:8: error: invalid duration \"5x\": unknown unit \"x\" (use ms, s, m, h or d)"),
        ("-5s", "t.yaml:1:8: error: invalid duration \"-5s\": a duration cannot be negative"),
        (
            "1.5h",
            "t.yaml:1:8: error: invalid duration \"1.5h\": fractions are not allowed; combine units instead, such as 1h30m"
        ),
        (
            "30m1h",
            "t.yaml:1:8: error: invalid duration \"30m1h\": write units from the largest to the smallest, each at most once"
        ),
        (
            "1h1h",
            "t.yaml:1:8: error: invalid duration \"1h1h\": write units from the largest to the smallest, each at most once"
        ),
        ("h", "t.yaml:1:8: error: invalid duration \"h\": expected a number at \"h\""),
        ("1h 30m", "t.yaml:1:8: error: invalid duration \"1h 30m\": write 1h30m"),
        ("5 s", "t.yaml:1:8: error: invalid duration \"5 s\": write 5s"),
        ("5 minutes", "t.yaml:1:8: error: invalid duration \"5 minutes\": write 5m"),
        ("1 hour and 30 Minutes", "t.yaml:1:8: error: invalid duration \"1 hour and 30 Minutes\": write 1h30m"),
        ("10sec", "t.yaml:1:8: error: invalid duration \"10sec\": write 10s"),
        ("2 days, 3 hrs", "t.yaml:1:8: error: invalid duration \"2 days, 3 hrs\": write 2d3h"),
        (
            "30 minutes 1 hour",
            "t.yaml:1:8: error: invalid duration \"30 minutes 1 hour\": unexpected \" \" after 30"
        ),
        ("5 M", "t.yaml:1:8: error: invalid duration \"5 M\": unexpected \" \" after 5"),
        ("\"\"", "t.yaml:1:8: error: invalid duration \"\": write a number and a unit, such as 30s"),
        ("999999999999d", "t.yaml:1:8: error: invalid duration \"999999999999d\": too large"),
        ("99999999999999999999s", "t.yaml:1:8: error: invalid duration \"99999999999999999999s\": too large"),
        ("", "t.yaml:1:7: error: expected a duration such as 30s, 5m or 1h30m, found an empty value"),
        ("[5m]", "t.yaml:1:8: error: expected a duration such as 30s, 5m or 1h30m, found a list"),
    ])
    func invalidDurations(text: String, expected: String) throws {
        let node = try root("after: \(text)\n")
        let value = try #require(node["after"])
        #expect(failure { try value.duration() } == expected)
        #expect(failure { try value.writtenDuration() } == expected)
    }

    @Test func invalidTextGivesNil() {
        #expect(Duration(yamlText: "5") == nil)
        #expect(WrittenDuration("1.5h") == nil)
        #expect(WrittenDuration("") == nil)
    }

    @Test func durationWrittenForADefault() {
        #expect(WrittenDuration(.seconds(1800)).text == "30m")
        #expect(WrittenDuration(.seconds(5415)).text == "1h30m15s")
        #expect(WrittenDuration(.milliseconds(90_061_001)).text == "1d1h1m1s1ms")
        #expect(WrittenDuration(.zero).text == "0s")
        #expect(WrittenDuration(.seconds(-5)).text == "0s")
        #expect(WrittenDuration(.seconds(1800)).duration == .seconds(1800))
        #expect(WrittenDuration(.seconds(1800)).description == "30m")
    }
}
