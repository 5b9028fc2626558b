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

    @Test("day N is the anchor plus N × 24 hours")
    func days() {
        let t = Timestamp(rfc3339: "2026-03-02T10:00:00Z")!
        #expect((t + .days(28)).rfc3339 == "2026-03-30T10:00:00Z")
        #expect((t + .hours(2)).rfc3339 == "2026-03-02T12:00:00Z")
    }
}
