import CarepathJSON
import CarepathOperations
import Foundation
import Pathway
import Testing

/// `carepath inspect`: the timeline of a patient's stored stream.
@Suite("Inspect: a patient's timeline")
struct PatientTimelineUnitTests {
    /// The stream `carepath run` would store for a history, from offline evaluation.
    static func stream(_ lines: [[UInt8]], patient: String, until: Timestamp?) -> [DomainEvent] {
        var evaluator = OfflineEvaluator(keepStreams: true)
        var messages: [OutputMessage] = []
        for (n, line) in lines.enumerated() { evaluator.process(line, lineNumber: n, into: &messages) }
        evaluator.finish(until: until, into: &messages)
        return evaluator.streams[patient] ?? []
    }

    static func conservativeCareToDay50() -> (events: [DomainEvent], start: Timestamp) {
        let start = Timestamp(rfc3339: "2026-03-02T10:00:00Z")!
        let until = Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + 50 * 86_400_000)
        return (stream(conservativeCareHistory(patient: "P-1", start: start), patient: "P-1", until: until), start)
    }

    @Test("the JSON holds every stored domain event once, in order, grouped by its cause")
    func jsonIsComplete() throws {
        // Given a stored stream with inputs, state changes, cards, tasks and a fired timer
        let (events, _) = Self.conservativeCareToDay50()
        #expect(events.contains { if case .timerFired = $0.payload { true } else { false } })

        // When it is inspected as JSON
        let json = try #require(try JSONSerialization.jsonObject(with: Data(PatientTimeline(patientId: "P-1", events: events).json)) as? [String: Any])

        // Then every domain event is there, byte for byte as stored, in version order
        let timeline = try #require(json["timeline"] as? [[String: Any]])
        let stored = timeline.flatMap { ($0["domainEvents"] as? [[String: Any]]) ?? [] }
        #expect(stored.count == events.count)
        for (entry, event) in zip(stored, events) {
            let expected = try JSONSerialization.jsonObject(with: Data(event.json)) as? NSDictionary
            #expect(NSDictionary(dictionary: entry) == expected)
        }
        #expect(json["version"] as? Int == events.count)

        // Each entry has one cause: the inputs by id, the timer by its id
        let causes = timeline.compactMap { ($0["cause"] as? [String: Any])?["id"] as? String }
        // (the calcitonin window ends 28 days after fracture identification, the overdue check on day 42)
        #expect(causes == ["P-1-e1", "P-1-e2", "P-1-e3", "P-1/calcitonin-window-end/1", "P-1/reassessment-overdue/1"])
        let timer = try #require(timeline.last?["cause"] as? [String: Any])
        #expect(timer["kind"] as? String == "timer")

        // Every card revision and task version appears with its rule, facts and window
        let recs = timeline.flatMap { ($0["recommendations"] as? [[String: Any]]) ?? [] }
        let issued = events.compactMap { e -> Recommendation? in
            switch e.payload {
            case .recommendationIssued(let r), .recommendationRevised(let r): r
            default: nil
            }
        }
        #expect(recs.map { "\($0["id"]!)/\($0["revision"]!)" } == issued.map { "\($0.id)/\($0.revision)" })
        #expect(recs.allSatisfy { ($0["rule"] as? String)?.hasPrefix("VCF-") == true && !(($0["facts"] as? [Any]) ?? []).isEmpty })
        let tasks = timeline.flatMap { ($0["tasks"] as? [[String: Any]]) ?? [] }
        #expect(tasks.count == events.filter { if case .taskRequested = $0.payload { true } else if case .taskChanged = $0.payload { true } else { false } }.count)
        #expect(tasks.contains { $0["code"] as? String == "reassessment-visit" && $0["window"] is [String: String] })

        // The current state is the fold of the stream
        let state = PatientState.fold(patientId: "P-1", events)
        #expect(json["state"] as? String == state.state?.rawValue)
        let current = try #require(json["current"] as? [String: Any])
        #expect(((current["activeRecommendations"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }.sorted()
                == state.activeRecommendation.values.sorted())
        #expect(((current["openTasks"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }.sorted()
                == state.openTask.values.sorted())
    }

    @Test("the table shows time, cause, state change, cards with rule and facts, tasks with windows, then now")
    func table() {
        let (events, _) = Self.conservativeCareToDay50()
        let text = PatientTimeline(patientId: "P-1", events: events).text()
        #expect(text.hasPrefix("Patient P-1 · conservativeManagement"))
        #expect(text.contains("TIME              CAUSE"))
        #expect(text.contains("2026-03-02 08:00  patient.presented P-1-e1"))
        #expect(text.contains("state  intake → conservativeManagement"))
        #expect(text.contains("card   CONSERVATIVE_MANAGEMENT routine/info active (issued; rule VCF-"))
        #expect(text.contains("because compressionFracture=true (P-1-e2)"))
        #expect(text.contains("task   reassessment-visit requested routine window 2026-03-30 10:00 → 2026-04-13 10:00"))
        #expect(text.contains("timer reassessment-overdue #1"))
        #expect(text.contains("card   REASSESSMENT_OVERDUE"))
        #expect(text.contains("\nNow  conservativeManagement"))
        #expect(!text.contains("\u{1B}["), "no colour unless asked")
    }
}
