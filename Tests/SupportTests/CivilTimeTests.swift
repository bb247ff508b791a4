import Support
import Testing

@Suite("CivilTime: calendar arithmetic without a calendar")
struct CivilTimeTests {
    @Test func knownInstantsReadAsTheirDates() {
        #expect(CivilTime(secondsSince1970: 0) == civil(1970, 1, 1, 0, 0, 0))
        #expect(CivilTime(secondsSince1970: -1) == civil(1969, 12, 31, 23, 59, 59))
        #expect(CivilTime(secondsSince1970: 951_782_400) == civil(2000, 2, 29, 0, 0, 0))
        #expect(CivilTime(secondsSince1970: 1_704_886_472) == civil(2024, 1, 10, 11, 34, 32))
        #expect(CivilTime(secondsSince1970: 253_402_300_799) == civil(9999, 12, 31, 23, 59, 59))
    }

    @Test func farOutsideAnyRealYearIsNil() {
        #expect(CivilTime(secondsSince1970: Int64.max) == nil)
        #expect(CivilTime(secondsSince1970: Int64.min) == nil)
    }

    @Test func daysAndDatesAreInverse() {
        for days in stride(from: Int64(-800_000), through: 3_000_000, by: 997) {
            let date = CivilCalendar.date(days: days)
            #expect(CivilCalendar.days(year: Int(date.year), month: date.month, day: date.day) == days)
        }
        #expect(CivilCalendar.days(year: 1970, month: 1, day: 1) == 0)
        #expect(CivilCalendar.days(year: 2000, month: 3, day: 1) == 11_017)
    }

    private func civil(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int) -> CivilTime? {
        guard var time = CivilTime(secondsSince1970: 0) else { return nil }
        (time.year, time.month, time.day, time.hour, time.minute, time.second) = (
            year, month, day, hour, minute, second
        )
        return time
    }
}
