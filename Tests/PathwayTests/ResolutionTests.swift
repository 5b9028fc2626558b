import Testing
@testable import Pathway

/// Presented (age 70, low-energy) at `t0`, acute L1 compression fracture on
/// MRI at t0+1h, intact exam at `start`: conservative care starts at `start`.
fileprivate func enterConservativeCare(_ h: inout History, t0: String, start: String) {
    h.presented(at: t0, age: 70)
    h.imaging(at: at(t0, hours: 1), modality: "mri")
    h.neuro(at: start)
}

/// PATHWAY.md section 4, `PATHWAY_RESOLVED`: the latest NRS (clinical time)
/// ≤ 3, recorded at or after day 28 of conservative care, with the
/// `reassessment-visit` completed (the NRS may come before or after it) and no
/// safety card active → routine / info; `CONSERVATIVE_MANAGEMENT` is completed;
/// open `brace-for-comfort`, `physical-therapy` and `calcitonin-course` are
/// cancelled ("pathway resolved"); `analgesia`, `osteoporosis-treatment` and
/// `metabolic-workup` continue; the state becomes `recovering`.
@Suite("Resolution: PATHWAY_RESOLVED")
struct ResolutionTests {
    let t0 = "2026-03-02T10:00:00Z"
    var start: String { at(t0, hours: 2) }

    /// The reassessment visit reported completed downstream.
    @discardableResult
    func visitCompleted(_ h: inout History, at time: String) -> String {
        h.taskUpdate("reassessment-visit", "completed", at: time)
    }

    @Test("NRS 3 at day 28 of conservative care resolves the pathway")
    func nrs3Day28() throws {
        var h = History()
        enterConservativeCare(&h, t0: t0, start: start)
        h.pain(at: at(start, hours: 1), nrs: 8)
        let visit = visitCompleted(&h, at: at(start, days: 28))
        let pain = h.pain(at: at(start, days: 28), nrs: 3)
        let out = h.evaluate()
        let rec = try #require(out.active("PATHWAY_RESOLVED"))
        #expect(rec.priority == "routine")
        #expect(rec.indicator == "info")
        #expect(rec.causationEventId == pain)
        #expect(rec.issuedAt == at(start, days: 28))
        #expect(rec.pathwayState == "recovering")
        #expect(rec.facts["nrs"] as? Int == 3)
        #expect(rec.facts["reassessmentVisit"] as? String == "completed")
        #expect(rec.raw["episode"] as? Int == 1)
        #expect(rec.rulesetVersion == "vcf-2027.1")
        #expect(!rec.evidence.isEmpty)
        #expect(out.finalState == "recovering")
        #expect(out.tasks("reassessment-visit").first?.status == "completed")
        #expect(!out.recommendations.contains { $0.causationEventId == visit && $0.code == "PATHWAY_RESOLVED" })
        // PATHWAY_RESOLVED requests no task.
        #expect(out.taskMessages.allSatisfy { $0.basedOn != "urn:carepath:recommendation:\(rec.id)" })
    }

    @Test("NRS 4 at day 28 does not resolve the pathway")
    func nrs4Day28() {
        var h = History()
        enterConservativeCare(&h, t0: t0, start: start)
        visitCompleted(&h, at: at(start, days: 28))
        h.pain(at: at(start, days: 28), nrs: 4)
        let out = h.evaluate()
        #expect(!out.issued("PATHWAY_RESOLVED"))
        #expect(out.finalState == "conservativeManagement")
        #expect(out.tasks("brace-for-comfort").first?.status == "requested")
    }

    @Test("NRS 3 on day 27 (or a minute before day 28) does not resolve the pathway")
    func nrs3BeforeDay28() {
        var h = History()
        enterConservativeCare(&h, t0: t0, start: start)
        visitCompleted(&h, at: at(start, days: 26))
        h.pain(at: at(start, days: 27), nrs: 3)
        h.pain(at: at(start, days: 28, minutes: -1), nrs: 2)
        let out = h.evaluate()
        #expect(!out.issued("PATHWAY_RESOLVED"))
        #expect(out.finalState == "conservativeManagement")
    }

