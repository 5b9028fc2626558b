import Foundation
import Testing
@testable import Pathway

/// PATHWAY.md section 2: "The patient's clock is the latest `time` applied so
/// far; an event older than the clock is recorded with its own `time` but
/// acts, and stamps its outputs, at the clock."
@Suite("Patient clock")
struct PatientClockTests {
    let t0 = "2026-03-02T10:00:00Z"

    private func recorded(_ out: Outputs, id: String) -> [String: Any]? {
        out.domainEvents.first {
            $0["type"] as? String == "ClinicalEventRecorded" && ($0["data"] as? [String: Any])?["id"] as? String == id
        }
    }

    /// Given a clock at t0 + 5 h, a deficit exam dated t0 + 2 h arrives late.
    private func lateExam() -> (History, String) {
        var h = History()
        h.presented(at: t0)
        h.pain(at: at(t0, hours: 5), nrs: 6)
        let exam = h.neuro(at: at(t0, hours: 2), ["motorDeficit": true])
        return (h, exam)
    }

    @Test("an event older than the clock stamps its outputs at the clock")
    func staleOutputsAtClock() throws {
        let (h, exam) = lateExam()
        let out = h.evaluate()
        let rec = try #require(out.active("URGENT_SURGICAL_REFERRAL"))
        #expect(rec.causationEventId == exam)
        #expect(rec.issuedAt == at(t0, hours: 5))
        #expect(rec.updatedAt == at(t0, hours: 5))
        let consult = try #require(out.tasks("spine-surgery-consult").first)
        #expect(consult.raw["authoredOn"] as? String == at(t0, hours: 5))
        #expect(consult.raw["lastModified"] as? String == at(t0, hours: 5))
        // Every domain event it caused occurred at the clock.
        let caused = out.domainEvents.filter { $0["causationEventId"] as? String == exam }
        #expect(!caused.isEmpty)
        #expect(caused.allSatisfy { $0["occurredAt"] as? String == at(t0, hours: 5) })
    }

    @Test("an event older than the clock is recorded with its own time and actingAt = the clock")
    func staleRecordedWithOwnTime() throws {
        let (h, exam) = lateExam()
        let event = try #require(recorded(h.evaluate(), id: exam))
        let data = try #require(event["data"] as? [String: Any])
        #expect(data["time"] as? String == at(t0, hours: 2))
        #expect(data["actingAt"] as? String == at(t0, hours: 5))
        #expect(event["occurredAt"] as? String == at(t0, hours: 5))
    }

    @Test("an event at or after the clock acts at its own time")
    func currentActsAtOwnTime() throws {
        var h = History()
        h.presented(at: t0)
        let same = h.pain(at: t0, nrs: 3)
        let later = h.neuro(at: at(t0, hours: 1), ["motorDeficit": true])
        let out = h.evaluate()
        for (id, time) in [(same, t0), (later, at(t0, hours: 1))] {
            let data = try #require(recorded(out, id: id)?["data"] as? [String: Any])
            #expect(data["time"] as? String == time)
            #expect(data["actingAt"] as? String == time)
        }
        #expect(out.active("URGENT_SURGICAL_REFERRAL")?.issuedAt == at(t0, hours: 1))
    }

    @Test("the clock never moves back: a second late event also acts at the clock")
    func clockDoesNotMoveBack() throws {
        var (h, _) = lateExam()
        let second = h.pain(at: at(t0, hours: 3), nrs: 4)
        let data = try #require(recorded(h.evaluate(), id: second)?["data"] as? [String: Any])
        #expect(data["time"] as? String == at(t0, hours: 3))
        #expect(data["actingAt"] as? String == at(t0, hours: 5))
    }

    @Test("a late event's clocks start at its acting time: the referral is overdue 2 h after the clock, not after its own time")
    func lateAnchors() throws {
        let (h, _) = lateExam()
        #expect(!h.evaluate(until: at(t0, hours: 7, minutes: -1)).issued("REFERRAL_OVERDUE"))
        let rec = try #require(h.evaluate(until: at(t0, hours: 7)).active("REFERRAL_OVERDUE"))
        #expect(rec.issuedAt == at(t0, hours: 7))
    }

    /// Section 4 `SCI_CRITICAL_CARE_BUNDLE`: the MAP window runs from the
    /// exam's own clinical `time` (when the injury was examined), not from
    /// when the exam was charted; the bundle itself is issued at the clock.
    @Test("a late spinal cord injury exam issues the bundle at the clock but its MAP window runs from the exam's own time")
    func lateSCIWindow() throws {
        var h = History()
        h.presented(at: t0)
        h.pain(at: at(t0, hours: 5), nrs: 6)
        let exam = h.neuro(at: at(t0, hours: 1), ["spinalCordInjury": true])
        let out = h.evaluate()
        let bundle = try #require(out.active("SCI_CRITICAL_CARE_BUNDLE"))
        #expect(bundle.causationEventId == exam)
        #expect(bundle.issuedAt == at(t0, hours: 5))
        let task = try #require(out.tasks("map-goal-vasopressors").first)
        #expect(task.raw["authoredOn"] as? String == at(t0, hours: 5))
        #expect(task.windowStart == at(t0, hours: 1))
        #expect(task.windowEnd == at(t0, days: 7, hours: 1))
        // The window-end timer is due at the window's end, and closes criticalCare then.
        #expect(h.evaluate(until: at(t0, days: 7, hours: 1, minutes: -1)).finalState == "criticalCare")
        let ended = h.evaluate(until: at(t0, days: 7, hours: 1))
        #expect(ended.latest("SCI_CRITICAL_CARE_BUNDLE").last?.status == "completed")
        #expect(ended.finalState != "criticalCare")
    }

