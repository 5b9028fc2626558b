import Testing
import Pathway

@Suite("RFC 3339 times")
struct TimestampTests {
    @Test("reads offsets and writes UTC", arguments: [
        ("2026-03-02T10:15:00Z", "2026-03-02T10:15:00Z"),
        ("2026-03-02T11:15:00+01:00", "2026-03-02T10:15:00Z"),
        ("2026-03-02T05:45:00-04:30", "2026-03-02T10:15:00Z"),
        ("2026-03-02t10:15:00z", "2026-03-02T10:15:00Z"),
        ("2026-03-02T10:15:00.25Z", "2026-03-02T10:15:00.250Z"),
        ("2026-03-02T10:15:00.123456Z", "2026-03-02T10:15:00.123Z"),
        ("2024-02-29T23:59:59Z", "2024-02-29T23:59:59Z"),
        ("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.500Z"),
        ("2000-01-01T00:00:00+14:00", "1999-12-31T10:00:00Z"),
        ("0001-01-01T00:00:00.007Z", "0001-01-01T00:00:00.007Z"),
        ("9999-12-31T23:59:59.090Z", "9999-12-31T23:59:59.090Z"),
        ("0999-09-09T09:09:09.9Z", "0999-09-09T09:09:09.900Z"),
    ])
    func parseAndFormat(_ input: String, _ output: String) {
        #expect(Timestamp(rfc3339: input)?.rfc3339 == output)
    }

    @Test("rejects times without an offset or that do not exist", arguments: [
        "2026-03-02T10:15:00", "2026-03-02 10:15:00Z", "2026-02-29T10:00:00Z", "2026-13-01T00:00:00Z",
        "2026-04-31T00:00:00Z", "2026-03-02T24:00:00Z", "2026-03-02T10:60:00Z", "2026-03-02T10:15:00+0100",
        "2026-03-02T10:15:00.Z", "2026-03-02", "", "2026-03-02T10:15:00Z ", "2026-03-02T10:15:00+24:00",
    ])
    func rejects(_ input: String) {
        #expect(Timestamp(rfc3339: input) == nil)
    }

    @Test("any instant from year 1 to 9999 is written in the fixed form and reads back as itself")
    func roundTrip() {
        let first = Timestamp(rfc3339: "0001-01-01T00:00:00Z")!.millisecondsSinceEpoch
        let last = Timestamp(rfc3339: "9999-12-31T23:59:59.999Z")!.millisecondsSinceEpoch
        // 20,000 instants spread over the whole range; the odd step varies every field.
        let step = (last - first) / 20_000 + 7_919
        for ms in stride(from: first, through: last, by: Int(step)) {
            let text = Timestamp(millisecondsSinceEpoch: ms).rfc3339
            #expect(text.utf8.count == (ms % 1000 == 0 ? 20 : 24), "\(text)")
            #expect(Timestamp(rfc3339: text)?.millisecondsSinceEpoch == ms, "\(ms) was written as \(text)")
        }
    }

    @Test("writes a time in a UTC offset as the local time and ±HH:MM, and Z for offset 0", arguments: [
        ("2026-03-02T10:15:00Z", 0, "2026-03-02T10:15:00Z"),
        ("2026-03-02T10:15:00Z", 60, "2026-03-02T11:15:00+01:00"),
        ("2026-03-02T10:15:00Z", -270, "2026-03-02T05:45:00-04:30"),
        ("2026-03-02T10:15:00.250Z", 330, "2026-03-02T15:45:00.250+05:30"),
        ("2026-01-01T02:00:00Z", -300, "2025-12-31T21:00:00-05:00"),
        ("2024-02-28T23:00:00Z", 840, "2024-02-29T13:00:00+14:00"),
        ("2026-03-01T11:59:59.999Z", -720, "2026-02-28T23:59:59.999-12:00"),
        ("2026-03-02T10:15:00Z", -1, "2026-03-02T10:14:00-00:01"),
    ])
    func formatInOffset(_ instant: String, _ offsetMinutes: Int, _ text: String) {
        #expect(Timestamp(rfc3339: instant)?.rfc3339(offsetMinutes: offsetMinutes) == text)
    }

    @Test("a time written in any offset from -12:00 to +14:00 reads back as the same instant")
    func offsetRoundTrip() {
        let first = Timestamp(rfc3339: "1970-01-01T00:00:00Z")!.millisecondsSinceEpoch
        let last = Timestamp(rfc3339: "2100-01-01T00:00:00Z")!.millisecondsSinceEpoch
        // 40 instants spread over 130 years (the odd step varies every field), in every whole-minute offset.
        let step = (last - first) / 40 + 7_919
        for ms in stride(from: first, through: last, by: Int(step)) {
            let t = Timestamp(millisecondsSinceEpoch: ms)
            for offset in -720...840 {
                let text = t.rfc3339(offsetMinutes: offset)
                #expect(Timestamp(rfc3339: text) == t, "\(t) in offset \(offset) was written as \(text)")
                #expect(text.hasSuffix("Z") == (offset == 0), "\(text)")
            }
        }
        #expect(Timestamp(millisecondsSinceEpoch: first).rfc3339(offsetMinutes: 0) == "1970-01-01T00:00:00Z")
    }

    @Test("day N is the anchor plus N × 24 hours")
    func days() {
        let t = Timestamp(rfc3339: "2026-03-02T10:00:00Z")!
        #expect((t + .days(28)).rfc3339 == "2026-03-30T10:00:00Z")
        #expect((t + .hours(2)).rfc3339 == "2026-03-02T12:00:00Z")
    }
}
