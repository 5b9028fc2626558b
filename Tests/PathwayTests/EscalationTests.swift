import Foundation
import Testing
@testable import Pathway

/// Presented (age 70, low-energy) at `t0`, acute L1 compression fracture on
/// MRI at t0+1h, intact exam at t0+2h: conservative care starts then.
fileprivate func enterConservativeCare(_ h: inout History, t0: String) -> String {
    h.presented(at: t0, age: 70)
    h.imaging(at: at(t0, hours: 1), modality: "mri")
    let start = at(t0, hours: 2)
    h.neuro(at: start)
    return start
}

/// PATHWAY.md section 4, "Escalation": when `criticalCare`,
/// `surgicalReferral`, `pathologicWorkup`, `infectionWorkup` or
/// `antibioticTherapy` opens while conservative care is open,
/// `CONSERVATIVE_MANAGEMENT` is superseded, `conservativeManagement` and
/// `augmentationEvaluation` close, and the open tasks of those cards are
/// cancelled ("escalated: <track>"): `brace-for-comfort`, `physical-therapy`,
/// `reassessment-visit`, `calcitonin-course`, `pain-reassessment`,
/// `interventional-spine-consult`, `repeat-spine-imaging`; `analgesia`
/// (`PAIN_MANAGEMENT`'s), `osteoporosis-treatment` and `metabolic-workup`
/// continue.
@Suite("Escalation of conservative care")
struct EscalationTests {
    let t0 = "2026-03-02T10:00:00Z"

    static let cancelled = ["brace-for-comfort", "physical-therapy", "reassessment-visit", "calcitonin-course"]
    static let continuing = ["analgesia", "osteoporosis-treatment", "metabolic-workup"]

    /// What escalates, and the state it leads to.
    enum Escalation: String, CaseIterable, CustomTestStringConvertible {
        case deficit, spinalCordInjury, discitis, suspiciousImaging, unstableImaging, malignancyAtRepresentation
        var testDescription: String { rawValue }

        /// The state once the escalating track has opened: an SCI is also a
        /// deficit, and `URGENT_SURGICAL_REFERRAL` comes before
        /// `SCI_CRITICAL_CARE_BUNDLE` in the table (section 3: rows apply in
        /// the table's order), so conservative care is superseded when
        /// `surgicalReferral` opens; the bundle then makes it `criticalCare`.
        var supersededIn: String {
            self == .spinalCordInjury ? "surgicalReferral" : expectedState
        }

        var expectedState: String {
            switch self {
            case .deficit, .unstableImaging: "surgicalReferral"
            case .spinalCordInjury: "criticalCare"
            case .discitis: "infectionWorkup"
            case .suspiciousImaging, .malignancyAtRepresentation: "pathologicWorkup"
            }
        }

        @discardableResult
        func apply(_ h: inout History, at time: String) -> String {
            switch self {
            case .deficit: h.neuro(at: time, ["motorDeficit": true])
            case .spinalCordInjury: h.neuro(at: time, ["spinalCordInjury": true, "asiaGrade": "C"])
            case .discitis: h.imaging(at: time, modality: "mri", ["discitisOsteomyelitis": true])
            case .suspiciousImaging: h.imaging(at: time, modality: "ct", ["suspiciousForMalignancy": true])
            case .unstableImaging: h.imaging(at: time, modality: "ct", ["unstable": true])
            case .malignancyAtRepresentation: h.presented(at: time, age: 70, history: ["knownMalignancy": true])
            }
        }
    }

    @Test("an acute track opening during conservative care supersedes it and cancels its tasks", arguments: Escalation.allCases)
    func escalates(kind: Escalation) throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        let first = try #require(h.evaluate().active("CONSERVATIVE_MANAGEMENT"))
        let cause = kind.apply(&h, at: at(start, days: 5))
        let out = h.evaluate()

        let cms = out.latest("CONSERVATIVE_MANAGEMENT")
        #expect(cms.count == 1)
        let cm = try #require(cms.first)
        #expect(cm.id == first.id)
        #expect(cm.revision == 2)
        #expect(cm.status == "superseded")
        #expect(cm.causationEventId == cause)
        #expect(cm.pathwayState == kind.supersededIn)
        #expect(cm.issuedAt == first.issuedAt)
        #expect(cm.updatedAt == at(start, days: 5))
        #expect(out.finalState == kind.expectedState)

