import Foundation
import Testing
@testable import Pathway

/// PATHWAY.md section 4 `SURGICAL_CONSULT_INSTABILITY` and section 8 (TLICS).
@Suite("Instability: SURGICAL_CONSULT_INSTABILITY and TLICS")
struct InstabilityTests {
    let t0 = "2026-03-02T10:00:00Z"

    private func expectUrgentConsult(_ out: Outputs, causedBy event: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let rec = out.active("SURGICAL_CONSULT_INSTABILITY") else {
            Issue.record("SURGICAL_CONSULT_INSTABILITY not active", sourceLocation: sourceLocation)
            return
        }
        #expect(rec.priority == "urgent", sourceLocation: sourceLocation)
        #expect(rec.indicator == "warning", sourceLocation: sourceLocation)
        #expect(rec.causationEventId == event, sourceLocation: sourceLocation)
        #expect(rec.pathwayState == "surgicalReferral", sourceLocation: sourceLocation)
        #expect(!rec.evidence.isEmpty, sourceLocation: sourceLocation)
        let consults = out.tasks("spine-surgery-consult")
        #expect(consults.count == 1, sourceLocation: sourceLocation)
        #expect(consults.first?.priority == "urgent", sourceLocation: sourceLocation)
        #expect(consults.first?.status == "requested", sourceLocation: sourceLocation)
        #expect(consults.first?.basedOn == "urn:carepath:recommendation:\(rec.id)", sourceLocation: sourceLocation)
    }

    // MARK: Unstable, cord compression

    @Test("imaging unstable issues an urgent consult")
    func unstable() throws {
        var h = History()
        h.presented(at: t0)
        let img = h.imaging(at: at(t0, hours: 1), ["unstable": true])
        let out = h.evaluate()
        expectUrgentConsult(out, causedBy: img)
        #expect(out.active("SURGICAL_CONSULT_INSTABILITY")?.facts["unstable"] as? Bool == true)
        #expect(out.finalState == "surgicalReferral")
        #expect(!out.issued("URGENT_SURGICAL_REFERRAL"))
    }

    @Test("significant cord compression issues an urgent consult")
    func significantCompression() throws {
        var h = History()
        h.presented(at: t0)
        let img = h.imaging(at: at(t0, hours: 1), ["cordCompression": "significant"])
        let out = h.evaluate()
        expectUrgentConsult(out, causedBy: img)
        #expect(out.active("SURGICAL_CONSULT_INSTABILITY")?.facts["cordCompression"] as? String == "significant")
    }

