import CarepathJSON
import Foundation
import Testing
@testable import Pathway

/// `Tests/fixtures/all-codes.events.jsonl` is a small cohort that exercises
/// every recommendation code; `make test` also validates its evaluated output
/// against the JSON Schemas.
@Suite("Fixture cohort")
struct FixtureCoverageTests {
    static let fixture = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fixtures/all-codes.events.jsonl")

    func evaluate() throws -> [OutputMessage] {
        let bytes = try [UInt8](Data(contentsOf: Self.fixture))
        return OfflineEvaluator.evaluate(jsonl: bytes, until: Timestamp(rfc3339: "2026-07-01T00:00:00Z"))
    }

    @Test("evaluate's streamed lines are the messages' lines, byte for byte, for every kind of output")
    func streamedLinesAreTheMessages() throws {
        let bytes = try [UInt8](Data(contentsOf: Self.fixture))
        let until = Timestamp(rfc3339: "2026-07-01T00:00:00Z")
        let messages = OfflineEvaluator.evaluate(jsonl: bytes, until: until)
        var streamed: [UInt8] = []
        let count = OfflineEvaluator.evaluate(jsonl: bytes, until: until) { streamed += $0 }
        #expect(count == messages.count)
        #expect(Set(messages.map(\.topic)).isSuperset(of: [TopicNames.standard.recommendations, TopicNames.standard.tasks,
                                                            TopicNames.standard.domainEvents]))
        let lines = Array(Lines(streamed))
        #expect(lines.count == messages.count)
        for (line, message) in zip(lines, messages) {
            var w = JSONWriter()
            message.writeLine(to: &w)
            #expect(Array(line) == w.bytes, "\(message.topic) \(message.carepathId)")
        }
    }

    @Test("issues every one of the fifteen recommendation codes")
    func everyCode() throws {
        var codes = Set<RecommendationCode>()
        for m in try evaluate() where m.topic == TopicNames.standard.recommendations {
            guard case .object(let o) = try JSONParser.parse(m.value) else { continue }
            codes.insert(try Recommendation(json: o).code)
        }
        #expect(codes == Set(RecommendationCode.allCases))
    }

    @Test("every message decodes with carepath's strict output decoders and carries its ids")
    func strictOutputs() throws {
        var domainTypes = Set<String>()
        for m in try evaluate() {
            guard case .object(let o) = try JSONParser.parse(m.value) else {
                Issue.record("not an object on \(m.topic)")
                continue
            }
            switch m.topic {
            case TopicNames.standard.recommendations:
                let rec = try Recommendation(json: o)
                #expect(m.carepathId == "\(rec.id)/\(rec.revision)")
                #expect(m.key == rec.patientId)
            case TopicNames.standard.tasks:
                let task = try CareTask(json: o)
                #expect(m.carepathId == "\(task.id)/\(task.version)")
            case TopicNames.standard.domainEvents:
                let event = try DomainEvent(json: o)
                domainTypes.insert(event.payload.typeName)
                #expect(m.carepathId == "\(event.patientId)/\(event.version)")
                #expect(m.causationId == event.causationEventId)
            case TopicNames.standard.deadLetters:
                _ = try DeadLetter(json: o)
            default:
                Issue.record("unexpected topic \(m.topic)")
            }
        }
        #expect(domainTypes.isSuperset(of: ["ClinicalEventRecorded", "StateChanged", "TrackOpened", "TrackClosed",
                                            "RecommendationIssued", "RecommendationRevised", "TaskRequested", "TaskChanged",
                                            "TimerScheduled", "TimerFired", "TimerCancelled"]))
    }
}