        for code in Self.cancelled {
            let task = try #require(out.tasks(code).first, "\(code)")
            #expect(task.status == "cancelled", "\(code)")
            #expect(task.statusReason?.hasPrefix("escalated: ") == true, "\(code)")
        }
        for code in Self.continuing {
            let task = try #require(out.tasks(code).first, "\(code)")
            #expect(task.status == "requested", "\(code)")
            #expect(task.version == "1", "\(code)")
        }
        #expect(out.domainEvents.contains { e in
            e["type"] as? String == "TrackClosed" && (e["data"] as? [String: Any])?["track"] as? String == "conservativeManagement"
        })
    }

    @Test("escalation cancels the day-42 and day-90 timers (TimerCancelled domain events)")
    func timersCancelled() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.pain(at: at(start, hours: 1), nrs: 8)
        let exam = h.neuro(at: at(start, days: 5), ["motorDeficit": true])
        let out = h.evaluate(until: at(start, days: 100))
        let cancelled = out.domainEvents.filter { $0["type"] as? String == "TimerCancelled" }
        let ids = cancelled.compactMap { ($0["data"] as? [String: Any])?["timerId"] as? String }
        #expect(ids.contains("P1/reassessment-overdue/1"))
        #expect(ids.contains("P1/day-90-review/1"))
        for event in cancelled where ["P1/reassessment-overdue/1", "P1/day-90-review/1"].contains((event["data"] as? [String: Any])?["timerId"] as? String) {
            #expect(event["causationEventId"] as? String == exam)
        }
        let fired = out.domainEvents.filter { $0["type"] as? String == "TimerFired" }
            .compactMap { ($0["data"] as? [String: Any])?["timerId"] as? String }
        #expect(!fired.contains("P1/reassessment-overdue/1"))
        #expect(!fired.contains("P1/day-90-review/1"))
        #expect(!out.issued("REASSESSMENT_OVERDUE"))
        #expect(out.tasks("pain-reassessment").isEmpty)
    }

    @Test("events that open no acute track leave conservative care alone")
    func nonEscalating() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.presented(at: at(start, days: 1), age: 70, fever: true)
        h.pain(at: at(start, days: 2), nrs: 6)
        h.neuro(at: at(start, days: 3))
        h.imaging(at: at(start, days: 4), modality: "xray")
        h.biopsy(at: at(start, days: 5), histology: "benign")
        let out = h.evaluate()
        let cm = try #require(out.active("CONSERVATIVE_MANAGEMENT"))
        #expect(cm.revision == 1)
        #expect(out.finalState == "conservativeManagement")
        #expect(out.tasks("brace-for-comfort").first?.status == "requested")
    }

    @Test("escalation closes augmentationEvaluation and cancels the interventional consult")
    func escalatesAugmentation() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.vitals(at: at(start, days: 3), ["pulmonaryDysfunction": true])
        #expect(h.evaluate().finalState == "augmentationEvaluation")
        h.neuro(at: at(start, days: 5), ["motorDeficit": true])
        let out = h.evaluate()
        #expect(out.tasks("interventional-spine-consult").first?.status == "cancelled")
        #expect(out.domainEvents.contains { e in
            e["type"] as? String == "TrackClosed" && (e["data"] as? [String: Any])?["track"] as? String == "augmentationEvaluation"
        })
        #expect(out.finalState == "surgicalReferral")
        // After the consult, the augmentation track stays closed.
        h.taskUpdate("spine-surgery-consult", "completed", at: at(start, days: 6))
        #expect(h.evaluate().finalState != "augmentationEvaluation")
    }

    @Test("escalation supersedes an active augmentation evaluation and cancels its repeat imaging and consult")
    func escalationSupersedesAugmentation() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        // Given worsening pain despite analgesics (baseline 5, now 7): evaluation with repeat imaging,
        h.pain(at: at(start, hours: 1), nrs: 5)
        h.pain(at: at(start, days: 3), nrs: 7, onAnalgesics: true)
        let aug = try #require(h.evaluate().active("VERTEBRAL_AUGMENTATION_EVALUATION"))
        // when a motor deficit escalates conservative care before any imaging,
        let exam = h.neuro(at: at(start, days: 4), ["motorDeficit": true])
        let out = h.evaluate()
        // then the evaluation is superseded and its open tasks cancelled; analgesia continues.
        let latest = try #require(out.latest("VERTEBRAL_AUGMENTATION_EVALUATION").first)
        #expect(latest.id == aug.id)
        #expect(latest.status == "superseded")
        #expect(latest.causationEventId == exam)
        for code in ["interventional-spine-consult", "repeat-spine-imaging"] {
            #expect(out.tasks(code).first?.status == "cancelled", "\(code)")
            #expect(out.tasks(code).first?.statusReason == "escalated: surgicalReferral", "\(code)")
        }
        #expect(out.tasks("analgesia").first?.status == "requested")
        #expect(out.finalState == "surgicalReferral")
    }

    @Test("escalation withdraws an active REASSESSMENT_OVERDUE: its visit was cancelled by escalation")
    func escalationWithdrawsOverdue() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        // Given the visit overdue at day 42,
        let issued = try #require(h.evaluate(until: at(start, days: 43)).active("REASSESSMENT_OVERDUE"))
        // when a deficit escalates conservative care on day 45,
        let exam = h.neuro(at: at(start, days: 45), ["motorDeficit": true])
        let out = h.evaluate()
        // then the visit is cancelled and the overdue card withdrawn (same id, next revision).
        #expect(out.tasks("reassessment-visit").first?.status == "cancelled")
        let overdue = try #require(out.latest("REASSESSMENT_OVERDUE").first)
        #expect(out.latest("REASSESSMENT_OVERDUE").count == 1)
        #expect(overdue.id == issued.id)
        #expect(overdue.revision == 2)
        #expect(overdue.status == "withdrawn")
        #expect(overdue.causationEventId == exam)
        #expect(overdue.updatedAt == at(start, days: 45))
        #expect(out.active("REASSESSMENT_OVERDUE") == nil)
    }

    @Test("re-entry after escalation issues a new CONSERVATIVE_MANAGEMENT; analgesia is not duplicated")
    func reentry() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        let first = try #require(h.evaluate().active("CONSERVATIVE_MANAGEMENT"))
        h.neuro(at: at(start, days: 5), ["motorDeficit": true])
        // The worsening also asked for a stat MRI (none since the previous exam).
        #expect(h.evaluate().active("MRI_SPINE_WITHOUT_CONTRAST")?.priority == "stat")
        h.imaging(at: at(start, days: 5, hours: 3), modality: "mri")
        h.taskUpdate("spine-surgery-consult", "completed", at: at(start, days: 6))
        let restart = at(start, days: 7)
        let exam = h.neuro(at: restart)
        let out = h.evaluate()

        let cms = out.latest("CONSERVATIVE_MANAGEMENT")
        #expect(cms.count == 2)
        let second = try #require(out.active("CONSERVATIVE_MANAGEMENT"))
        #expect(second.id != first.id)
        #expect(second.revision == 1)
        #expect(second.causationEventId == exam)
        #expect(second.issuedAt == restart)
        #expect(cms.first?.status == "superseded")
        #expect(out.finalState == "conservativeManagement")

        // Continuing tasks are not requested again; analgesia stays PAIN_MANAGEMENT's.
        let pain = try #require(out.active("PAIN_MANAGEMENT"))
        #expect(out.tasks("analgesia").first?.basedOn == "urn:carepath:recommendation:\(pain.id)")
        for code in Self.continuing {
            #expect(out.tasks(code).count == 1, "\(code)")
            #expect(out.tasks(code).first?.status == "requested", "\(code)")
        }
        // Cancelled tasks are requested anew, with windows from the new start.
        let braces = out.tasks("brace-for-comfort")
        #expect(braces.map(\.status) == ["cancelled", "requested"])
        let visits = out.tasks("reassessment-visit")
        #expect(visits.count == 2)
        #expect(visits.last?.windowStart == at(restart, days: 28))
        #expect(visits.last?.windowEnd == at(restart, days: 42))
        #expect(visits.last?.basedOn == "urn:carepath:recommendation:\(second.id)")
    }

    @Test("after re-entry the day-42 check counts from the new conservative care")
    func reentryTimers() throws {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.neuro(at: at(start, days: 5), ["motorDeficit": true])
        h.taskUpdate("spine-surgery-consult", "completed", at: at(start, days: 6))
        let restart = at(start, days: 7)
        h.neuro(at: restart)
        #expect(!h.evaluate(until: at(restart, days: 42, minutes: -1)).issued("REASSESSMENT_OVERDUE"))
        let out = h.evaluate(until: at(restart, days: 42))
        let rec = try #require(out.active("REASSESSMENT_OVERDUE"))
        #expect(rec.causationEventId == "P1/reassessment-overdue/2")
    }

    @Test("re-entry more than 5 days after fracture identification requests no new calcitonin; osteoporosis care carries on")
    func reentryLateNoCalcitonin() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.neuro(at: at(start, days: 5), ["motorDeficit": true])
        h.taskUpdate("spine-surgery-consult", "completed", at: at(start, days: 6))
        // Identification was the MRI at t0+1h: day 7 is within the 28-day course
        // but past the 5-day start window.
        h.neuro(at: at(t0, days: 7))
        let out = h.evaluate()
        #expect(out.latest("CONSERVATIVE_MANAGEMENT").count == 2)
        #expect(out.tasks("calcitonin-course").map(\.status) == ["cancelled"])
        #expect(out.tasks("calcitonin-course").first?.statusReason == "escalated: surgicalReferral")
        #expect(out.tasks("metabolic-workup").map(\.status) == ["requested"])
        #expect(out.tasks("osteoporosis-treatment").map(\.status) == ["requested"])
    }

    @Test("escalation cancels a pending pain reassessment (decision record)")
    func escalationCancelsPainReassessment() {
        var h = History()
        let start = enterConservativeCare(&h, t0: t0)
        h.neuro(at: at(start, days: 91), ["motorDeficit": true])
        let out = h.evaluate()
        let tasks = out.tasks("pain-reassessment")
        #expect(tasks.count == 1)
        #expect(tasks.first?.status == "cancelled")
    }
}