    @Test("mild or no cord compression on a stable fracture issues nothing", arguments: ["mild", "none"])
    func mildCompression(level: String) {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["cordCompression": level, "unstable": false])
        h.neuro(at: at(t0, hours: 2))
        let out = h.evaluate()
        #expect(!out.issued("SURGICAL_CONSULT_INSTABILITY"))
        #expect(out.tasks("spine-surgery-consult").isEmpty)
    }

    @Test("unstable false issues nothing")
    func stable() {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["unstable": false])
        #expect(!h.evaluate().issued("SURGICAL_CONSULT_INSTABILITY"))
    }

    // MARK: TLICS

    struct Case: Sendable, CustomTestStringConvertible {
        var morphology: String
        var plc: String
        var neuroStatus: String
        var score: Int
        var testDescription: String { "\(morphology)+\(plc)+\(neuroStatus)=\(score)" }
    }

    static let cases: [Case] = [
        Case(morphology: "burst", plc: "indeterminate", neuroStatus: "intact", score: 4),
        Case(morphology: "burst", plc: "injured", neuroStatus: "intact", score: 5),
        Case(morphology: "compression", plc: "injured", neuroStatus: "intact", score: 4),
        Case(morphology: "translation-rotation", plc: "indeterminate", neuroStatus: "intact", score: 5),
        Case(morphology: "distraction", plc: "intact", neuroStatus: "intact", score: 4),
        Case(morphology: "compression", plc: "intact", neuroStatus: "cord-incomplete", score: 4),
        Case(morphology: "compression", plc: "intact", neuroStatus: "cauda-equina", score: 4),
        Case(morphology: "compression", plc: "indeterminate", neuroStatus: "nerve-root", score: 5),
        Case(morphology: "burst", plc: "intact", neuroStatus: "cord-complete", score: 4),
        Case(morphology: "burst", plc: "intact", neuroStatus: "cord-incomplete", score: 5),
        Case(morphology: "distraction", plc: "intact", neuroStatus: "nerve-root", score: 6),
        Case(morphology: "compression", plc: "intact", neuroStatus: "intact", score: 1),
        Case(morphology: "translation-rotation", plc: "injured", neuroStatus: "cauda-equina", score: 9),
    ]

    /// TLICS ≥ 5 issues the consult, with the score in the rationale; ≤ 4 does
    /// not. Section 4: urgent / warning, but stat / critical when the exam
    /// shows a deficit (any neuroStatus other than intact).
    @Test("TLICS of 5 or more issues the consult (stat with a deficit); 4 or less does not", arguments: cases)
    func tlics(c: Case) throws {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["morphology": c.morphology, "posteriorLigamentousComplex": c.plc])
        let exam = h.neuro(at: at(t0, hours: 2), ["neuroStatus": c.neuroStatus])
        let out = h.evaluate()
        let deficit = c.neuroStatus != "intact"
        if c.score >= 5 {
            let rec = try #require(out.active("SURGICAL_CONSULT_INSTABILITY"))
            #expect(rec.causationEventId == exam)
            #expect(rec.priority == (deficit ? "stat" : "urgent"))
            #expect(rec.indicator == (deficit ? "critical" : "warning"))
            #expect(rec.facts["tlics"] as? Int == c.score)
            // One consult, shared with the deficit's referral.
            #expect(out.tasks("spine-surgery-consult").count == 1)
            #expect(out.tasks("spine-surgery-consult").first?.priority == (deficit ? "stat" : "urgent"))
        } else {
            #expect(!out.issued("SURGICAL_CONSULT_INSTABILITY"))
        }
    }

    @Test("TLICS 5 (burst, PLC injured, intact) issues an urgent consult naming the score")
    func tlicsFive() throws {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["morphology": "burst", "posteriorLigamentousComplex": "injured"])
        let exam = h.neuro(at: at(t0, hours: 2))
        let out = h.evaluate()
        expectUrgentConsult(out, causedBy: exam)
        let rec = try #require(out.active("SURGICAL_CONSULT_INSTABILITY"))
        #expect(rec.facts["tlics"] as? Int == 5)
        #expect(rec.rationale.contains { $0["fact"] as? String == "tlics" && $0["value"] as? Int == 5 })
        #expect(!out.issued("URGENT_SURGICAL_REFERRAL"))
    }

    @Test("TLICS is not scorable without an exam")
    func noExam() {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["morphology": "distraction", "posteriorLigamentousComplex": "injured"])
        #expect(!h.evaluate().issued("SURGICAL_CONSULT_INSTABILITY"))
    }

    @Test("the exam that first brings TLICS to 5 issues it, after the imaging")
    func examArrivesAfterImaging() throws {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["morphology": "burst", "posteriorLigamentousComplex": "injured"])
        #expect(!h.evaluate().issued("SURGICAL_CONSULT_INSTABILITY"))
        let exam = h.neuro(at: at(t0, hours: 3), ["asiaGrade": "E"])
        let out = h.evaluate()
        let rec = try #require(out.active("SURGICAL_CONSULT_INSTABILITY"))
        #expect(rec.causationEventId == exam)
        #expect(rec.issuedAt == at(t0, hours: 3))
        #expect(rec.facts["tlics"] as? Int == 5)
    }

    @Test("the imaging that first brings TLICS to 5 issues it, after the exam")
    func imagingArrivesAfterExam() throws {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["morphology": "burst", "posteriorLigamentousComplex": "indeterminate"])
        h.neuro(at: at(t0, hours: 2))
        #expect(!h.evaluate().issued("SURGICAL_CONSULT_INSTABILITY"))
        let second = h.imaging(at: at(t0, hours: 3), ["morphology": "burst", "posteriorLigamentousComplex": "injured"])
        let out = h.evaluate()
        let rec = try #require(out.active("SURGICAL_CONSULT_INSTABILITY"))
        #expect(rec.causationEventId == second)
        #expect(rec.facts["tlics"] as? Int == 5)
    }

    @Test("a later exam raising the neurology score brings TLICS to 5")
    func laterExamRaisesScore() throws {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["morphology": "compression", "posteriorLigamentousComplex": "injured"])
        h.neuro(at: at(t0, hours: 2))
        #expect(!h.evaluate().issued("SURGICAL_CONSULT_INSTABILITY"))
        let worse = h.neuro(at: at(t0, hours: 3), ["neuroStatus": "nerve-root"])
        let rec = try #require(h.evaluate().active("SURGICAL_CONSULT_INSTABILITY"))
        #expect(rec.causationEventId == worse)
        #expect(rec.facts["tlics"] as? Int == 6)
    }

    /// Morphology and PLC come from the latest imaging that gives them.
    @Test("morphology and PLC carry over from earlier imaging that gave them")
    func componentsFromDifferentImaging() throws {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["morphology": "burst", "posteriorLigamentousComplex": NSNull()])
        h.neuro(at: at(t0, hours: 2))
        #expect(!h.evaluate().issued("SURGICAL_CONSULT_INSTABILITY"))
        let plc = h.imaging(at: at(t0, hours: 3), ["morphology": NSNull(), "posteriorLigamentousComplex": "injured"])
        let rec = try #require(h.evaluate().active("SURGICAL_CONSULT_INSTABILITY"))
        #expect(rec.causationEventId == plc)
        #expect(rec.facts["tlics"] as? Int == 5)
    }

    @Test("the latest imaging's morphology replaces an earlier one")
    func latestMorphologyWins() {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["morphology": "burst", "posteriorLigamentousComplex": "intact"])
        h.imaging(at: at(t0, hours: 2), ["morphology": "compression", "posteriorLigamentousComplex": "injured"])
        h.neuro(at: at(t0, hours: 3))  // compression 1 + injured 3 + intact 0 = 4, not burst 2 + 3 = 5
        #expect(!h.evaluate().issued("SURGICAL_CONSULT_INSTABILITY"))
    }

    /// Section 8: neurology "absent counts as intact when the exam is intact, else no score".
    @Test("neuroStatus absent on an exam intact by ASIA E counts 0")
    func absentNeuroStatusIntactASIA() throws {
        try expectScoreFive(exam: ["asiaGrade": "E"])
    }

    @Test("neuroStatus absent on an exam intact by three false booleans counts 0")
    func absentNeuroStatusIntactBooleans() throws {
        try expectScoreFive(exam: ["motorDeficit": false, "sensoryDeficit": false, "bowelBladderDysfunction": false])
    }

    private func expectScoreFive(exam: [String: Any]) throws {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["morphology": "burst", "posteriorLigamentousComplex": "injured"])
        let e = h.neuro(at: at(t0, hours: 2), exam)
        let rec = try #require(h.evaluate().active("SURGICAL_CONSULT_INSTABILITY"))
        #expect(rec.causationEventId == e)
        #expect(rec.facts["tlics"] as? Int == 5)
    }

    @Test("neuroStatus absent on an indeterminate exam gives no score")
    func absentNeuroStatusIndeterminate() {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["morphology": "distraction", "posteriorLigamentousComplex": "injured"])
        h.neuro(at: at(t0, hours: 2), ["spinalCordInjury": false])
        #expect(!h.evaluate().issued("SURGICAL_CONSULT_INSTABILITY"))
    }

    @Test("no second instability consult while one is active")
    func notReissued() {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["unstable": true])
        h.imaging(at: at(t0, hours: 2), ["cordCompression": "significant", "morphology": "burst", "posteriorLigamentousComplex": "injured"])
        h.neuro(at: at(t0, hours: 3))
        let out = h.evaluate()
        #expect(out.recommendations.filter { $0.code == "SURGICAL_CONSULT_INSTABILITY" }.count == 1)
        #expect(out.taskMessages.filter { $0.code == "spine-surgery-consult" }.count == 1)
    }

    /// Version 3: urgent consults have deadlines too (24 h to accept, 72 h to
    /// complete); REFERRAL_OVERDUE is then urgent / warning.
    @Test("an urgent instability consult not accepted within 24 h is REFERRAL_OVERDUE, urgent / warning")
    func urgentReferralClocks() throws {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["unstable": true])
        #expect(!h.evaluate(until: at(t0, hours: 25, minutes: -1)).issued("REFERRAL_OVERDUE"))
        let out = h.evaluate(until: at(t0, hours: 25))
        let rec = try #require(out.active("REFERRAL_OVERDUE"))
        #expect(rec.priority == "urgent")
        #expect(rec.indicator == "warning")
        #expect(rec.causationEventId == "P1/referral-acceptance/1")
        #expect(rec.issuedAt == at(t0, hours: 25))
    }

    /// Version 3 fix 8: instability and cord compression bring spinal
    /// precautions whatever the mechanism; cord compression is not called instability.
    @Test("significant cord compression on a low-energy fracture is named as cord compression, not instability, and brings precautions")
    func compressionIsNotInstability() throws {
        var h = History()
        h.presented(at: t0, mechanism: "low-energy")
        h.imaging(at: at(t0, hours: 1), ["cordCompression": "significant", "unstable": false])
        let out = h.evaluate()
        let rec = try #require(out.active("SURGICAL_CONSULT_INSTABILITY"))
        #expect(rec.summary.lowercased().contains("cord compression"))
        #expect(!rec.summary.lowercased().contains("instability"))
        #expect(!rec.summary.contains("cordCompression"))
        #expect(out.active("SPINAL_PRECAUTIONS") != nil)
    }

    /// Section 4: stat / critical "with an SCI or a deficit" — a deficit
    /// already known when the imaging shows the instability.
    @Test("an unstable fracture after a deficit exam gets a stat / critical consult, one stat consult task")
    func unstableWithDeficitIsStat() throws {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: at(t0, hours: 1), ["motorDeficit": true])
        let img = h.imaging(at: at(t0, hours: 2), ["unstable": true])
        let out = h.evaluate()
        let rec = try #require(out.active("SURGICAL_CONSULT_INSTABILITY"))
        #expect(rec.causationEventId == img)
        #expect(rec.priority == "stat")
        #expect(rec.indicator == "critical")
        #expect(out.tasks("spine-surgery-consult").count == 1)
        #expect(out.tasks("spine-surgery-consult").first?.priority == "stat")
    }

    @Test("an unstable fracture on CT or x-ray also issues the consult", arguments: ["ct", "xray"])
    func unstableOtherModalities(modality: String) {
        var h = History()
        h.presented(at: t0)
        let img = h.imaging(at: at(t0, hours: 1), modality: modality, ["unstable": true])
        expectUrgentConsult(h.evaluate(), causedBy: img)
    }
}
