import Foundation
import Testing
@testable import Pathway

/// PATHWAY.md section 2 "Neurology" and section 4 `URGENT_SURGICAL_REFERRAL`.
@Suite("Neurology: URGENT_SURGICAL_REFERRAL")
struct NeurologyTests {
    let t0 = "2026-03-02T10:00:00Z"

    @Test("an exam with a motor deficit issues a stat referral with a stat consult")
    func motorDeficit() {
        var h = History()
        h.presented(at: t0)
        let exam = h.neuro(at: at(t0, hours: 1), ["motorDeficit": true])
        let out = h.evaluate()
        let rec = try! #require(out.active("URGENT_SURGICAL_REFERRAL"))
        #expect(rec.priority == "stat")
        #expect(rec.indicator == "critical")
        #expect(rec.pathwayState == "surgicalReferral")
        #expect(rec.causationEventId == exam)
        #expect(rec.facts["motorDeficit"] as? Bool == true)
        #expect(out.tasks("spine-surgery-consult").first?.priority == "stat")
        #expect(out.finalState == "surgicalReferral")
    }

    @Test("an intact exam issues no referral")
    func intact() {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: at(t0, hours: 1))
        #expect(!h.evaluate().issued("URGENT_SURGICAL_REFERRAL"))
    }

    // MARK: Each deficit trigger alone

    /// Given a presented patient, when an exam reports only `field: true`, then a
    /// stat / critical referral is issued, naming that fact, with one stat consult.
    @Test("a boolean deficit alone issues the referral",
          arguments: ["motorDeficit", "sensoryDeficit", "bowelBladderDysfunction", "spinalCordInjury"])
    func booleanDeficitAlone(field: String) throws {
        var h = History()
        h.presented(at: t0)
        let exam = h.neuro(at: at(t0, hours: 1), [field: true])
        let out = h.evaluate()
        let rec = try #require(out.active("URGENT_SURGICAL_REFERRAL"))
        #expect(rec.priority == "stat")
        #expect(rec.indicator == "critical")
        #expect(rec.causationEventId == exam)
        #expect(rec.issuedAt == at(t0, hours: 1))
        #expect(rec.facts[field] as? Bool == true)
        #expect(rec.rationale.contains { $0["fact"] as? String == field && $0["eventId"] as? String == exam })
        #expect(!rec.evidence.isEmpty)
        let consults = out.tasks("spine-surgery-consult")
        #expect(consults.count == 1)
        #expect(consults.first?.priority == "stat")
        #expect(consults.first?.status == "requested")
        #expect(consults.first?.basedOn == "urn:carepath:recommendation:\(rec.id)")
    }

    /// A boolean reported false is not a deficit.
    @Test("a boolean reported false alone is not a deficit",
          arguments: ["motorDeficit", "sensoryDeficit", "bowelBladderDysfunction", "spinalCordInjury"])
    func booleanFalseAlone(field: String) {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: at(t0, hours: 1), [field: false])
        let out = h.evaluate()
        #expect(!out.issued("URGENT_SURGICAL_REFERRAL"))
        #expect(out.tasks("spine-surgery-consult").isEmpty)
    }

    @Test("ASIA grade A-D alone is a deficit", arguments: ["A", "B", "C", "D"])
    func asiaDeficit(grade: String) throws {
        var h = History()
        h.presented(at: t0)
        let exam = h.neuro(at: at(t0, hours: 1), ["asiaGrade": grade])
        let out = h.evaluate()
        let rec = try #require(out.active("URGENT_SURGICAL_REFERRAL"))
        #expect(rec.priority == "stat")
        #expect(rec.causationEventId == exam)
        #expect(rec.facts["asiaGrade"] as? String == grade)
        #expect(out.tasks("spine-surgery-consult").first?.priority == "stat")
    }

    @Test("a neuroStatus other than intact alone is a deficit",
          arguments: ["nerve-root", "cord-complete", "cord-incomplete", "cauda-equina"])
    func neuroStatusDeficit(status: String) throws {
        var h = History()
        h.presented(at: t0)
        let exam = h.neuro(at: at(t0, hours: 1), ["neuroStatus": status])
        let out = h.evaluate()
        let rec = try #require(out.active("URGENT_SURGICAL_REFERRAL"))
        #expect(rec.causationEventId == exam)
        #expect(rec.facts["neuroStatus"] as? String == status)
        #expect(out.finalState == "surgicalReferral")
    }

    /// "Intact when it shows no deficit and says so explicitly": a deficit
    /// wins over an explicit intact marker in the same exam.
    @Test("a deficit wins over an explicit intact marker in the same exam")
    func deficitWinsOverIntactMarker() {
        let exams: [[String: Any]] = [
            ["motorDeficit": true, "asiaGrade": "E", "neuroStatus": "intact"],
            ["motorDeficit": false, "sensoryDeficit": false, "bowelBladderDysfunction": false, "asiaGrade": "D"],
            ["asiaGrade": "E", "neuroStatus": "nerve-root"],
            ["motorDeficit": false, "sensoryDeficit": false, "bowelBladderDysfunction": false, "spinalCordInjury": true],
        ]
        for exam in exams {
            var h = History()
            h.presented(at: t0)
            h.neuro(at: at(t0, hours: 1), exam)
            #expect(h.evaluate().active("URGENT_SURGICAL_REFERRAL") != nil, "exam \(exam)")
        }
    }

    // MARK: Intact and indeterminate

    /// Given a compression fracture on a resulted MRI, an intact exam is what
    /// conservative care needs: an exam that is intact lets it start.
    private func conservativeHistory(exam: [String: Any]) -> History {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1))
        h.neuro(at: at(t0, hours: 2), exam)
        return h
    }

    @Test("intact by ASIA grade E alone: no referral, and conservative care starts")
    func intactByASIA() {
        let out = conservativeHistory(exam: ["asiaGrade": "E"]).evaluate()
        #expect(!out.issued("URGENT_SURGICAL_REFERRAL"))
        #expect(out.tasks("spine-surgery-consult").isEmpty)
        #expect(out.active("CONSERVATIVE_MANAGEMENT") != nil)
    }

    @Test("intact by neuroStatus intact alone: no referral, and conservative care starts")
    func intactByNeuroStatus() {
        let out = conservativeHistory(exam: ["neuroStatus": "intact"]).evaluate()
        #expect(!out.issued("URGENT_SURGICAL_REFERRAL"))
        #expect(out.active("CONSERVATIVE_MANAGEMENT") != nil)
    }

    @Test("intact by motor, sensory and bowel/bladder all false: no referral, and conservative care starts")
    func intactByThreeBooleans() {
        let out = conservativeHistory(exam: ["motorDeficit": false, "sensoryDeficit": false,
                                             "bowelBladderDysfunction": false]).evaluate()
        #expect(!out.issued("URGENT_SURGICAL_REFERRAL"))
        #expect(out.active("CONSERVATIVE_MANAGEMENT") != nil)
    }

    /// Indeterminate exams count as neither intact nor deficit.
    @Test("an indeterminate exam issues no referral and does not start conservative care")
    func indeterminate() {
        let exams: [[String: Any]] = [
            [:],
            ["spinalCordInjury": false],
            ["motorDeficit": false, "sensoryDeficit": false],  // two of the three booleans is not "all"
            ["motorDeficit": false, "bowelBladderDysfunction": false, "spinalCordInjury": false],
        ]
        for exam in exams {
            let out = conservativeHistory(exam: exam).evaluate()
            #expect(!out.issued("URGENT_SURGICAL_REFERRAL"), "exam \(exam)")
            #expect(out.tasks("spine-surgery-consult").isEmpty, "exam \(exam)")
            #expect(!out.issued("CONSERVATIVE_MANAGEMENT"), "exam \(exam)")
        }
    }

    /// "The latest exam intact": an indeterminate exam after an intact one,
    /// before the MRI, keeps conservative care from starting.
    @Test("a later indeterminate exam replaces an earlier intact one for conservative care")
    func latestExamIndeterminate() {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: at(t0, hours: 1))
        h.neuro(at: at(t0, hours: 2), ["spinalCordInjury": false])
        h.imaging(at: at(t0, hours: 3))
        #expect(!h.evaluate().issued("CONSERVATIVE_MANAGEMENT"))
    }

    // MARK: Issuance

    @Test("a second deficit while the referral is active issues nothing new")
    func noSecondReferralWhileActive() throws {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: at(t0, hours: 1), ["motorDeficit": true])
        h.neuro(at: at(t0, hours: 1.5), ["bowelBladderDysfunction": true, "asiaGrade": "C"])
        let out = h.evaluate()
        let referrals = out.recommendations.filter { $0.code == "URGENT_SURGICAL_REFERRAL" }
        #expect(referrals.count == 1)
        #expect(referrals.first?.revision == 1)
        #expect(out.taskMessages.filter { $0.code == "spine-surgery-consult" }.count == 1)
    }

    /// A deficit after an instability consult raises the open urgent consult to
    /// stat (a new version, the same id) rather than opening a second one, and
    /// the referral clocks count from the stat request.
    @Test("an urgent instability consult is raised to stat by a later deficit")
    func urgentConsultRaisedToStat() throws {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["unstable": true])
        let exam = h.neuro(at: at(t0, hours: 5), ["motorDeficit": true])

        let before = h.evaluate(until: at(t0, hours: 6, minutes: 59))
        let urgent = try #require(before.taskMessages.first { $0.code == "spine-surgery-consult" })
        #expect(urgent.priority == "urgent")
        #expect(urgent.version == "1")
        let consults = before.taskMessages.filter { $0.code == "spine-surgery-consult" }
        #expect(consults.count == 2)
        #expect(Set(consults.map(\.id)).count == 1)
        let raised = try #require(consults.last)
        #expect(raised.version == "2")
        #expect(raised.priority == "stat")
        #expect(raised.status == "requested")
        #expect(before.tasks("spine-surgery-consult").count == 1)
        let referral = try #require(before.active("URGENT_SURGICAL_REFERRAL"))
        #expect(referral.causationEventId == exam)
        #expect(before.active("SURGICAL_CONSULT_INSTABILITY") != nil)
        // The 2-hour clock counts from the stat request (hour 5), not the urgent one (hour 1).
        #expect(!before.issued("REFERRAL_OVERDUE"))
        let after = h.evaluate(until: at(t0, hours: 7))
        let overdue = try #require(after.active("REFERRAL_OVERDUE"))
        #expect(overdue.issuedAt == at(t0, hours: 7))
    }

    @Test("the referral opens surgicalReferral with a StateChanged naming it")
    func stateChange() {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: at(t0, hours: 1), ["sensoryDeficit": true])
        let out = h.evaluate()
        #expect(out.states.first == "intake")
        #expect(out.states.contains("surgicalReferral"))
        let change = out.domainEvents.last {
            $0["type"] as? String == "StateChanged" && ($0["data"] as? [String: Any])?["to"] as? String == "surgicalReferral"
        }
        let reason = (change?["data"] as? [String: Any])?["reason"] as? String ?? ""
        #expect(!reason.isEmpty)
    }
}