    @Test("a later NRS ≤ 3 after day 28 resolves after an earlier one did not")
    func laterNRSResolves() throws {
        var h = History()
        enterConservativeCare(&h, t0: t0, start: start)
        h.pain(at: at(start, days: 27), nrs: 3)
        visitCompleted(&h, at: at(start, days: 30))
        #expect(!h.evaluate().issued("PATHWAY_RESOLVED"))
        let later = h.pain(at: at(start, days: 35), nrs: 0)
        #expect(h.evaluate().active("PATHWAY_RESOLVED")?.causationEventId == later)
    }

    @Test("day 28 counts from the start of conservative care, not from the presentation")
    func countsFromConservativeCare() throws {
        var h = History()
        let lateStart = at(t0, days: 10)
        enterConservativeCare(&h, t0: t0, start: lateStart)
        visitCompleted(&h, at: at(t0, days: 29))
        h.pain(at: at(t0, days: 30), nrs: 2)  // day 30 after presentation, day 20 of conservative care
        #expect(!h.evaluate().issued("PATHWAY_RESOLVED"))
        let pain = h.pain(at: at(lateStart, days: 28), nrs: 2)
        #expect(h.evaluate().active("PATHWAY_RESOLVED")?.causationEventId == pain)
    }

    @Test("a low NRS without conservative care resolves nothing")
    func noConservativeCare() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "xray")
        h.pain(at: at(t0, days: 40), nrs: 1)
        #expect(!h.evaluate().issued("PATHWAY_RESOLVED"))
    }

    @Test("resolution moves conservativeManagement to recovering in one state change")
    func stateRecovering() {
        var h = History()
        enterConservativeCare(&h, t0: t0, start: start)
        visitCompleted(&h, at: at(start, days: 29))
        h.pain(at: at(start, days: 30), nrs: 1)
        let states = h.evaluate().states
        #expect(Array(states.suffix(2)) == ["conservativeManagement", "recovering"])
    }

    @Test("open conservative tasks are cancelled with \"pathway resolved\"; analgesia, osteoporosis treatment and metabolic workup continue")
    func tasksCancelled() throws {
        var h = History()
        enterConservativeCare(&h, t0: t0, start: start)
        visitCompleted(&h, at: at(start, days: 29))
        let pain = h.pain(at: at(start, days: 30), nrs: 2)
        let out = h.evaluate()
        for code in ["brace-for-comfort", "physical-therapy"] {
            let task = try #require(out.tasks(code).first, "\(code)")
            #expect(task.status == "cancelled", "\(code)")
            #expect(task.statusReason == "pathway resolved", "\(code)")
            #expect(task.version == "2", "\(code)")
            #expect(task.raw["lastModified"] as? String == at(start, days: 30), "\(code)")
        }
        for code in ["analgesia", "osteoporosis-treatment", "metabolic-workup"] {
            let task = try #require(out.tasks(code).first, "\(code)")
            #expect(task.status == "requested", "\(code)")
            #expect(task.version == "1", "\(code)")
            #expect(task.statusReason == nil, "\(code)")
        }
        // The visit was completed, not cancelled; calcitonin had already ended with
        // its window, 28 days after fracture identification (before day 28 of care).
        #expect(out.tasks("reassessment-visit").first?.status == "completed")
        #expect(out.tasks("calcitonin-course").first?.status == "cancelled")
        #expect(out.tasks("calcitonin-course").first?.statusReason == "calcitonin window ended")
        #expect(out.active("PATHWAY_RESOLVED")?.causationEventId == pain)
    }

    @Test("a conservative task already completed downstream is not cancelled on resolution")
    func completedTaskNotCancelled() {
        var h = History()
        enterConservativeCare(&h, t0: t0, start: start)
        h.taskUpdate("physical-therapy", "completed", at: at(start, days: 20))
        h.taskUpdate("reassessment-visit", "completed", at: at(start, days: 29))
        h.pain(at: at(start, days: 30), nrs: 2)
        let out = h.evaluate()
        #expect(out.tasks("physical-therapy").first?.status == "completed")
        #expect(out.tasks("reassessment-visit").first?.status == "completed")
        #expect(out.tasks("brace-for-comfort").first?.status == "cancelled")
    }

    @Test("after resolution, no reassessment overdue at day 42 and no day-90 review")
    func timersEndWithResolution() {
        var h = History()
        enterConservativeCare(&h, t0: t0, start: start)
        h.pain(at: at(start, hours: 1), nrs: 9)
        visitCompleted(&h, at: at(start, days: 29))
        h.pain(at: at(start, days: 30), nrs: 2)
        h.pain(at: at(start, days: 85), nrs: 9)
        let out = h.evaluate(until: at(start, days: 100))
        #expect(!out.issued("REASSESSMENT_OVERDUE"))
        #expect(!out.issued("VERTEBRAL_AUGMENTATION_EVALUATION"))
        #expect(out.tasks("pain-reassessment").isEmpty)
        #expect(out.finalState == "recovering")
    }

    @Test("resolution is issued once; conservative care is completed by it and not re-issued")
    func onceOnly() throws {
        var h = History()
        enterConservativeCare(&h, t0: t0, start: start)
        visitCompleted(&h, at: at(start, days: 29))
        let pain = h.pain(at: at(start, days: 30), nrs: 2)
        h.pain(at: at(start, days: 35), nrs: 1)
        h.neuro(at: at(start, days: 36))
        let out = h.evaluate()
        #expect(out.latest("PATHWAY_RESOLVED").count == 1)
        let cms = out.latest("CONSERVATIVE_MANAGEMENT")
        #expect(cms.count == 1)
        let cm = try #require(cms.first)
        #expect(cm.status == "completed")
        #expect(cm.revision == 2)
        #expect(cm.causationEventId == pain)
        #expect(out.active("CONSERVATIVE_MANAGEMENT") == nil)
        #expect(out.tasks("brace-for-comfort").count == 1)
        #expect(out.finalState == "recovering")
    }

    @Test("NRS ≤ 3 after day 28 alone does not resolve; the reassessment visit completing afterwards does")
    func needsReassessmentVisit() throws {
        var h = History()
        enterConservativeCare(&h, t0: t0, start: start)
        // Given NRS 2 on day 30 with the visit still open,
        let pain = h.pain(at: at(start, days: 30), nrs: 2)
        let before = h.evaluate()
        #expect(!before.issued("PATHWAY_RESOLVED"))
        #expect(before.active("CONSERVATIVE_MANAGEMENT") != nil)
        #expect(before.finalState == "conservativeManagement")
        // when the visit is completed on day 33,
        let visit = visitCompleted(&h, at: at(start, days: 33))
        let out = h.evaluate()
        // then the pathway resolves on the visit, from the earlier NRS.
        let rec = try #require(out.active("PATHWAY_RESOLVED"))
        #expect(rec.causationEventId == visit)
        #expect(rec.issuedAt == at(start, days: 33))
        #expect(rec.rationale.contains { $0["fact"] as? String == "nrs" && $0["eventId"] as? String == pain })
        #expect(out.finalState == "recovering")
        #expect(out.tasks("brace-for-comfort").first?.statusReason == "pathway resolved")
    }

    @Test("a visit completed, but the latest NRS in clinical time is above 3: no resolution")
    func latestNRSInClinicalTime() {
        var h = History()
        enterConservativeCare(&h, t0: t0, start: start)
        visitCompleted(&h, at: at(start, days: 29))
        h.pain(at: at(start, days: 31), nrs: 6)
        h.pain(at: at(start, days: 30), nrs: 2)  // charted late: older than the NRS 6
        #expect(!h.evaluate().issued("PATHWAY_RESOLVED"))
    }

    @Test("no resolution while a safety card is active; clearing it resolves")
    func safetyCardBlocks() throws {
        var h = History()
        h.presented(at: t0, age: 70, mechanism: "high-energy-trauma")
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: start)
        visitCompleted(&h, at: at(start, days: 29))
        h.pain(at: at(start, days: 30), nrs: 2)
        let before = h.evaluate()
        #expect(before.active("SPINAL_PRECAUTIONS") != nil)
        #expect(!before.issued("PATHWAY_RESOLVED"))
        let clearance = h.cleared(at: at(start, days: 31), cervical: true, thoracolumbar: true)
        let out = h.evaluate()
        #expect(out.active("SPINAL_PRECAUTIONS") == nil)
        #expect(out.active("PATHWAY_RESOLVED")?.causationEventId == clearance)
    }
}
