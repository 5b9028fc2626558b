import Testing
@testable import Pathway

/// Presented (age 70, low-energy) at `t0`, acute L1 compression fracture on
/// MRI at t0+1h, intact exam at `start`: conservative care starts at `start`.
fileprivate func enterConservativeCare(_ h: inout History, t0: String, start: String) {
    h.presented(at: t0, age: 70)
    h.imaging(at: at(t0, hours: 1), modality: "mri")
    h.neuro(at: start)
}

/// PATHWAY.md section 4, `PATHWAY_RESOLVED`: "NRS ≤ 3 at or after day 28 of
/// conservative care" → routine / info; open conservative tasks except
/// `analgesia` and `osteoporosis-treatment` are cancelled with `statusReason`
/// "pathway resolved"; the state becomes `recovering`.
@Suite("Resolution: PATHWAY_RESOLVED")
struct ResolutionTests {
    let t0 = "2026-03-02T10:00:00Z"
    var start: String { at(t0, hours: 2) }

    @Test("NRS 3 at day 28 of conservative care resolves the pathway")
    func nrs3Day28() throws {
        var h = History()
        enterConservativeCare(&h, t0: t0, start: start)
        h.pain(at: at(start, hours: 1), nrs: 8)
        let pain = h.pain(at: at(start, days: 28), nrs: 3)
        let out = h.evaluate()
        let rec = try #require(out.active("PATHWAY_RESOLVED"))
        #expect(rec.priority == "routine")
        #expect(rec.indicator == "info")
        #expect(rec.causationEventId == pain)
        #expect(rec.issuedAt == at(start, days: 28))
        #expect(rec.pathwayState == "recovering")
        #expect(rec.facts["nrs"] as? Int == 3)
        #expect(!rec.evidence.isEmpty)
        #expect(out.finalState == "recovering")
        // PATHWAY_RESOLVED requests no task.
        #expect(out.taskMessages.allSatisfy { $0.basedOn != "urn:carepath:recommendation:\(rec.id)" })
    }

    @Test("NRS 4 at day 28 does not resolve the pathway")
    func nrs4Day28() {
        var h = History()
        enterConservativeCare(&h, t0: t0, start: start)
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
        let later = h.pain(at: at(start, days: 35), nrs: 0)
        #expect(h.evaluate().active("PATHWAY_RESOLVED")?.causationEventId == later)
    }

    @Test("day 28 counts from the start of conservative care, not from the presentation")
    func countsFromConservativeCare() throws {
        var h = History()
        let lateStart = at(t0, days: 10)
        enterConservativeCare(&h, t0: t0, start: lateStart)
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
        h.pain(at: at(start, days: 30), nrs: 1)
        let states = h.evaluate().states
        #expect(Array(states.suffix(2)) == ["conservativeManagement", "recovering"])
    }

    @Test("open conservative tasks are cancelled with \"pathway resolved\"; analgesia and osteoporosis care continue")
    func tasksCancelled() throws {
        var h = History()
        enterConservativeCare(&h, t0: t0, start: start)
        let pain = h.pain(at: at(start, days: 30), nrs: 2)
        let out = h.evaluate()
        for code in ["brace-for-comfort", "physical-therapy", "reassessment-visit", "metabolic-workup", "calcitonin-course"] {
            let task = try #require(out.tasks(code).first, "\(code)")
            #expect(task.status == "cancelled", "\(code)")
            #expect(task.statusReason == "pathway resolved", "\(code)")
            #expect(task.version == "2", "\(code)")
            #expect(task.raw["lastModified"] as? String == at(start, days: 30), "\(code)")
        }
        for code in ["analgesia", "osteoporosis-treatment"] {
            let task = try #require(out.tasks(code).first, "\(code)")
            #expect(task.status == "requested", "\(code)")
            #expect(task.version == "1", "\(code)")
            #expect(task.statusReason == nil, "\(code)")
        }
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
        h.pain(at: at(start, days: 30), nrs: 2)
        h.pain(at: at(start, days: 85), nrs: 9)
        let out = h.evaluate(until: at(start, days: 100))
        #expect(!out.issued("REASSESSMENT_OVERDUE"))
        #expect(!out.issued("VERTEBRAL_AUGMENTATION_EVALUATION"))
        #expect(out.tasks("pain-reassessment").isEmpty)
        #expect(out.finalState == "recovering")
    }

    @Test("resolution is issued once; conservative care stays active and is not re-issued (decision record)")
    func onceOnly() {
        var h = History()
        enterConservativeCare(&h, t0: t0, start: start)
        h.pain(at: at(start, days: 30), nrs: 2)
        h.pain(at: at(start, days: 35), nrs: 1)
        h.neuro(at: at(start, days: 36))
        let out = h.evaluate()
        #expect(out.latest("PATHWAY_RESOLVED").count == 1)
        #expect(out.latest("CONSERVATIVE_MANAGEMENT").count == 1)
        #expect(out.active("CONSERVATIVE_MANAGEMENT") != nil)
        #expect(out.tasks("brace-for-comfort").count == 1)
    }
}
