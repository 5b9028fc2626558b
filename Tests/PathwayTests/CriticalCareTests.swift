import Foundation
import Testing
@testable import Pathway

/// PATHWAY.md section 4 `SCI_CRITICAL_CARE_BUNDLE` and `MAP_BELOW_GOAL`, and
/// the `criticalCare` track (section 3) closed by the map-window-end timer (section 7).
@Suite("Critical care: SCI_CRITICAL_CARE_BUNDLE and MAP_BELOW_GOAL")
struct CriticalCareTests {
    let t0 = "2026-03-02T10:00:00Z"
    /// When the spinal cord injury exam happens.
    var tSCI: String { at(t0, hours: 1) }

    /// Given a presented patient with a spinal cord injury on exam at `tSCI`.
    private func sciHistory() -> (History, String) {
        var h = History()
        h.presented(at: t0)
        let exam = h.neuro(at: tSCI, ["spinalCordInjury": true, "asiaGrade": "B", "neuroStatus": "cord-incomplete"])
        return (h, exam)
    }

    static let bundleTasks = ["icu-admission", "arterial-line", "central-line", "airway-assessment",
                              "map-goal-vasopressors", "spinal-precautions"]

    @Test("a spinal cord injury issues the bundle, stat / critical, with all six tasks at stat")
    func bundle() throws {
        let (h, exam) = sciHistory()
        let out = h.evaluate()
        let rec = try #require(out.active("SCI_CRITICAL_CARE_BUNDLE"))
        #expect(rec.priority == "stat")
        #expect(rec.indicator == "critical")
        #expect(rec.causationEventId == exam)
        #expect(rec.issuedAt == tSCI)
        #expect(rec.pathwayState == "criticalCare")
        #expect(rec.facts["spinalCordInjury"] as? Bool == true)
        #expect(!rec.evidence.isEmpty)
        for code in Self.bundleTasks {
            let tasks = out.tasks(code)
            #expect(tasks.count == 1, "\(code)")
            #expect(tasks.first?.priority == "stat", "\(code)")
            #expect(tasks.first?.status == "requested", "\(code)")
            #expect(tasks.first?.basedOn == "urn:carepath:recommendation:\(rec.id)", "\(code)")
        }
        #expect(out.finalState == "criticalCare")
    }

    @Test("the vasopressor task's executionPeriod runs from the exam to 7 days later")
    func vasopressorWindow() throws {
        let (h, _) = sciHistory()
        let task = try #require(h.evaluate().tasks("map-goal-vasopressors").first)
        #expect(task.windowStart == tSCI)
        #expect(task.windowEnd == at(tSCI, days: 7))
    }

    /// Section 3: rows apply in the order of section 4's table, so the
    /// referral (first row) is issued before the bundle; the state then moves
    /// on to the more acute criticalCare.
    @Test("criticalCare outranks surgicalReferral: the SCI exam is also a deficit, its referral issued first")
    func criticalCareOutranksReferral() throws {
        let (h, exam) = sciHistory()
        let out = h.evaluate()
        let referral = try #require(out.active("URGENT_SURGICAL_REFERRAL"))
        let bundle = try #require(out.active("SCI_CRITICAL_CARE_BUNDLE"))
        #expect(referral.causationEventId == exam)
        #expect(bundle.causationEventId == exam)
        let codes = out.recommendations.map(\.code)
        let referralAt = try #require(codes.firstIndex(of: "URGENT_SURGICAL_REFERRAL"))
        let bundleAt = try #require(codes.firstIndex(of: "SCI_CRITICAL_CARE_BUNDLE"))
        #expect(referralAt < bundleAt)
        #expect(referral.pathwayState == "surgicalReferral")
        #expect(bundle.pathwayState == "criticalCare")
        #expect(out.finalState == "criticalCare")
    }

