import Foundation
import Testing
@testable import Pathway

/// PATHWAY.md section 2 (event identity and duplicates; version 3: a
/// conflicting duplicate of a clinical result is dead-lettered and also reaches
/// a clinician as `CONFLICTING_RESULT_REVIEW`) and section 5 (`unknown-task`).
@Suite("Deduplication and unknown tasks")
struct DeduplicationTests {
    let t0 = "2026-03-02T10:00:00Z"

    /// Re-serialises a JSON line with keys in reverse order and extra white space.
    private func reserialised(_ line: String) -> String {
        let object = try! JSONSerialization.jsonObject(with: Data(line.utf8))
        return write(object)
    }

    private func write(_ value: Any) -> String {
        switch value {
        case let d as [String: Any]:
            let members = d.keys.sorted(by: >).map { "  \(History.json([$0]).dropFirst().dropLast()) :  \(write(d[$0]!))" }
            return "{ " + members.joined(separator: " ,\t") + " }"
        case let a as [Any]:
            return "[ " + a.map(write).joined(separator: " , ") + " ]"
        default:
            // A scalar: serialise it inside an array and strip the brackets.
            return String(History.json([value]).dropFirst().dropLast())
        }
    }

    private func deficitHistory() -> History {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: at(t0, hours: 1), ["motorDeficit": true])
        h.pain(at: at(t0, hours: 2), nrs: 7)
        return h
    }

    // MARK: Same content

    @Test("the same source, id and content twice produces nothing at all")
    func exactDuplicate() {
        let plain = deficitHistory()
        var twice = plain
        twice.raw(plain.lines[1])  // the deficit exam again
        twice.raw(plain.lines[0])  // and the presentation
        #expect(twice.evaluate().bytes == plain.evaluate().bytes)
        #expect(twice.evaluate(until: at(t0, days: 2)).bytes == plain.evaluate(until: at(t0, days: 2)).bytes)
        #expect(twice.evaluate().deadLetters.isEmpty)
    }

    @Test("a duplicate right after the original produces nothing")
    func immediateDuplicate() {
        var plain = History()
        plain.presented(at: t0)
        plain.neuro(at: at(t0, hours: 1), ["motorDeficit": true])
        var twice = plain
        twice.raw(plain.lines[1])
        #expect(twice.evaluate().bytes == plain.evaluate().bytes)
    }

    @Test("the same content with other key order and white space is still a duplicate")
    func reorderedDuplicate() {
        let plain = deficitHistory()
        var twice = plain
        let again = reserialised(plain.lines[1])
        #expect(again != plain.lines[1])
        twice.raw(again)
        #expect(twice.evaluate().bytes == plain.evaluate().bytes)
    }

    /// docs/pathway-decisions.md: numbers in one form (`7.0` for `7`).
    @Test("the same content with 7.0 for 7 is still a duplicate")
    func numberFormDuplicate() {
        let plain = deficitHistory()
        var twice = plain
        let pain = plain.lines[2]
        #expect(pain.contains(#""nrs":7"#))
        twice.raw(pain.replacingOccurrences(of: #""nrs":7"#, with: #""nrs":7.0"#))
        #expect(twice.evaluate().bytes == plain.evaluate().bytes)
    }

    // MARK: Conflicting duplicates

    @Test("the same id with different content is dead-lettered as conflicting-duplicate at $.id; the first stands, and a clinician reviews it")
    func conflictingDuplicate() throws {
        var h = History()
        h.presented(at: t0)
        h.event("neuro.examined", at: at(t0, hours: 1), ["motorDeficit": false, "sensoryDeficit": false, "bowelBladderDysfunction": false, "asiaGrade": "E"], id: "exam-1")  // intact
        let first = h.evaluate()
        h.event("neuro.examined", at: at(t0, hours: 1), ["motorDeficit": true], id: "exam-1")
        let out = h.evaluate()
        #expect(out.deadLetters.count == 1)
        let letter = try #require(out.deadLetters.first)
        #expect(letter["reason"] as? String == "conflicting-duplicate")
        #expect(letter["path"] as? String == "$.id")
        #expect(letter["offset"] as? Int == 2)
        #expect(letter["key"] as? String == "P1")
        #expect(letter["payload"] as? String == h.lines[2])
        // The first stands: no referral, and everything the first history published is unchanged.
        #expect(!out.issued("URGENT_SURGICAL_REFERRAL"))
        #expect(Array(out.messages.filter { $0.topic != "clinical.events.dlq" }.prefix(first.messages.count)) == first.messages)
        // Version 3: an exam is a clinical result, so the conflict is recorded and reviewed.
        let added = Outputs(Array(out.messages.filter { $0.topic != "clinical.events.dlq" }.dropFirst(first.messages.count)))
        #expect(added.domainEventTypes.contains("ResultConflictRecorded"))
        #expect(!added.domainEventTypes.contains("ClinicalEventRecorded"))
        let review = try #require(added.active("CONFLICTING_RESULT_REVIEW"))
        #expect(review.priority == "urgent")
        #expect(review.indicator == "warning")
        #expect(review.causationEventId == "exam-1")
        #expect(Set(added.recommendations.map(\.code)) == ["CONFLICTING_RESULT_REVIEW"])
        let task = try #require(added.tasks("result-review").first)
        let description = try #require(task.raw["description"] as? String)
        #expect(description.contains("exam-1"))
        #expect(description.contains("urn:hospital:test"))
        #expect(description.contains("data.motorDeficit"))
        #expect(Set(added.taskMessages.map(\.code)) == ["result-review"])
    }

    @Test("a conflicting duplicate of a pain score: a dead letter, and a review naming data.nrs; the same version again changes nothing more")
    func conflictingPainScore() throws {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, hours: 2))
        h.event("pain.assessed", at: at(t0, hours: 3), ["nrs": 4, "onAnalgesics": true], id: "pain-1")
        let before = h.evaluate()
        h.event("pain.assessed", at: at(t0, hours: 3), ["nrs": 8, "onAnalgesics": true], id: "pain-1")
        let out = h.evaluate()
        #expect(out.deadLetters.map { $0["reason"] as? String } == ["conflicting-duplicate"])
        #expect(out.deadLetters.first?["path"] as? String == "$.id")
        let review = try #require(out.active("CONFLICTING_RESULT_REVIEW"))
        #expect(review.causationEventId == "pain-1")
        #expect(review.summary.contains("data.nrs"))
        #expect(review.facts["differingFields"] as? String == "data.nrs")
        let task = try #require(out.tasks("result-review").first)
        #expect(task.status == "requested")
        #expect(task.priority == "urgent")
        #expect(task.basedOn == "urn:carepath:recommendation:\(review.id)")
        let description = try #require(task.raw["description"] as? String)
        #expect(description.contains("pain-1"))
        #expect(description.contains("urn:hospital:test"))
        #expect(description.contains("data.nrs"))
        #expect(!description.contains("onAnalgesics"))
        #expect((task.raw["reasonCode"] as? [String: Any])?["text"] as? String == review.summary)
        // The first stands: the NRS of 8 raised nothing (PAIN_MANAGEMENT stays routine).
        #expect(out.active("PAIN_MANAGEMENT")?.priority == "routine")
        #expect(out.active("PAIN_MANAGEMENT")?.revision == before.active("PAIN_MANAGEMENT")?.revision)
        // A re-delivery of the version already dead-lettered: a dead letter, nothing more.
        h.raw(h.lines.last!)
        let again = h.evaluate()
        #expect(again.deadLetters.count == 2)
        #expect(again.messages.filter { $0.topic != "clinical.events.dlq" } == out.messages.filter { $0.topic != "clinical.events.dlq" })
    }

    @Test("another conflicting version while the review is active revises the card and its open task")
    func secondConflictingVersion() throws {
        var h = History()
        h.presented(at: t0)
        h.event("pain.assessed", at: at(t0, hours: 3), ["nrs": 4, "onAnalgesics": true], id: "pain-1")
        h.event("pain.assessed", at: at(t0, hours: 3), ["nrs": 8, "onAnalgesics": true], id: "pain-1")
        h.event("pain.assessed", at: at(t0, hours: 3), ["nrs": 4, "onAnalgesics": false], id: "pain-1")
        let out = h.evaluate()
        #expect(out.deadLetters.count == 2)
        #expect(out.latest("CONFLICTING_RESULT_REVIEW").count == 1)
        let review = try #require(out.active("CONFLICTING_RESULT_REVIEW"))
        #expect(review.revision == 2)
        let tasks = out.tasks("result-review")
        #expect(tasks.count == 1)
        #expect(tasks.first?.version == "2")
        #expect((tasks.first?.raw["description"] as? String)?.contains("data.onAnalgesics") == true)
    }

    @Test("a conflicting duplicate of a presentation (not a clinical result) is only dead-lettered")
    func conflictingPresentation() {
        var h = History()
        h.event("patient.presented", at: t0, ["ageYears": 70, "mechanism": "low-energy"], id: "adm-1")
        let first = h.evaluate()
        h.event("patient.presented", at: t0, ["ageYears": 40, "mechanism": "low-energy"], id: "adm-1")
        let out = h.evaluate()
        #expect(out.deadLetters.map { $0["reason"] as? String } == ["conflicting-duplicate"])
        #expect(!out.issued("CONFLICTING_RESULT_REVIEW"))
        #expect(out.messages.filter { $0.topic != "clinical.events.dlq" } == first.messages)
    }

    @Test("a conflicting duplicate that differs only in time is still conflicting")
    func conflictingTime() {
        var h = History()
        h.presented(at: t0)
        h.pain(at: at(t0, hours: 1), nrs: 5)
        var line = h.lines[1]
        line = line.replacingOccurrences(of: at(t0, hours: 1), with: at(t0, hours: 2))
        h.raw(line)
        let out = h.evaluate()
        #expect(out.deadLetters.map { $0["reason"] as? String } == ["conflicting-duplicate"])
        #expect(out.active("CONFLICTING_RESULT_REVIEW")?.facts["differingFields"] as? String == "time")
    }

    @Test("after a conflict, the original content again is a plain duplicate, the conflicting content again another dead letter")
    func afterConflict() {
        var h = History()
        h.presented(at: t0)
        h.event("neuro.examined", at: at(t0, hours: 1), ["motorDeficit": false, "sensoryDeficit": false, "bowelBladderDysfunction": false, "asiaGrade": "E"], id: "exam-1")
        let original = h.lines[1]
        h.event("neuro.examined", at: at(t0, hours: 1), ["motorDeficit": true], id: "exam-1")
        let conflicting = h.lines[2]
        h.raw(original)
        h.raw(conflicting)
        let out = h.evaluate()
        #expect(out.deadLetters.map { $0["offset"] as? Int } == [2, 4])
        #expect(out.deadLetters.allSatisfy { $0["reason"] as? String == "conflicting-duplicate" })
        #expect(!out.issued("URGENT_SURGICAL_REFERRAL"))
        // One review: the repeated conflicting version changes nothing more.
        #expect(out.latest("CONFLICTING_RESULT_REVIEW").count == 1)
        #expect(out.active("CONFLICTING_RESULT_REVIEW")?.revision == 1)
        #expect(out.tasks("result-review").map(\.version) == ["1"])
    }

    @Test("the same id from a different source is a new event")
    func differentSource() throws {
        var h = History()
        h.presented(at: t0)
        h.event("neuro.examined", at: at(t0, hours: 1), ["motorDeficit": false, "sensoryDeficit": false, "bowelBladderDysfunction": false, "asiaGrade": "E"], id: "exam-1", source: "urn:hospital:ed")
        h.event("neuro.examined", at: at(t0, hours: 2), ["motorDeficit": true], id: "exam-1", source: "urn:hospital:ward")
        let out = h.evaluate()
        #expect(out.deadLetters.isEmpty)
        let rec = try #require(out.active("URGENT_SURGICAL_REFERRAL"))
        #expect(rec.causationEventId == "exam-1")
        let recorded = out.domainEvents.filter {
            $0["type"] as? String == "ClinicalEventRecorded" && ($0["data"] as? [String: Any])?["id"] as? String == "exam-1"
        }
        #expect(recorded.count == 2)
    }

    @Test("the same source and id for another patient is that patient's event")
    func differentPatient() {
        var h = History()
        h.presented(at: t0)
        h.event("patient.presented", at: t0, ["ageYears": 60, "mechanism": "low-energy"], id: "P1-e001", subject: "P2")
        let out = h.evaluate()
        #expect(out.deadLetters.isEmpty)
        #expect(out.messages.contains { $0.key == "P2" && $0.topic == "pathway.events" })
    }

    // MARK: Dead letters do not count as received

    @Test("a corrected re-send of a dead-lettered event with the same id is accepted")
    func correctedResend() throws {
        var h = History()
        h.presented(at: t0)
        h.event("pain.assessed", at: at(t0, hours: 1), ["nrs": 11], id: "pain-1")
        h.event("pain.assessed", at: at(t0, hours: 1), ["nrs": 8], id: "pain-1")
        let out = h.evaluate()
        #expect(out.deadLetters.count == 1)
        #expect(out.deadLetters.first?["reason"] as? String == "invalid-field")
        #expect(out.deadLetters.first?["path"] as? String == "$.data.nrs")
        let recorded = out.domainEvents.filter {
            $0["type"] as? String == "ClinicalEventRecorded" && ($0["data"] as? [String: Any])?["id"] as? String == "pain-1"
        }
        #expect(recorded.count == 1)
        let data = (recorded.first?["data"] as? [String: Any])?["data"] as? [String: Any]
        #expect(data?["nrs"] as? Int == 8)
    }

    @Test("a corrected re-send of a deficit exam after an invalid one issues the referral")
    func correctedResendActs() throws {
        var h = History()
        h.presented(at: t0)
        h.event("neuro.examined", at: at(t0, hours: 1), ["motorDeficit": "yes"], id: "exam-1")
        h.event("neuro.examined", at: at(t0, hours: 1), ["motorDeficit": true], id: "exam-1")
        let out = h.evaluate()
        #expect(out.deadLetters.count == 1)
        #expect(out.active("URGENT_SURGICAL_REFERRAL")?.causationEventId == "exam-1")
    }

    // MARK: Unknown tasks

    @Test("a task.updated for an unknown task is unknown-task at $.data.taskId")
    func unknownTask() throws {
        var h = History()
        h.presented(at: t0)
        h.event("task.updated", at: at(t0, hours: 1), ["taskId": "task-0123456789abcdef0123456789abcdef", "status": "completed"])
        let exam = h.neuro(at: at(t0, hours: 2), ["motorDeficit": true])
        let out = h.evaluate()
        #expect(out.deadLetters.count == 1)
        let letter = try #require(out.deadLetters.first)
        #expect(letter["reason"] as? String == "unknown-task")
        #expect(letter["path"] as? String == "$.data.taskId")
        #expect(letter["offset"] as? Int == 1)
        #expect(letter["key"] as? String == "P1")
        #expect(!out.domainEvents.contains { ($0["data"] as? [String: Any])?["type"] as? String == "task.updated" })
        // The consumer keeps going.
        #expect(out.active("URGENT_SURGICAL_REFERRAL")?.causationEventId == exam)
    }

    @Test("a task.updated for a patient carepath has never seen is unknown-task")
    func unknownPatientTask() {
        var h = History(patient: "P9")
        h.event("task.updated", at: t0, ["taskId": "task-x", "status": "accepted"])
        let out = h.evaluate()
        #expect(out.deadLetters.map { $0["reason"] as? String } == ["unknown-task"])
        #expect(out.domainEvents.isEmpty)
    }

    @Test("another patient's task id is unknown for this patient")
    func otherPatientsTask() throws {
        var h = History(patient: "P1")
        h.presented(at: t0)
        h.event("patient.presented", at: t0, ["ageYears": 60, "mechanism": "low-energy"], id: "p2-presented", subject: "P2")
        h.event("neuro.examined", at: at(t0, hours: 1), ["motorDeficit": true], id: "p2-exam", subject: "P2")
        let consult = try #require(h.evaluate().tasks("spine-surgery-consult").first)
        #expect(consult.raw["for"] as? [String: String] == ["reference": "Patient/P2"])
        h.event("task.updated", at: at(t0, hours: 2), ["taskId": consult.id, "status": "completed"], subject: "P1")
        let out = h.evaluate()
        #expect(out.deadLetters.map { $0["reason"] as? String } == ["unknown-task"])
        #expect(out.deadLetters.first?["key"] as? String == "P1")
        #expect(out.tasks("spine-surgery-consult").first?.status == "requested")
    }

    @Test("a duplicate task.updated changes nothing")
    func duplicateTaskUpdate() {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: at(t0, hours: 1), ["motorDeficit": true])
        h.taskUpdate("spine-surgery-consult", "accepted", at: at(t0, hours: 1.5))
        let once = h.evaluate()
        h.raw(h.lines.last!)
        #expect(h.evaluate().bytes == once.bytes)
    }
}
