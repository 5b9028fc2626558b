import Testing
@testable import Pathway

/// Presented (age 70, low-energy by default) at `t0`, an acute L1 compression
/// fracture on MRI at t0+1h (fracture identification), an intact exam at
/// t0+2h: conservative care starts with the exam. Returns its time (day 0).
fileprivate func enterConservativeCare(_ h: inout History, t0: String, age: Int = 70, mechanism: String = "low-energy",
                                       mri: [String: Any] = [:]) -> String {
    h.presented(at: t0, age: age, mechanism: mechanism)
    h.imaging(at: at(t0, hours: 1), modality: "mri", mri)
    let start = at(t0, hours: 2)
    h.neuro(at: start)
    return start
}

/// PATHWAY.md section 4, `CONSERVATIVE_MANAGEMENT`, "Clocks", and
/// `REASSESSMENT_OVERDUE`.
@Suite("Conservative care: CONSERVATIVE_MANAGEMENT and REASSESSMENT_OVERDUE")
struct ConservativeManagementTests {
    let t0 = "2026-03-02T10:00:00Z"

    // MARK: Entry conditions

    @Test("compression fracture on MRI and an intact exam: conservative care with all its tasks")
    func entersConservativeCare() throws {
        var h = History()
        let presentation = h.presented(at: t0, age: 70)
        let mri = h.imaging(at: at(t0, hours: 1), modality: "mri")
        let exam = h.neuro(at: at(t0, hours: 2))
        let out = h.evaluate()
        let rec = try #require(out.active("CONSERVATIVE_MANAGEMENT"))
        #expect(rec.priority == "routine")
        #expect(rec.indicator == "info")
        #expect(rec.causationEventId == exam)
        #expect(rec.issuedAt == at(t0, hours: 2))
        #expect(rec.pathwayState == "conservativeManagement")
        #expect(rec.facts["compressionFracture"] as? Bool == true)
        #expect(rec.rationale.contains { $0["eventId"] as? String == mri })
        #expect(out.finalState == "conservativeManagement")
        #expect(rec.raw["episode"] as? Int == 1)
        #expect(rec.rulesetVersion == "vcf-2027.1")

        let codes = ["brace-for-comfort", "physical-therapy", "reassessment-visit",
                     "osteoporosis-treatment", "metabolic-workup", "calcitonin-course"]
        for code in codes {
            let task = try #require(out.tasks(code).first, "\(code)")
            #expect(out.tasks(code).count == 1, "\(code)")
            #expect(task.status == "requested", "\(code)")
            #expect(task.basedOn == "urn:carepath:recommendation:\(rec.id)", "\(code)")
            #expect((task.raw["reasonCode"] as? [String: Any])?["text"] as? String == rec.summary, "\(code)")
        }
        // Analgesia was asked for when the fracture was first known
        // (PAIN_MANAGEMENT, on the presentation naming fracture levels);
        // conservative care does not request it a second time.
        let pain = try #require(out.active("PAIN_MANAGEMENT"))
        #expect(pain.causationEventId == presentation)
        #expect(pain.raw["episode"] as? Int == 1)
        let analgesia = try #require(out.tasks("analgesia").first)
        #expect(out.tasks("analgesia").count == 1)
        #expect(analgesia.status == "requested")
        #expect(analgesia.version == "1")
        #expect(analgesia.basedOn == "urn:carepath:recommendation:\(pain.id)")
        #expect((analgesia.raw["reasonCode"] as? [String: Any])?["text"] as? String == pain.summary)
        // Calcitonin is a suggestion.
        let calcitonin = try #require(out.tasks("calcitonin-course").first)
        #expect((calcitonin.raw["description"] as? String)?.lowercased().contains("consider") == true)
    }

