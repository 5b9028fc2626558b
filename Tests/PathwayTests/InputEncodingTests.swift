import CarepathJSON
import CarepathSimulation
import Pathway
import Testing

/// The input format written once: ``InputEvent/writeCloudEvent(to:timeOffsetMinutes:)``
/// writes what ``InputDecoder`` reads, and the synthetic cohort is written with it.
@Suite("Input events on the wire")
struct InputEncodingTests {
    static let start = Timestamp(rfc3339: "2026-01-01T00:00:00Z")!

    /// Cohorts of a few seeds and sizes: few events a patient (mostly the story, few fillers),
    /// the default 20, and 40 (many fillers, so many NRS values on the pain trajectories).
    static let cohorts: [(seed: UInt64, patients: Int, events: Int)] = [
        (1, 500, 20), (2, 200, 40), (3, 150, 5), (4, 120, 40), (5, 60, 1),
    ]

    static func events(_ cohort: (seed: UInt64, patients: Int, events: Int)) -> [SyntheticEvent] {
        CohortGenerator(seed: cohort.seed, patients: cohort.patients, eventsPerPatient: cohort.events, start: start).events()
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test("an event is written as a CloudEvent in the contract's order, its time in the offset asked")
    func writesCloudEvent() throws {
        let event = InputEvent(
            id: "evt-0001", source: "urn:hospital:adt", subject: "P123", time: Timestamp(rfc3339: "2026-03-02T10:15:00Z")!,
            data: .patientPresented(Presentation(
                ageYears: 78, sex: .female, mechanism: .lowEnergy, fractureLevels: ["L1"],
                history: MedicalHistory(knownMalignancy: false, osteoporosis: true, glucocorticoidUse: true), fever: false)),
            fingerprint: "not written")
        let envelope = #"{"specversion":"1.0","id":"evt-0001","source":"urn:hospital:adt","type":"patient.presented","subject":"P123","time":"#
        let data = #""datacontenttype":"application/json","data":{"ageYears":78,"sex":"female","mechanism":"low-energy","fractureLevels":["L1"],"history":{"knownMalignancy":false,"osteoporosis":true,"glucocorticoidUse":true},"fever":false}}"#
        var utc = JSONWriter()
        event.writeCloudEvent(to: &utc)
        #expect(Self.text(utc.bytes) == envelope + #""2026-03-02T10:15:00Z","# + data)
        var local = JSONWriter()
        event.writeCloudEvent(to: &local, timeOffsetMinutes: -270)
        #expect(Self.text(local.bytes) == envelope + #""2026-03-02T05:45:00-04:30","# + data)
        // What the decoder reads is the event written (the fingerprint is the decoder's own).
        var decoded = try InputDecoder.decode(local.bytes)
        #expect(decoded.fingerprint.count == 64)
        decoded.fingerprint = event.fingerprint
        #expect(decoded == event)
    }

    @Test("every event the generator does not deliberately malform is accepted", arguments: cohorts)
    func wellFormedLinesDecode(_ cohort: (seed: UInt64, patients: Int, events: Int)) {
        let events = Self.events(cohort)
        #expect(events.count == cohort.patients * cohort.events)
        var refused = 0
        for event in events where !event.isMalformed {
            do {
                let decoded = try InputDecoder.decode(event.bytes)
                #expect(decoded.type.rawValue == event.type && decoded.subject == event.patientId && decoded.time == event.time)
            } catch {
                refused += 1
                if refused <= 5 { Issue.record("\(error): \(Self.text(event.bytes))") }
            }
        }
        #expect(refused == 0, "\(refused) well-formed lines refused (seed \(cohort.seed))")
    }

    @Test("every well-formed line is the pathway's encoding of what it decodes to, in the line's offset", arguments: cohorts)
    func wellFormedLinesRoundTrip(_ cohort: (seed: UInt64, patients: Int, events: Int)) throws {
        var differing = 0
        var offsets = Set<Int>()
        for event in Self.events(cohort) where !event.isMalformed {
            let decoded = try InputDecoder.decode(event.bytes)
            var w = JSONWriter()
            decoded.writeCloudEvent(to: &w, timeOffsetMinutes: event.timeOffsetMinutes)
            offsets.insert(event.timeOffsetMinutes)
            if w.bytes != event.bytes {
                differing += 1
                if differing <= 5 { Issue.record("written again:\n  \(Self.text(w.bytes))\ngenerated:\n  \(Self.text(event.bytes))") }
            }
        }
        #expect(differing == 0)
        if cohort.patients >= 100 {
            #expect(offsets.contains(0) && offsets.count > 2, "times in UTC and in local offsets: \(offsets.sorted())")
        }
    }

    @Test("every deliberately malformed line is refused", arguments: cohorts)
    func malformedLinesAreRefused(_ cohort: (seed: UInt64, patients: Int, events: Int)) {
        for event in Self.events(cohort) where event.isMalformed {
            #expect(throws: Rejection.self, "\(Self.text(event.bytes))") { try InputDecoder.decode(event.bytes) }
        }
    }
}