    /// Section 2: "A measurement whose `time` is before a window opened does
    /// not count in that window."
    @Test("a MAP taken before the late-charted injury exam does not count in its window; one after it does")
    func mapBeforeLateSCIWindow() throws {
        var h = History()
        h.presented(at: t0)
        h.vitals(at: at(t0, minutes: 30), ["meanArterialPressure": 70])
        h.pain(at: at(t0, hours: 5), nrs: 6)
        h.neuro(at: at(t0, hours: 1), ["spinalCordInjury": true])
        #expect(!h.evaluate().issued("MAP_BELOW_GOAL"))
        let low = h.vitals(at: at(t0, hours: 2), ["meanArterialPressure": 70])
        let rec = try #require(h.evaluate().active("MAP_BELOW_GOAL"))
        #expect(rec.facts["meanArterialPressure"] as? Int == 70)
        #expect(rec.causationEventId == low)
        #expect(rec.issuedAt == at(t0, hours: 5))
    }

    @Test("times with an offset are compared as instants and written in UTC")
    func offsets() throws {
        var h = History()
        h.presented(at: "2026-03-02T11:00:00Z")
        // 12:30 at +02:00 is 10:30Z: older than the clock (11:00Z).
        let exam = h.neuro(at: "2026-03-02T12:30:00+02:00", ["motorDeficit": true])
        let out = h.evaluate()
        let data = try #require(recorded(out, id: exam)?["data"] as? [String: Any])
        #expect(data["time"] as? String == "2026-03-02T10:30:00Z")
        #expect(data["actingAt"] as? String == "2026-03-02T11:00:00Z")
        #expect(out.active("URGENT_SURGICAL_REFERRAL")?.issuedAt == "2026-03-02T11:00:00Z")
    }

    @Test("each patient has its own clock")
    func perPatientClock() throws {
        var h = History()
        h.presented(at: t0)
        h.event("patient.presented", at: at(t0, hours: 10), ["ageYears": 60, "mechanism": "low-energy"], subject: "P2")
        let exam = h.neuro(at: at(t0, hours: 1), ["motorDeficit": true])
        let out = h.evaluate()
        let data = try #require(recorded(out, id: exam)?["data"] as? [String: Any])
        #expect(data["actingAt"] as? String == at(t0, hours: 1))
        #expect(out.active("URGENT_SURGICAL_REFERRAL")?.issuedAt == at(t0, hours: 1))
    }

    @Test("the same history gives the same bytes (no wall clock)")
    func deterministic() {
        var (h, _) = lateExam()
        h.vitals(at: at(t0, hours: 6), ["meanArterialPressure": 80])
        let a = h.evaluate(until: at(t0, days: 3)).bytes
        let b = h.evaluate(until: at(t0, days: 3)).bytes
        #expect(!a.isEmpty)
        #expect(a == b)
    }

    @Test("the first event of a patient yields StateChanged from null to intake")
    func firstStateChange() throws {
        var h = History()
        h.pain(at: t0, nrs: 5)
        let out = h.evaluate()
        let first = try #require(out.domainEvents.first { $0["type"] as? String == "StateChanged" })
        let data = try #require(first["data"] as? [String: Any])
        #expect(data["from"] is NSNull)
        #expect(data["to"] as? String == "intake")
        #expect(out.domainEvents.first?["version"] as? Int == 1)
    }

    @Test("a dead-lettered event does not move the clock")
    func deadLetterDoesNotMoveClock() throws {
        var h = History()
        h.presented(at: t0)
        h.event("pain.assessed", at: at(t0, hours: 10), ["nrs": 11])
        let exam = h.neuro(at: at(t0, hours: 1), ["motorDeficit": true])
        let out = h.evaluate()
        #expect(out.deadLetters.count == 1)
        let data = try #require(recorded(out, id: exam)?["data"] as? [String: Any])
        #expect(data["actingAt"] as? String == at(t0, hours: 1))
    }

    @Test("a duplicate does not move the clock or fire timers")
    func duplicateDoesNotMoveClock() throws {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: at(t0, hours: 1), ["motorDeficit": true])
        h.raw(h.lines[0])
        let out = h.evaluate(until: at(t0, hours: 2))
        #expect(!out.issued("REFERRAL_OVERDUE"))
        #expect(!out.domainEventTypes.contains("TimerFired"))
    }
}