    @Test("the reassessment visit window is day 28 to day 42 of conservative care")
    func reassessmentWindow() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        let visit = try #require(h.evaluate().tasks("reassessment-visit").first)
        #expect(visit.windowStart == at(start, days: 28))
        #expect(visit.windowEnd == at(start, days: 42))
    }

    @Test("no compression fracture on imaging: no conservative care")
    func noCompressionFracture() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri", ["compressionFracture": false])
        h.neuro(at: at(t0, hours: 2))
        #expect(!h.evaluate().issued("CONSERVATIVE_MANAGEMENT"))
    }

    @Test("a compression fracture on x-ray without an MRI: no conservative care until the MRI")
    func noMRI() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "xray")
        h.imaging(at: at(t0, hours: 2), modality: "ct")
        h.neuro(at: at(t0, hours: 3))
        #expect(!h.evaluate().issued("CONSERVATIVE_MANAGEMENT"))
        let mri = h.imaging(at: at(t0, days: 2), modality: "mri")
        let rec = try #require(h.evaluate().active("CONSERVATIVE_MANAGEMENT"))
        #expect(rec.causationEventId == mri)
    }

    @Test("no neurological exam: no conservative care")
    func noExam() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.pain(at: at(t0, hours: 2), nrs: 6)
        #expect(!h.evaluate().issued("CONSERVATIVE_MANAGEMENT"))
    }

    @Test("an exam stated intact in any of the contract's three ways allows conservative care", arguments: [0, 1, 2])
    func intactForms(variant: Int) {
        let exams: [[String: Any]] = [
            ["asiaGrade": "E"],
            ["neuroStatus": "intact"],
            ["motorDeficit": false, "sensoryDeficit": false, "bowelBladderDysfunction": false],
        ]
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, hours: 2), exams[variant])
        #expect(h.evaluate().active("CONSERVATIVE_MANAGEMENT") != nil)
    }

    @Test("an indeterminate exam does not allow conservative care",
          arguments: [0, 1, 2])
    func indeterminateExam(variant: Int) {
        let exams: [[String: Any]] = [
            [:],
            ["motorDeficit": false, "sensoryDeficit": false],
            ["spinalCordInjury": false, "bowelBladderDysfunction": false],
        ]
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, hours: 2), exams[variant])
        #expect(!h.evaluate().issued("CONSERVATIVE_MANAGEMENT"))
    }

    @Test("an exam with a deficit does not allow conservative care")
    func deficitExam() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, hours: 2), ["sensoryDeficit": true])
        #expect(!h.evaluate().issued("CONSERVATIVE_MANAGEMENT"))
    }

    @Test("an indeterminate exam after an intact one: the latest exam is not intact, no conservative care")
    func laterIndeterminateExam() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "xray")
        h.neuro(at: at(t0, hours: 2))
        h.neuro(at: at(t0, hours: 3), ["motorDeficit": false])
        h.imaging(at: at(t0, hours: 4), modality: "mri")
        #expect(!h.evaluate().issued("CONSERVATIVE_MANAGEMENT"))
    }

    @Test("conservative care is not issued twice while active")
    func notReissued() {
        var h = History()
        _ = enterConservativeCare(&h, t0: t0)
        h.neuro(at: at(t0, hours: 5))
        h.imaging(at: at(t0, days: 3), modality: "mri")
        let out = h.evaluate()
        #expect(out.latest("CONSERVATIVE_MANAGEMENT").count == 1)
        #expect(out.tasks("brace-for-comfort").count == 1)
    }

    // MARK: Open acute tracks block conservative care

    @Test("an open surgicalReferral track (instability) blocks conservative care")
    func blockedBySurgicalReferral() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri", ["unstable": true])
        h.neuro(at: at(t0, hours: 2))
        let out = h.evaluate()
        #expect(out.finalState == "surgicalReferral")
        #expect(!out.issued("CONSERVATIVE_MANAGEMENT"))
    }

    @Test("an open criticalCare track blocks conservative care until the MAP window ends")
    func blockedByCriticalCare() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        let sci = at(t0, hours: 2)
        h.neuro(at: sci, ["spinalCordInjury": true])
        h.taskUpdate("spine-surgery-consult", "completed", at: at(t0, hours: 10))
        h.neuro(at: at(t0, days: 3))
        let during = h.evaluate(until: at(sci, days: 7, minutes: -1))
        #expect(during.finalState == "criticalCare")
        #expect(!during.issued("CONSERVATIVE_MANAGEMENT"))
        // CONSERVATIVE_MANAGEMENT is evaluated after every timer too.
        let after = h.evaluate(until: at(sci, days: 7))
        let rec = try #require(after.active("CONSERVATIVE_MANAGEMENT"))
        #expect(rec.causationEventId == "P1/map-window-end/1")
        #expect(after.finalState == "conservativeManagement")
    }

    @Test("an open infectionWorkup track blocks conservative care")
    func blockedByInfection() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri", ["discitisOsteomyelitis": true])
        h.neuro(at: at(t0, hours: 2))
        let out = h.evaluate()
        #expect(out.finalState == "infectionWorkup")
        #expect(!out.issued("CONSERVATIVE_MANAGEMENT"))
    }

    @Test("an open antibioticTherapy track blocks conservative care; completing the course allows it")
    func blockedByAntibiotics() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri", ["discitisOsteomyelitis": true])
        h.neuro(at: at(t0, hours: 2))
        h.biopsy(at: at(t0, days: 2), organism: "Staphylococcus aureus")
        h.neuro(at: at(t0, days: 3))
        let during = h.evaluate()
        #expect(during.finalState == "antibioticTherapy")
        #expect(!during.issued("CONSERVATIVE_MANAGEMENT"))
        let done = h.taskUpdate("iv-antibiotics", "completed", at: at(t0, days: 50))
        let rec = try #require(h.evaluate().active("CONSERVATIVE_MANAGEMENT"))
        #expect(rec.causationEventId == done)
    }

    @Test("an open pathologicWorkup track blocks conservative care")
    func blockedByPathologic() {
        var h = History()
        h.presented(at: t0, age: 70, history: ["unexplainedWeightLoss": true])
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, hours: 2))
        let out = h.evaluate()
        #expect(out.finalState == "pathologicWorkup")
        #expect(!out.issued("CONSERVATIVE_MANAGEMENT"))
    }

    @Test("after a deficit, a later intact exam and a completed consult enter conservative care (on the consult)")
    func reentersAfterCompletedConsult() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, hours: 2), ["motorDeficit": true])
        h.neuro(at: at(t0, hours: 8))
        #expect(!h.evaluate().issued("CONSERVATIVE_MANAGEMENT"))
        let done = h.taskUpdate("spine-surgery-consult", "completed", at: at(t0, hours: 12))
        let out = h.evaluate()
        let rec = try #require(out.active("CONSERVATIVE_MANAGEMENT"))
        #expect(rec.causationEventId == done)
        #expect(out.finalState == "conservativeManagement")
    }

    @Test("after a deficit and a completed consult, the intact exam enters conservative care (on the exam)")
    func reentersOnIntactExam() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, hours: 2), ["motorDeficit": true])
        h.taskUpdate("spine-surgery-consult", "completed", at: at(t0, hours: 12))
        #expect(!h.evaluate().issued("CONSERVATIVE_MANAGEMENT"))
        let exam = h.neuro(at: at(t0, hours: 20))
        #expect(h.evaluate().active("CONSERVATIVE_MANAGEMENT")?.causationEventId == exam)
    }

    // MARK: Fragility tasks and calcitonin

    @Test("calcitonin window runs from the start of conservative care to 28 days after fracture identification")
    func calcitoninWindow() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        let identified = at(t0, hours: 1)
        h.imaging(at: identified, modality: "mri")
        let start = at(t0, days: 5)
        h.neuro(at: start)
        let task = try #require(h.evaluate().tasks("calcitonin-course").first)
        #expect(task.windowStart == start)
        #expect(task.windowEnd == at(identified, days: 28))
    }

    @Test("conservative care starting exactly 5 × 24 h after identification includes calcitonin")
    func calcitoninExactlyDay5() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        let identified = at(t0, hours: 1)
        h.imaging(at: identified, modality: "xray")
        h.neuro(at: at(t0, hours: 2))
        let start = at(identified, days: 5)
        h.imaging(at: start, modality: "mri")
        let out = h.evaluate()
        let rec = try #require(out.active("CONSERVATIVE_MANAGEMENT"))
        #expect(rec.issuedAt == start)
        let task = try #require(out.tasks("calcitonin-course").first)
        #expect(task.status == "requested")
        #expect(task.windowStart == start)
        #expect(task.windowEnd == at(identified, days: 28))
        #expect(task.basedOn == "urn:carepath:recommendation:\(rec.id)")
        #expect((task.raw["description"] as? String)?.contains("Consider calcitonin") == true)
        #expect(out.domainEvents.contains { ($0["data"] as? [String: Any])?["timerCode"] as? String == "calcitonin-window-end" })
    }

    @Test("conservative care starting 5 days and 1 minute after identification has no calcitonin")
    func calcitoninDay5PlusAMinute() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        let identified = at(t0, hours: 1)
        h.imaging(at: identified, modality: "xray")
        h.neuro(at: at(t0, hours: 2))
        let start = at(identified, days: 5, minutes: 1)
        h.imaging(at: start, modality: "mri")
        let out = h.evaluate(until: at(identified, days: 30))
        let rec = try #require(out.active("CONSERVATIVE_MANAGEMENT"))
        #expect(rec.issuedAt == start)
        #expect(out.tasks("calcitonin-course").isEmpty)
        #expect(!((rec.raw["detail"] as? String) ?? "").lowercased().contains("calcitonin"))
        // Fragility care other than calcitonin is unaffected; no calcitonin-window timer.
        #expect(out.tasks("osteoporosis-treatment").count == 1)
        #expect(out.tasks("metabolic-workup").count == 1)
        #expect(!out.domainEvents.contains { ($0["data"] as? [String: Any])?["timerCode"] as? String == "calcitonin-window-end" })
    }

    @Test("conservative care starting at day 28 after identification has no calcitonin")
    func calcitoninDay28() {
        var h = History()
        h.presented(at: t0, age: 70)
        let identified = at(t0, hours: 1)
        h.imaging(at: identified, modality: "xray")
        h.neuro(at: at(t0, hours: 2))
        h.imaging(at: at(identified, days: 28), modality: "mri")
        let out = h.evaluate()
        #expect(out.active("CONSERVATIVE_MANAGEMENT") != nil)
        #expect(out.tasks("calcitonin-course").isEmpty)
        #expect(out.tasks("osteoporosis-treatment").count == 1)
        #expect(out.tasks("metabolic-workup").count == 1)
    }

    @Test("fracture identification is the first imaging with a compression fracture, not the presentation")
    func identificationByFirstFractureImaging() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "xray", ["compressionFracture": false])
        let identified = at(t0, days: 20)
        h.imaging(at: identified, modality: "mri")
        h.imaging(at: at(t0, days: 22), modality: "ct")
        let start = at(identified, days: 4)
        h.neuro(at: start)
        // Day 24 after the presentation, but day 4 after identification: calcitonin applies.
        let task = try #require(h.evaluate().tasks("calcitonin-course").first)
        #expect(task.windowStart == start)
        #expect(task.windowEnd == at(identified, days: 28))
    }

    @Test("no calcitonin when the MRI calls the fracture chronic")
    func chronicOnMRI() {
        var h = History()
        _ = enterConservativeCare(&h, t0: t0, mri: ["acuity": "chronic"])
        let out = h.evaluate()
        #expect(out.active("CONSERVATIVE_MANAGEMENT") != nil)
        #expect(out.tasks("calcitonin-course").isEmpty)
        #expect(out.tasks("osteoporosis-treatment").count == 1)
        #expect(out.tasks("metabolic-workup").count == 1)
    }

    @Test("an x-ray calling it chronic does not stop calcitonin when the MRI calls it acute")
    func chronicOnXrayOnly() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, minutes: 30), modality: "xray", ["acuity": "chronic"])
        h.imaging(at: at(t0, hours: 1), modality: "mri", ["acuity": "acute"])
        h.neuro(at: at(t0, hours: 2))
        #expect(h.evaluate().tasks("calcitonin-course").count == 1)
    }

    @Test("a high-energy-trauma fracture: no osteoporosis treatment, metabolic workup or calcitonin; physical therapy after clearance")
    func highEnergyTrauma() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0, mechanism: "high-energy-trauma")
        let out = h.evaluate()
        let rec = try #require(out.active("CONSERVATIVE_MANAGEMENT"))
        #expect(rec.priority == "routine")
        #expect(!rec.summary.contains("fragility"))
        for code in ["analgesia", "brace-for-comfort", "reassessment-visit"] {
            #expect(out.tasks(code).count == 1, "\(code)")
        }
        for code in ["osteoporosis-treatment", "metabolic-workup", "calcitonin-course"] {
            #expect(out.tasks(code).isEmpty, "\(code)")
        }
        // High-energy trauma brings spinal precautions: physical therapy waits for clearance.
        #expect(out.tasks("spinal-precautions").first?.status == "requested")
        #expect(out.tasks("physical-therapy").isEmpty)
        h.cleared(at: at(start, days: 1), cervical: true, thoracolumbar: true)
        let cleared = h.evaluate()
        #expect(cleared.tasks("physical-therapy").map(\.status) == ["requested"])
        #expect(cleared.tasks("physical-therapy").first?.basedOn == "urn:carepath:recommendation:\(rec.id)")
    }

    @Test("without a presentation the mechanism is unknown, which is not high-energy trauma: fragility care is requested")
    func noPresentation() throws {
        var h = History()
        h.imaging(at: t0, modality: "mri")
        h.neuro(at: at(t0, hours: 1))
        let out = h.evaluate()
        let rec = try #require(out.active("CONSERVATIVE_MANAGEMENT"))
        #expect(rec.summary.contains("fragility fracture"))
        #expect(out.tasks("analgesia").count == 1)
        for code in ["osteoporosis-treatment", "metabolic-workup", "calcitonin-course"] {
            #expect(out.tasks(code).count == 1, "\(code)")
        }
    }

    // MARK: REASSESSMENT_OVERDUE

    @Test("the reassessment visit not completed by day 42 issues REASSESSMENT_OVERDUE from the timer")
    func overdueAtDay42() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        #expect(!h.evaluate(until: at(start, days: 42, minutes: -1)).issued("REASSESSMENT_OVERDUE"))
        let out = h.evaluate(until: at(start, days: 42))
        let rec = try #require(out.active("REASSESSMENT_OVERDUE"))
        #expect(rec.priority == "urgent")
        #expect(rec.indicator == "warning")
        #expect(rec.causationEventId == "P1/reassessment-overdue/1")
        #expect(rec.issuedAt == at(start, days: 42))
        #expect(rec.rationale.contains { $0["eventId"] as? String == "P1/reassessment-overdue/1" })
        #expect(!rec.evidence.isEmpty)
        // No task is requested by the overdue card.
        #expect(out.taskMessages.allSatisfy { $0.basedOn != "urn:carepath:recommendation:\(rec.id)" })
    }

    @Test("a visit in progress (not completed) by day 42 is still overdue")
    func inProgressIsOverdue() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.taskUpdate("reassessment-visit", "in-progress", at: at(start, days: 30))
        #expect(h.evaluate(until: at(start, days: 43)).active("REASSESSMENT_OVERDUE") != nil)
    }

    @Test("a visit cancelled downstream before day 42 has ended otherwise: no REASSESSMENT_OVERDUE (decision record)")
    func cancelledDownstreamNotOverdue() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.taskUpdate("reassessment-visit", "cancelled", at: at(start, days: 30))
        let out = h.evaluate(until: at(start, days: 43))
        #expect(!out.issued("REASSESSMENT_OVERDUE"))
        // The task system's decision stands; conservative care (other tasks open) goes on.
        #expect(out.tasks("reassessment-visit").map(\.status) == ["cancelled"])
        #expect(out.active("CONSERVATIVE_MANAGEMENT") != nil)
    }

    @Test("a visit rejected downstream after day 42 withdraws REASSESSMENT_OVERDUE")
    func rejectedAfterOverdueWithdraws() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        let overdue = try #require(h.evaluate(until: at(start, days: 43)).active("REASSESSMENT_OVERDUE"))
        let rejected = h.taskUpdate("reassessment-visit", "rejected", at: at(start, days: 44))
        let latest = try #require(h.evaluate().latest("REASSESSMENT_OVERDUE").first)
        #expect(latest.id == overdue.id)
        #expect(latest.revision == 2)
        #expect(latest.status == "withdrawn")
        #expect(latest.causationEventId == rejected)
    }

    @Test("a visit completed at day 41 issues no REASSESSMENT_OVERDUE")
    func completedDay41() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.taskUpdate("reassessment-visit", "completed", at: at(start, days: 41))
        let out = h.evaluate(until: at(start, days: 60))
        #expect(!out.issued("REASSESSMENT_OVERDUE"))
        #expect(out.tasks("reassessment-visit").first?.status == "completed")
    }

    @Test("a visit completed at exactly day 42 comes after the timer: overdue, then completed")
    func completedExactlyDay42() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        let done = h.taskUpdate("reassessment-visit", "completed", at: at(start, days: 42))
        let out = h.evaluate()
        let revisions = out.recommendations.filter { $0.code == "REASSESSMENT_OVERDUE" }
        #expect(revisions.map(\.status) == ["active", "completed"])
        #expect(revisions.first?.causationEventId == "P1/reassessment-overdue/1")
        #expect(revisions.last?.causationEventId == done)
        #expect(out.active("REASSESSMENT_OVERDUE") == nil)
    }

    @Test("completing the visit after day 42 completes REASSESSMENT_OVERDUE (same id, next revision)")
    func withdrawnOnCompletion() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        let overdue = try #require(h.evaluate(until: at(start, days: 43)).active("REASSESSMENT_OVERDUE"))
        let done = h.taskUpdate("reassessment-visit", "completed", at: at(start, days: 45))
        let out = h.evaluate()
        let latest = try #require(out.latest("REASSESSMENT_OVERDUE").first)
        #expect(out.latest("REASSESSMENT_OVERDUE").count == 1)
        #expect(latest.id == overdue.id)
        #expect(latest.revision == 2)
        #expect(latest.status == "completed")
        #expect(latest.causationEventId == done)
        #expect(latest.updatedAt == at(start, days: 45))
        #expect(latest.issuedAt == at(start, days: 42))
    }
}
