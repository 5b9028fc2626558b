public import CarepathJSON

/// An instant, in milliseconds since 1970-01-01T00:00:00Z.
///
/// carepath reads RFC 3339 times with any offset and writes them in one fixed
/// form, UTC with a `Z` (`2026-03-02T10:15:00Z`, or `2026-03-02T10:15:00.250Z`
/// when there are milliseconds), so the same instant always has the same bytes.
/// Fractions below a millisecond are truncated.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    public static func + (lhs: Timestamp, rhs: Span) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: lhs.millisecondsSinceEpoch + rhs.milliseconds)
    }

    public static func - (lhs: Timestamp, rhs: Timestamp) -> Span {
        Span(milliseconds: lhs.millisecondsSinceEpoch - rhs.millisecondsSinceEpoch)
    }

    public var description: String { rfc3339 }

    /// The instant in carepath's fixed output form.
    public var rfc3339: String {
        withRFC3339 { String(decoding: $0, as: UTF8.self) }
    }

    /// Writes the instant as a JSON string in carepath's fixed output form
    /// (the bytes of `w.string(rfc3339)`, without making the `String`).
    public func write(to w: inout JSONWriter) {
        withRFC3339 { w.escaped($0) }
    }

    /// The instant in RFC 3339 as a producer in the given UTC offset writes it:
    /// the local date and time, then the offset as `±HH:MM`; for offset 0,
    /// carepath's fixed output form (``rfc3339``, with `Z`).
    ///
    /// ``init(rfc3339:)`` reads it back as the same instant. carepath writes its
    /// own times in UTC; this is for writing input events as a hospital would
    /// (``InputEvent/writeCloudEvent(to:timeOffsetMinutes:)``).
    ///
    /// ```swift
    /// let t = Timestamp(rfc3339: "2026-03-02T10:15:00Z")!
    /// t.rfc3339(offsetMinutes: 60)    // "2026-03-02T11:15:00+01:00"
    /// t.rfc3339(offsetMinutes: -270)  // "2026-03-02T05:45:00-04:30"
    /// ```
    ///
    /// - Parameter offsetMinutes: minutes east of UTC (`60` is `+01:00`, `-300`
    ///   is `-05:00`); less than 24 hours either way, as RFC 3339 allows.
    /// - Returns: the text, without quotes.
    public func rfc3339(offsetMinutes: Int) -> String {
        withRFC3339(offsetMinutes: offsetMinutes) { String(decoding: $0, as: UTF8.self) }
    }

    /// Calls `body` with the ASCII bytes of ``rfc3339(offsetMinutes:)``.
    func withRFC3339<Result>(offsetMinutes: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        precondition(abs(offsetMinutes) < 24 * 60, "a UTC offset is less than 24 hours either way")
        guard offsetMinutes != 0 else { return withRFC3339(body) }
        let local = self + Span(milliseconds: Int64(offsetMinutes) * 60_000)
        return local.withRFC3339 { utc in
            // The local time's fixed form with `±HH:MM` in place of its `Z`.
            var text = Array(utc.dropLast())
            func twoDigits(_ value: Int) {
                text.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value / 10))
                text.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value % 10))
            }
            let magnitude = abs(offsetMinutes)
            text.append(UInt8(ascii: offsetMinutes < 0 ? "-" : "+"))
            twoDigits(magnitude / 60)
            text.append(UInt8(ascii: ":"))
            twoDigits(magnitude % 60)
            return text.withUnsafeBufferPointer(body)
        }
    }

    /// Calls `body` with the ASCII bytes of ``rfc3339``, formatted on the stack.
    func withRFC3339<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        let ms = millisecondsSinceEpoch
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let fraction = Int(ms - seconds * 1000)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = Self.civil(fromDays: days)
        // YYYY-MM-DDTHH:MM:SS.mmmZ is 24 bytes at most.
        var text: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                   UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &text) { out in
            var n = 0
            func put(_ byte: UInt8) {
                out[n] = byte
                n += 1
            }
            /// Two decimal digits of `value` (0...99); constant divisors only, so no division instruction.
            func twoDigits(_ value: Int) {
                put(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value / 10))
                put(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value % 10))
            }
            twoDigits(year / 100 % 100); twoDigits(year % 100); put(UInt8(ascii: "-"))
            twoDigits(month); put(UInt8(ascii: "-"))
            twoDigits(day); put(UInt8(ascii: "T"))
            twoDigits(secondOfDay / 3600); put(UInt8(ascii: ":"))
            twoDigits(secondOfDay / 60 % 60); put(UInt8(ascii: ":"))
            twoDigits(secondOfDay % 60)
            if fraction != 0 {
                put(UInt8(ascii: "."))
                put(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: fraction / 100))
                twoDigits(fraction % 100)
            }
            put(UInt8(ascii: "Z"))
            return body(UnsafeBufferPointer(start: out.baseAddress!.assumingMemoryBound(to: UInt8.self), count: n))
        }
    }

    /// Parses an RFC 3339 `date-time`; the offset (`Z` or `±HH:MM`) is required.
    ///
    /// - Parameter text: for example `2026-03-02T10:15:00+01:00`.
    /// - Returns: the instant, or `nil` when `text` is not an RFC 3339 date-time
    ///   with an offset (a missing offset, a day that does not exist, and so on).
    public init?(rfc3339 text: String) {
        var text = text
        guard let value = text.withUTF8({ Self.parse($0) }) else { return nil }
        self = value
    }

    private static func parse(_ b: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        // YYYY-MM-DDTHH:MM:SS[.f+](Z|±HH:MM)
        guard b.count >= 20 else { return nil }
        func number(_ start: Int, _ count: Int) -> Int? {
            var value = 0
            for i in start..<(start + count) {
                let d = b[i] &- UInt8(ascii: "0")
                guard d < 10 else { return nil }
                value = value * 10 + Int(d)
            }
            return value
        }
        guard let year = number(0, 4), b[4] == UInt8(ascii: "-"),
              let month = number(5, 2), b[7] == UInt8(ascii: "-"),
              let day = number(8, 2), b[10] | 0x20 == UInt8(ascii: "t"),
              let hour = number(11, 2), b[13] == UInt8(ascii: ":"),
              let minute = number(14, 2), b[16] == UInt8(ascii: ":"),
              let second = number(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var i = 19
        var millis = 0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            var digitsRead = 0
            while i < b.count, b[i] &- UInt8(ascii: "0") < 10 {
                if digitsRead < 3 { millis = millis * 10 + Int(b[i] - UInt8(ascii: "0")) }
                digitsRead += 1
                i += 1
            }
            guard digitsRead > 0 else { return nil }
            for _ in min(digitsRead, 3)..<3 { millis *= 10 }
        }
        guard i < b.count else { return nil }
        var offsetSeconds = 0
        if b[i] | 0x20 == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard b.count - i == 6, let oh = number(i + 1, 2), b[i + 3] == UInt8(ascii: ":"),
                  let om = number(i + 4, 2), oh <= 23, om <= 59
            else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
        return Timestamp(millisecondsSinceEpoch: seconds * 1000 + Int64(millis))
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's civil-date algorithms.
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func civil(fromDays days: Int64) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(m <= 2 ? y + 1 : y), Int(m), Int(d))
    }
}

/// A length of time, in milliseconds. Pathway clocks count in whole days of
/// 24 hours ("day N" is the anchor plus N × 24 hours) and in hours.
public struct Span: Sendable, Hashable, Comparable {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    public static func days(_ n: Int) -> Span { Span(milliseconds: Int64(n) * 86_400_000) }
    public static func hours(_ n: Int) -> Span { Span(milliseconds: Int64(n) * 3_600_000) }

    public static func < (lhs: Span, rhs: Span) -> Bool { lhs.milliseconds < rhs.milliseconds }
}

extension JSONWriter.ObjectWriter {
    /// A member whose value is a time in carepath's fixed output form.
    mutating func field(_ key: String, _ time: Timestamp) {
        time.withRFC3339 { field(key, utf8: $0) }
    }

    /// A member whose value is a time written in a UTC offset (``Timestamp/rfc3339(offsetMinutes:)``).
    mutating func field(_ key: String, _ time: Timestamp, offsetMinutes: Int) {
        time.withRFC3339(offsetMinutes: offsetMinutes) { field(key, utf8: $0) }
    }
}
