/// Days and dates of the proleptic Gregorian calendar in whole-number arithmetic: no `Calendar`, locale or time zone
/// database involved, so a time renders the same on every machine.
package enum CivilCalendar {
    /// The days since 1970-01-01 of a date (negative before it), exact for every year.
    /// - Parameters:
    ///   - year: The year.
    ///   - month: 1 to 12.
    ///   - day: 1 to 31 (not checked against the month).
    package static func days(year: Int, month: Int, day: Int) -> Int64 {
        // Howard Hinnant's days-from-civil algorithm: exact for the proleptic Gregorian calendar.
        let shiftedYear = Int64(month <= 2 ? year - 1 : year)
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = Int64((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1)
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date a count of days since 1970-01-01 falls on; the inverse of ``days(year:month:day:)``.
    package static func date(days: Int64) -> (year: Int64, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        let month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// A wall-clock date and time, without a zone.
package struct CivilTime: Sendable, Hashable {
    /// The year (proleptic Gregorian).
    package var year: Int
    /// 1 to 12.
    package var month: Int
    /// 1 to 31.
    package var day: Int
    /// 0 to 23.
    package var hour: Int
    /// 0 to 59.
    package var minute: Int
    /// 0 to 59.
    package var second: Int

    /// The date and time a count of seconds since 1970 reads as (shift it by an offset first for local time);
    /// `nil` far outside any real year.
    package init?(secondsSince1970 seconds: Int64) {
        let limit: Int64 = 253_402_300_800 * 2
        guard seconds > -limit && seconds < limit else { return nil }
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = CivilCalendar.date(days: days)
        self.year = Int(year)
        self.month = month
        self.day = day
        self.hour = secondOfDay / 3600
        self.minute = secondOfDay % 3600 / 60
        self.second = secondOfDay % 60
    }
}