    @Test("no bundle without a spinal cord injury (spinalCordInjury true or a cord neuroStatus)",
          arguments: [["spinalCordInjury": false] as [String: Bool], ["motorDeficit": true], [:]])
    func noBundle(exam: [String: Bool]) {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: tSCI, exam)
        let out = h.evaluate()
        #expect(!out.issued("SCI_CRITICAL_CARE_BUNDLE"))
        #expect(out.tasks("icu-admission").isEmpty)
        #expect(!out.states.contains("criticalCare"))
    }

    /// Section 2: an SCI is `spinalCordInjury` true or `neuroStatus`
    /// cord-complete / cord-incomplete; nerve-root and cauda equina are deficits, not an SCI.
    @Test("a deficit neuroStatus that is not a cord injury gets the referral but no bundle",
          arguments: ["nerve-root", "cauda-equina"])
    func noBundleForRootOrCaudaEquina(status: String) {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: tSCI, ["neuroStatus": status, "spinalCordInjury": false])
        let out = h.evaluate()
        #expect(out.active("URGENT_SURGICAL_REFERRAL") != nil)
        #expect(!out.issued("SCI_CRITICAL_CARE_BUNDLE"))
        #expect(out.tasks("map-goal-vasopressors").isEmpty)
        #expect(!out.states.contains("criticalCare"))
    }

    /// Version 3: "A spinal cord injury is recognised from the exam": the
    /// examiner records a complete (or incomplete) cord injury in
    /// `neuroStatus` and leaves the `spinalCordInjury` box false.
    @Test("an exam with neuroStatus cord-complete (or cord-incomplete) and spinalCordInjury false gets the SCI bundle",
          arguments: [("cord-complete", "complete spinal cord injury"), ("cord-incomplete", "incomplete spinal cord injury")])
    func bundleFromNeuroStatus(status: String, words: String) throws {
        var h = History()
        h.presented(at: t0)
        let exam = h.neuro(at: tSCI, ["neuroStatus": status, "spinalCordInjury": false, "asiaGrade": "A"])
        let out = h.evaluate()
        let rec = try #require(out.active("SCI_CRITICAL_CARE_BUNDLE"))
        #expect(rec.priority == "stat")
        #expect(rec.indicator == "critical")
        #expect(rec.causationEventId == exam)
        #expect(rec.facts["neuroStatus"] as? String == status)
        #expect(rec.facts["spinalCordInjury"] == nil)  // it was false: not named as a reason
        #expect(rec.summary.contains(words))
        #expect(!rec.summary.contains("neuroStatus"))
        for code in Self.bundleTasks {
            #expect(out.tasks(code).first?.priority == "stat", "\(code)")
        }
        let task = try #require(out.tasks("map-goal-vasopressors").first)
        #expect(task.windowStart == tSCI)
        #expect(task.windowEnd == at(tSCI, days: 7))
        #expect(out.finalState == "criticalCare")
        // An SCI brings spinal precautions too.
        #expect(out.active("SPINAL_PRECAUTIONS") != nil)
    }

    @Test("ASIA grade A without spinalCordInjury true is a deficit but not the bundle")
    func asiaAWithoutSCI() {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: tSCI, ["asiaGrade": "A"])
        let out = h.evaluate()
        #expect(out.active("URGENT_SURGICAL_REFERRAL") != nil)
        #expect(!out.issued("SCI_CRITICAL_CARE_BUNDLE"))
    }

    // MARK: MAP_BELOW_GOAL

    @Test("MAP 85 within the window issues MAP_BELOW_GOAL, stat / critical")
    func mapAtGoalBoundary() throws {
        var (h, _) = sciHistory()
        let vitals = h.vitals(at: at(tSCI, hours: 1), ["meanArterialPressure": 85])
        let out = h.evaluate()
        let rec = try #require(out.active("MAP_BELOW_GOAL"))
        #expect(rec.priority == "stat")
        #expect(rec.indicator == "critical")
        #expect(rec.causationEventId == vitals)
        #expect(rec.issuedAt == at(tSCI, hours: 1))
        #expect((rec.facts["meanArterialPressure"] as? NSNumber)?.doubleValue == 85)
        // "tasks requested: none"
        #expect(!out.taskMessages.contains { $0.basedOn == "urn:carepath:recommendation:\(rec.id)" })
    }

    @Test("MAP above 85 within the window issues nothing", arguments: [86.0, 85.5, 120.0])
    func mapAboveGoal(map: Double) {
        var (h, _) = sciHistory()
        h.vitals(at: at(tSCI, hours: 1), ["meanArterialPressure": map])
        #expect(!h.evaluate().issued("MAP_BELOW_GOAL"))
    }

    @Test("MAP ≤ 85 without a spinal cord injury issues nothing")
    func mapWithoutSCI() {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: tSCI, ["motorDeficit": true])
        h.vitals(at: at(tSCI, hours: 1), ["meanArterialPressure": 60])
        #expect(!h.evaluate().issued("MAP_BELOW_GOAL"))
    }

    @Test("MAP 80 one minute before the window ends is still below goal")
    func mapJustInsideWindow() {
        var (h, _) = sciHistory()
        h.vitals(at: at(tSCI, days: 7, minutes: -1), ["meanArterialPressure": 80])
        let out = h.evaluate()
        #expect(out.active("MAP_BELOW_GOAL") != nil)
        #expect(out.finalState == "criticalCare")
    }

    /// The window is the exam to 7 days later; after it, a low MAP is not
    /// MAP_BELOW_GOAL, and criticalCare closes at day 7 on the timer.
    @Test("MAP 80 at day 7 + 1 minute issues nothing; criticalCare closes at day 7 on the map-window-end timer")
    func mapAfterWindow() throws {
        var (h, _) = sciHistory()
        h.vitals(at: at(tSCI, days: 7, minutes: 1), ["meanArterialPressure": 80])
        let out = h.evaluate()
        #expect(!out.issued("MAP_BELOW_GOAL"))
        let timerId = "P1/map-window-end/1"
        let leave = try #require(out.domainEvents.first {
            $0["type"] as? String == "StateChanged" && ($0["data"] as? [String: Any])?["from"] as? String == "criticalCare"
        })
        #expect(leave["causationEventId"] as? String == timerId)
        #expect(leave["occurredAt"] as? String == at(tSCI, days: 7))
        #expect((leave["data"] as? [String: Any])?["to"] as? String == "surgicalReferral")
        #expect(out.domainEvents.contains {
            $0["type"] as? String == "TimerFired" && ($0["data"] as? [String: Any])?["timerId"] as? String == timerId
        })
        #expect(out.finalState == "surgicalReferral")
    }

    /// A timer fires just before the patient's first event at or after its due
    /// time: at exactly day 7 the window has ended.
    @Test("MAP 80 at exactly day 7 comes after the window end")
    func mapAtWindowEnd() {
        var (h, _) = sciHistory()
        h.vitals(at: at(tSCI, days: 7), ["meanArterialPressure": 80])
        let out = h.evaluate()
        #expect(!out.issued("MAP_BELOW_GOAL"))
        #expect(out.finalState == "surgicalReferral")
    }

    @Test("the window-end timer closes criticalCare at the end of input too (evaluate until)")
    func windowEndAtEndOfInput() {
        let (h, _) = sciHistory()
        #expect(h.evaluate(until: at(tSCI, days: 7, minutes: -1)).finalState == "criticalCare")
        let out = h.evaluate(until: at(tSCI, days: 7))
        #expect(out.finalState == "surgicalReferral")
        #expect(out.domainEvents.contains { $0["type"] as? String == "TrackClosed" && $0["causationEventId"] as? String == "P1/map-window-end/1" })
    }

    @Test("a later MAP above 85 withdraws MAP_BELOW_GOAL: same id, next revision")
    func withdrawnByMAPAboveGoal() throws {
        var (h, _) = sciHistory()
        h.vitals(at: at(tSCI, hours: 1), ["meanArterialPressure": 80])
        let recovery = h.vitals(at: at(tSCI, hours: 2), ["meanArterialPressure": 86])
        let out = h.evaluate()
        let revisions = out.recommendations.filter { $0.code == "MAP_BELOW_GOAL" }
        #expect(revisions.count == 2)
        #expect(Set(revisions.map(\.id)).count == 1)
        let withdrawn = try #require(revisions.last)
        #expect(withdrawn.revision == 2)
        #expect(withdrawn.status == "withdrawn")
        #expect(withdrawn.causationEventId == recovery)
        #expect(withdrawn.updatedAt == at(tSCI, hours: 2))
        #expect(withdrawn.issuedAt == at(tSCI, hours: 1))
        #expect(out.active("MAP_BELOW_GOAL") == nil)
    }

    @Test("a MAP of exactly 85 does not withdraw it")
    func notWithdrawnAt85() throws {
        var (h, _) = sciHistory()
        h.vitals(at: at(tSCI, hours: 1), ["meanArterialPressure": 80])
        h.vitals(at: at(tSCI, hours: 2), ["meanArterialPressure": 85])
        let out = h.evaluate()
        let revisions = out.recommendations.filter { $0.code == "MAP_BELOW_GOAL" }
        #expect(revisions.count == 1)
        #expect(out.active("MAP_BELOW_GOAL") != nil)
    }

    @Test("a low MAP after withdrawal re-issues MAP_BELOW_GOAL with a new id")
    func reissuedAfterWithdrawal() throws {
        var (h, _) = sciHistory()
        h.vitals(at: at(tSCI, hours: 1), ["meanArterialPressure": 80])
        h.vitals(at: at(tSCI, hours: 2), ["meanArterialPressure": 95])
        let again = h.vitals(at: at(tSCI, hours: 3), ["meanArterialPressure": 70])
        let out = h.evaluate()
        let all = out.latest("MAP_BELOW_GOAL")
        #expect(all.count == 2)
        let first = try #require(all.first)
        let second = try #require(all.last)
        #expect(first.id != second.id)
        #expect(first.status == "withdrawn")
        #expect(second.status == "active")
        #expect(second.revision == 1)
        #expect(second.causationEventId == again)
        #expect(second.issuedAt == at(tSCI, hours: 3))
        #expect(all.filter { $0.status == "active" }.count == 1)
    }

    @Test("repeated low MAPs while one is active keep a single active MAP_BELOW_GOAL")
    func oneActiveAtATime() {
        var (h, _) = sciHistory()
        h.vitals(at: at(tSCI, hours: 1), ["meanArterialPressure": 80])
        h.vitals(at: at(tSCI, hours: 2), ["meanArterialPressure": 75])
        h.vitals(at: at(tSCI, hours: 3), ["meanArterialPressure": 70])
        let out = h.evaluate()
        #expect(out.recommendations.filter { $0.code == "MAP_BELOW_GOAL" }.count == 1)
        #expect(out.latest("MAP_BELOW_GOAL").filter { $0.status == "active" }.count == 1)
    }

    /// Section 4 `MAP_BELOW_GOAL` ends: "withdrawn ... at the end of the
    /// window". A MAP above goal after the window finds nothing left to withdraw.
    @Test("an active MAP_BELOW_GOAL is withdrawn at the window end; a MAP above goal after it changes nothing")
    func withdrawnAtWindowEnd() throws {
        var (h, _) = sciHistory()
        h.vitals(at: at(tSCI, days: 6), ["meanArterialPressure": 80])
        h.vitals(at: at(tSCI, days: 8), ["meanArterialPressure": 90])
        let out = h.evaluate()
        let revisions = out.recommendations.filter { $0.code == "MAP_BELOW_GOAL" }
        #expect(revisions.count == 2)
        let last = try #require(revisions.last)
        #expect(last.status == "withdrawn")
        #expect(last.causationEventId == "P1/map-window-end/1")
        #expect(last.updatedAt == at(tSCI, days: 7))
        #expect(out.active("MAP_BELOW_GOAL") == nil)
    }

    @Test("a vitals event without a MAP neither issues nor withdraws")
    func vitalsWithoutMAP() {
        var (h, _) = sciHistory()
        h.vitals(at: at(tSCI, hours: 1), ["meanArterialPressure": 80])
        h.vitals(at: at(tSCI, hours: 2), ["spo2": 97])
        let out = h.evaluate()
        #expect(out.recommendations.filter { $0.code == "MAP_BELOW_GOAL" }.count == 1)
        #expect(out.active("MAP_BELOW_GOAL") != nil)
    }

    @Test("a second spinal cord injury exam while the bundle is active issues nothing new")
    func bundleNotReissued() {
        var (h, _) = sciHistory()
        h.neuro(at: at(tSCI, hours: 3), ["spinalCordInjury": true, "asiaGrade": "A"])
        let out = h.evaluate()
        #expect(out.recommendations.filter { $0.code == "SCI_CRITICAL_CARE_BUNDLE" }.count == 1)
        for code in Self.bundleTasks {
            #expect(out.taskMessages.filter { $0.code == code }.count == 1, "\(code)")
        }
        let windowTimers = out.domainEvents.filter {
            $0["type"] as? String == "TimerScheduled" && ($0["data"] as? [String: Any])?["timerCode"] as? String == "map-window-end"
        }
        #expect(windowTimers.count == 1)
    }

    /// Section 4: `SCI_CRITICAL_CARE_BUNDLE` is completed at the end of the
    /// MAP window and an open `map-goal-vasopressors` is cancelled ("MAP
    /// window ended"); an active `MAP_BELOW_GOAL` is withdrawn then too.
    @Test("the window end completes the bundle, cancels the vasopressor task and withdraws an active MAP_BELOW_GOAL")
    func windowEndEndsTheBundle() throws {
        var (h, _) = sciHistory()
        h.vitals(at: at(tSCI, days: 1), ["meanArterialPressure": 80])
        let out = h.evaluate(until: at(tSCI, days: 8))
        let timer = "P1/map-window-end/1"
        #expect(out.finalState == "surgicalReferral")
        let bundle = try #require(out.latest("SCI_CRITICAL_CARE_BUNDLE").last)
        #expect(bundle.status == "completed")
        #expect(bundle.causationEventId == timer)
        #expect(bundle.updatedAt == at(tSCI, days: 7))
        #expect(bundle.raw["statusReason"] as? String != nil)
        let map = try #require(out.latest("MAP_BELOW_GOAL").last)
        #expect(map.status == "withdrawn")
        #expect(map.causationEventId == timer)
        let vasopressors = try #require(out.tasks("map-goal-vasopressors").first)
        #expect(vasopressors.status == "cancelled")
        #expect(vasopressors.statusReason == "MAP window ended")
        // The other bundle tasks are not the window's: they stay as they are.
        #expect(out.tasks("icu-admission").first?.status == "requested")
        // The referral is untouched by the window.
        #expect(out.active("URGENT_SURGICAL_REFERRAL") != nil)
    }

    @Test("a vasopressor task completed downstream before the window end is not cancelled; the bundle still completes")
    func completedVasopressorsNotCancelled() throws {
        var (h, _) = sciHistory()
        h.taskUpdate("map-goal-vasopressors", "completed", at: at(tSCI, days: 5))
        let out = h.evaluate(until: at(tSCI, days: 7))
        #expect(out.tasks("map-goal-vasopressors").first?.status == "completed")
        #expect(out.latest("SCI_CRITICAL_CARE_BUNDLE").last?.status == "completed")
    }

    @Test("a late MAP above goal withdraws at the clock")
    func lateWithdrawalAtClock() throws {
        var (h, _) = sciHistory()
        h.vitals(at: at(tSCI, hours: 1), ["meanArterialPressure": 80])
        h.pain(at: at(tSCI, hours: 4), nrs: 5)
        h.vitals(at: at(tSCI, hours: 2), ["meanArterialPressure": 90])
        let last = try #require(h.evaluate().latest("MAP_BELOW_GOAL").last)
        #expect(last.status == "withdrawn")
        #expect(last.updatedAt == at(tSCI, hours: 4))
    }
}
