@testable import CarepathStore
import Foundation
import Pathway
import Testing

/// The storage codec: each version's bytes pinned, old forms read, and the
/// version a store records dispatched on.
@Suite("Storage codec")
struct StoredEventCodecTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../fixtures").standardizedFileURL.path

    /// `Tests/fixtures/stored-events-v1.jsonl`: the bytes of v1 for
    /// ``StoredEventSamples/all``, one event a line. Written once, when v1 was
    /// made, and never again: a store holds these bytes for years. When this
    /// test fails, v1's encoder changed; put it back. A new stored form is a
    /// new version (docs/runtime.md, "The storage codec"), never an edit of v1.
    static func goldenV1() throws -> [[UInt8]] {
        let text = try String(contentsOfFile: fixtures + "/stored-events-v1.jsonl", encoding: .utf8)
        return text.split(separator: "\n").map { Array($0.utf8) }
    }

    @Test("v1's bytes for a sample of every domain event type (and every input type) are the golden ones, and read back as the samples")
    func goldenBytesV1() throws {
        try #require(StoredEventCodec.current == .v1, "v1 is no longer current: keep the decoding half of this test and pin the new version in a test of its own")
        let golden = try Self.goldenV1()
        let samples = StoredEventSamples.all
        try #require(golden.count == samples.count)
        for (event, bytes) in zip(samples, golden) {
            let written = StoredEventCodec.encode(event)
            #expect(written == bytes, "v1 writes \(event.payload.typeName) (version \(event.version)) as\n\(String(decoding: written, as: UTF8.self))\nbut stores hold\n\(String(decoding: bytes, as: UTF8.self))")
            #expect(try StoredEventCodec.decode(bytes, version: .v1) == event)
        }
    }

    @Test("the samples cover every domain event type and every input type a stream records")
    func samplesCoverEveryType() {
        let types = Set(StoredEventSamples.all.map(\.payload.typeName))
        #expect(types == ["ClinicalEventRecorded", "StateChanged", "TrackOpened", "TrackClosed", "RecommendationIssued",
                          "RecommendationRevised", "TaskRequested", "TaskChanged", "TimerScheduled", "TimerFired",
                          "TimerCancelled", "EpisodeStarted", "ResultConflictRecorded"])
        let inputs = Set(StoredEventSamples.all.compactMap { event -> InputType? in
            if case .clinicalEventRecorded(let input, _) = event.payload { input.type } else { nil }
        })
        #expect(inputs == Set(InputType.allCases).subtracting([.timerFired]))
    }

    @Test("every event of a synthetic cohort reads back as itself")
    func roundTrip() throws {
        var count = 0
        for (_, events) in syntheticStreams(patients: 12, events: 20) {
            for event in events {
                #expect(try StoredEventCodec.decode(StoredEventCodec.encode(event), version: StoredEventCodec.current) == event)
                count += 1
            }
        }
        #expect(count > 200)
    }

    @Test("every task code and recommendation code is written by v1 and read back")
    func everyCode() throws {
        for code in TaskCode.allCases {
            var task = StoredEventSamples.task
            task.code = code
            let event = StoredEventSamples.event(1, .taskRequested(task))
            #expect(try StoredEventCodec.decode(StoredEventCodec.encode(event), version: .v1) == event)
        }
        for code in RecommendationCode.allCases {
            var recommendation = StoredEventSamples.recommendation
            recommendation.code = code
            let event = StoredEventSamples.event(1, .recommendationIssued(recommendation))
            #expect(try StoredEventCodec.decode(StoredEventCodec.encode(event), version: .v1) == event)
        }
    }

    @Test("v1 reads what an earlier release stored: a recommendation without episode, an ended card without statusReason, a task without reasonCode")
    func earlierForms() throws {
        // Given the golden bytes with the members contract version 2 did not write taken out
        let golden = try Self.goldenV1()
        let samples = StoredEventSamples.all
        let revised = try #require(samples.firstIndex { $0.payload.typeName == "RecommendationRevised" })
        var text = String(decoding: golden[revised], as: UTF8.self)
        text = text.replacingOccurrences(of: #","episode":2"#, with: "")
        text = text.replacingOccurrences(of: #","statusReason":"pain controlled (NRS 2)""#, with: "")
        let requested = try #require(samples.firstIndex { $0.payload.typeName == "TaskRequested" })
        let task = String(decoding: golden[requested], as: UTF8.self)
            .replacingOccurrences(of: #","reasonCode":{"text":"Urgent surgical referral: \"new\" deficit"}"#, with: "")

        // Then they read as episode 1, no status reason, no reason text
        guard case .recommendationRevised(let r) = try StoredEventCodec.decode(Array(text.utf8), version: .v1).payload else {
            Issue.record("not a revision")
            return
        }
        #expect(r.episode == 1 && r.statusReason == nil && r.status == .completed)
        guard case .taskRequested(let t) = try StoredEventCodec.decode(Array(task.utf8), version: .v1).payload else {
            Issue.record("not a task")
            return
        }
        #expect(t.reasonText == nil && t == { var t = StoredEventSamples.task; t.reasonText = nil; return t }())
    }

    @Test("a stored input is read by the storage decoder: a value today's input rules refuse still folds")
    func storedInputsAreNotRevalidated() throws {
        // Given a stored ClinicalEventRecorded whose NRS (12) is outside today's input range (0-10),
        // as a release with looser validation could have written it
        let stored = Array(#"{"type":"ClinicalEventRecorded","patientId":"P-OLD","version":1,"occurredAt":"2026-03-02T10:00:00Z","causationEventId":"e1","data":{"source":"urn:test","id":"e1","type":"pain.assessed","time":"2026-03-02T10:00:00Z","actingAt":"2026-03-02T10:00:00Z","fingerprint":"\#(String(repeating: "a", count: 64))","data":{"nrs":12}}}"#.utf8)
        // Then the store reads it (and the patient's stream folds), while a published message is refused
        let event = try StoredEventCodec.decode(stored, version: .v1)
        #expect(PatientState.fold(patientId: "P-OLD", [event]).latestNRS?.value.nrs == 12)
        #expect(throws: Rejection.self) { try DomainEvent(json: stored) }
    }

    @Test("stored bytes that do not read say where and why; a version this release does not know says which release to use")
    func decodingErrors() throws {
        let golden = try Self.goldenV1()
        #expect(throws: StoredEventCodec.DecodingError(at: "$", "written in storage codec version 9, which this carepath cannot read (it reads v1); use the carepath release that wrote it")) {
            try StoredEventCodec.decode(golden[0], versionNumber: 9)
        }
        #expect(try StoredEventCodec.decode(golden[0], versionNumber: 1) == StoredEventSamples.all[0])
        #expect(throws: StoredEventCodec.DecodingError(at: "$", "a stored domain event is a JSON object; these bytes hold a JSON array")) {
            try StoredEventCodec.decode(Array("[]".utf8), version: .v1)
        }
        let noTimer = String(decoding: golden[StoredEventSamples.all.firstIndex { $0.payload.typeName == "TimerFired" }!], as: UTF8.self)
            .replacingOccurrences(of: "\"timerCode\":\"referral-acceptance\"", with: "\"timerCode\":\"teatime\"")
        #expect {
            try StoredEventCodec.decode(Array(noTimer.utf8), version: .v1)
        } throws: { error in
            let error = error as? StoredEventCodec.DecodingError
            return error?.path == "$.data.timerCode" && error?.message.hasPrefix("\"teatime\" is not a timerCode this carepath knows") == true
        }
    }

    @Test("v1 writes again the very bytes an earlier release stored (the version-2 fixture), for every event whose form has not changed since")
    func rewritesEarlierBytes() throws {
        let folder = try ScratchFolder()
        try FileManager.default.copyItem(atPath: UpgradeFromVersion2Tests.fixture, toPath: folder.store)
        let db = try SQLiteConnection(path: folder.store)
        defer { db.close() }
        let rows = try db.statement("SELECT type, body FROM events ORDER BY seq")
        var same = 0, recommendations = 0
        while try rows.step() {
            let body = rows.bytes(1)
            let event = try StoredEventCodec.decode(body, version: .v1)
            if rows.string(0).hasPrefix("Recommendation") {
                // Contract version 3 added a card's episode: written now, read as 1 from these rows.
                recommendations += 1
                guard case .recommendationIssued(let r) = event.payload else { continue }
                #expect(r.episode == 1)
            } else {
                #expect(StoredEventCodec.encode(event) == body, "\(String(decoding: body, as: UTF8.self))")
                same += 1
            }
        }
        #expect(same > 300 && recommendations > 40)
    }
}
