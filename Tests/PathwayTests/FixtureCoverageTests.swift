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

    @Test("issues every one of the twenty recommendation codes of version 3")
    func everyCode() throws {
        var codes = Set<RecommendationCode>()
        for m in try evaluate() where m.topic == TopicNames.standard.recommendations {
            guard case .object(let o) = try JSONParser.parse(m.value) else { continue }
            codes.insert(try Recommendation(json: o).code)
        }
        #expect(RecommendationCode.allCases.count == 20)
        #expect(codes == Set(RecommendationCode.allCases))
    }

    @Test("requests every task code, the version-3 ones included")
    func everyTaskCode() throws {
        var codes = Set<TaskCode>()
        for m in try evaluate() where m.topic == TopicNames.standard.tasks {
            guard case .object(let o) = try JSONParser.parse(m.value) else { continue }
            codes.insert(try CareTask(json: o).code)
        }
        #expect(codes.isSuperset(of: [.analgesia, .empiricIVAntibiotics, .infectiousDiseasesConsult, .antimicrobialTherapy, .resultReview]))
        #expect(codes == Set(TaskCode.allCases), "missing: \(Set(TaskCode.allCases).subtracting(codes).map(\.rawValue).sorted())")
    }

    /// The codes each version-3 patient of the cohort is issued.
    @Test("the version-3 patients tell their stories", arguments: [
        ("FX-SEPSIS", ["INFECTION_WORKUP", "EMPIRIC_IV_ANTIBIOTICS", "BLOOD_CULTURE_CONFIRMATION"]),
        ("FX-TB", ["INFECTION_WORKUP", "SPECIALIST_ANTIMICROBIAL_THERAPY"]),
        ("FX-CONFLICT", ["CONFLICTING_RESULT_REVIEW"]),
        ("FX-RES", ["PATHWAY_RESOLVED"]),
        ("FX-PAIN", ["VERTEBRAL_AUGMENTATION_EVALUATION"]),
    ])
    func v3Stories(patient: String, codes: [String]) throws {
        var issued = Set<String>()
        var withoutEpisode = 0
        for m in try evaluate() where m.topic == TopicNames.standard.recommendations && m.key == patient {
            guard case .object(let o) = try JSONParser.parse(m.value) else { continue }
            if case .string(let code)? = o["code"] { issued.insert(code) }
            if o["episode"] == nil { withoutEpisode += 1 }
        }
        #expect(issued.isSuperset(of: codes), "\(patient): \(issued.sorted())")
        #expect(withoutEpisode == 0)
        if patient == "FX-TB" { #expect(!issued.contains("TARGETED_IV_ANTIBIOTICS")) }
        if patient == "FX-SEPSIS" { #expect(!issued.contains("TARGETED_IV_ANTIBIOTICS") && !issued.contains("PATHOLOGIC_FRACTURE_WORKUP")) }
    }

    @Test("every recommendation names ruleset vcf-2027.1 and every task carries its card's summary as reasonCode.text")
    func v3Fields() throws {
        var summaries: [String: String] = [:]
        var tasks: [(basedOn: String, reason: String?)] = []
        for m in try evaluate() {
            guard case .object(let o) = try JSONParser.parse(m.value) else { continue }
            if m.topic == TopicNames.standard.recommendations {
                let rec = try Recommendation(json: o)
                #expect(rec.rulesetVersion == "vcf-2027.1")
                summaries[rec.id] = rec.summary
            } else if m.topic == TopicNames.standard.tasks {
                guard case .array(let based)? = o["basedOn"], case .object(let first)? = based.first,
                      case .string(let reference)? = first["reference"] else {
                    Issue.record("task without basedOn")
                    continue
                }
                var reason: String?
                if case .object(let code)? = o["reasonCode"], case .string(let text)? = code["text"] { reason = text }
                tasks.append((String(reference.dropFirst("urn:carepath:recommendation:".count)), reason))
            }
        }
        #expect(!tasks.isEmpty)
        for task in tasks {
            #expect(task.reason?.isEmpty == false)
            #expect(summaries[task.basedOn] != nil)
        }
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
