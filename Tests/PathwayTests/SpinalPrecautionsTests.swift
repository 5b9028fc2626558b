import Foundation
import Testing
@testable import Pathway

/// PATHWAY.md section 4 `SPINAL_PRECAUTIONS`, `spine.cleared` (section 2) and
/// "one open task per code and patient" (section 5).
@Suite("Spinal precautions: SPINAL_PRECAUTIONS")
struct SpinalPrecautionsTests {
    let t0 = "2026-03-02T10:00:00Z"

    @Test("high-energy trauma issues SPINAL_PRECAUTIONS, urgent / warning, with an urgent precautions task")
    func highEnergyTrauma() throws {
        var h = History()
        let presented = h.presented(at: t0, mechanism: "high-energy-trauma")
        let out = h.evaluate()
        let rec = try #require(out.active("SPINAL_PRECAUTIONS"))
        #expect(rec.priority == "urgent")
        #expect(rec.indicator == "warning")
        #expect(rec.causationEventId == presented)
        #expect(rec.facts["mechanism"] as? String == "high-energy-trauma")
        #expect(!rec.evidence.isEmpty)
        let tasks = out.tasks("spinal-precautions")
        #expect(tasks.count == 1)
        #expect(tasks.first?.priority == "urgent")
        #expect(tasks.first?.status == "requested")
        #expect(tasks.first?.basedOn == "urn:carepath:recommendation:\(rec.id)")
    }

    @Test("no SPINAL_PRECAUTIONS for other mechanisms", arguments: ["low-energy", "atraumatic", "unknown"])
    func otherMechanisms(mechanism: String) {
        var h = History()
        h.presented(at: t0, mechanism: mechanism)
        let out = h.evaluate()
        #expect(!out.issued("SPINAL_PRECAUTIONS"))
        #expect(out.tasks("spinal-precautions").isEmpty)
    }

    @Test("a second presentation that reports high-energy trauma issues it then")
    func laterHighEnergy() throws {
        var h = History()
        h.presented(at: t0, mechanism: "low-energy")
        let second = h.presented(at: at(t0, hours: 1), mechanism: "high-energy-trauma")
        let rec = try #require(h.evaluate().active("SPINAL_PRECAUTIONS"))
        #expect(rec.causationEventId == second)
    }

    @Test("the precautions task completes only once cervical and thoracolumbar are both cleared, across two events")
    func clearedAcrossTwoEvents() throws {
        var h = History()
        h.presented(at: t0, mechanism: "high-energy-trauma")
        h.cleared(at: at(t0, hours: 2), cervical: true)
        let afterCervical = h.evaluate()
        let open = try #require(afterCervical.tasks("spinal-precautions").first)
        #expect(open.status == "requested")
        #expect(open.version == "1")

        let both = h.cleared(at: at(t0, hours: 4), thoracolumbar: true)
        let out = h.evaluate()
        let done = try #require(out.tasks("spinal-precautions").first)
        #expect(done.id == open.id)
        #expect(done.status == "completed")
        #expect(done.version == "2")
        #expect(out.tasks("spinal-precautions").count == 1)
        let message = try #require(Array(zip(out.messages, out.values)).last { $0.1["id"] as? String == done.id })
        #expect(message.0.causationId == both)
    }

    @Test("thoracolumbar first, then cervical, also completes it")
    func clearedOtherOrder() throws {
        var h = History()
        h.presented(at: t0, mechanism: "high-energy-trauma")
        h.cleared(at: at(t0, hours: 2), thoracolumbar: true)
        #expect(h.evaluate().tasks("spinal-precautions").first?.status == "requested")
        h.cleared(at: at(t0, hours: 3), cervical: true)
        #expect(h.evaluate().tasks("spinal-precautions").first?.status == "completed")
    }

    @Test("both regions cleared in one event completes it")
    func clearedTogether() {
        var h = History()
        h.presented(at: t0, mechanism: "high-energy-trauma")
        h.cleared(at: at(t0, hours: 2), cervical: true, thoracolumbar: true)
        #expect(h.evaluate().tasks("spinal-precautions").first?.status == "completed")
    }

    @Test("a region reported false is not cleared")
    func clearedFalse() {
        var h = History()
        h.presented(at: t0, mechanism: "high-energy-trauma")
        h.cleared(at: at(t0, hours: 2), cervical: true, thoracolumbar: false)
        h.cleared(at: at(t0, hours: 3), cervical: true)
        #expect(h.evaluate().tasks("spinal-precautions").first?.status == "requested")
    }

    @Test("a repeated clearance after completion changes nothing")
    func clearedAgain() {
        var h = History()
        h.presented(at: t0, mechanism: "high-energy-trauma")
        h.cleared(at: at(t0, hours: 2), cervical: true, thoracolumbar: true)
        h.cleared(at: at(t0, hours: 3), cervical: true, thoracolumbar: true)
        let out = h.evaluate()
        #expect(out.taskMessages.filter { $0.code == "spinal-precautions" }.count == 2)
    }

    /// Section 5: a second request for a code still open raises its priority.
    @Test("the SCI bundle raises the open precautions task to stat instead of opening a second one")
    func sharedWithSCIBundle() throws {
        var h = History()
        h.presented(at: t0, mechanism: "high-energy-trauma")
        let exam = h.neuro(at: at(t0, hours: 1), ["spinalCordInjury": true, "asiaGrade": "A"])
        let out = h.evaluate()
        let versions = out.taskMessages.filter { $0.code == "spinal-precautions" }
        #expect(versions.count == 2)
        #expect(Set(versions.map(\.id)).count == 1)
        #expect(versions.first?.priority == "urgent")
        let raised = try #require(versions.last)
        #expect(raised.version == "2")
        #expect(raised.priority == "stat")
        #expect(raised.status == "requested")
        let message = try #require(Array(zip(out.messages, out.values)).last { $0.1["id"] as? String == raised.id })
        #expect(message.0.causationId == exam)
        #expect(out.active("SPINAL_PRECAUTIONS") != nil)
        #expect(out.active("SCI_CRITICAL_CARE_BUNDLE") != nil)
    }

    @Test("a high-energy presentation after the SCI bundle shares its stat precautions task and does not lower it")
    func highEnergyAfterSCI() throws {
        var h = History()
        h.presented(at: t0, mechanism: "unknown")
        h.neuro(at: at(t0, hours: 1), ["spinalCordInjury": true])
        h.presented(at: at(t0, hours: 2), mechanism: "high-energy-trauma")
        let out = h.evaluate()
        #expect(out.active("SPINAL_PRECAUTIONS") != nil)
        let versions = out.taskMessages.filter { $0.code == "spinal-precautions" }
        #expect(versions.count == 1)
        #expect(versions.first?.priority == "stat")
    }

    @Test("the shared precautions task completes once both regions are cleared")
    func sharedTaskCompletes() {
        var h = History()
        h.presented(at: t0, mechanism: "high-energy-trauma")
        h.neuro(at: at(t0, hours: 1), ["spinalCordInjury": true])
        h.cleared(at: at(t0, hours: 5), cervical: true)
        #expect(h.evaluate().tasks("spinal-precautions").first?.status == "requested")
        h.cleared(at: at(t0, hours: 6), thoracolumbar: true)
        let out = h.evaluate()
        #expect(out.tasks("spinal-precautions").count == 1)
        #expect(out.tasks("spinal-precautions").first?.status == "completed")
    }

    /// Section 2 `spine.cleared`: clearances count "from the issue of the
    /// active SPINAL_PRECAUTIONS card: a clearance counts only when it arrives
    /// after the card and its time is at or after the card's issue". A
    /// clearance before the high-energy mechanism was known does not clear it.
    @Test("a clearance before the high-energy mechanism was reported does not count: issued, and open until cleared again")
    func clearedBeforeCardDoesNotCount() throws {
        var h = History()
        h.cleared(at: t0, cervical: true, thoracolumbar: true)
        let presented = h.presented(at: at(t0, hours: 1), mechanism: "high-energy-trauma")
        let out = h.evaluate()
        let rec = try #require(out.active("SPINAL_PRECAUTIONS"))
        #expect(rec.causationEventId == presented)
        #expect(out.tasks("spinal-precautions").first?.status == "requested")
        h.cleared(at: at(t0, hours: 2), cervical: true, thoracolumbar: true)
        let cleared = h.evaluate()
        #expect(cleared.tasks("spinal-precautions").first?.status == "completed")
        #expect(cleared.latest("SPINAL_PRECAUTIONS").last?.status == "completed")
    }

    @Test("a late-charted clearance dated before the card's issue does not count")
    func lateClearanceBeforeIssue() {
        var h = History()
        h.presented(at: t0, mechanism: "high-energy-trauma")
        h.pain(at: at(t0, hours: 3), nrs: 5)
        h.cleared(at: at(t0, minutes: -30), cervical: true, thoracolumbar: true)
        let out = h.evaluate()
        #expect(out.active("SPINAL_PRECAUTIONS") != nil)
        #expect(out.tasks("spinal-precautions").first?.status == "requested")
    }

    /// Section 4 `SPINAL_PRECAUTIONS` ends: "completed when both regions are cleared".
    @Test("the card is completed, same id, when both regions are cleared")
    func cardCompletedOnClearance() throws {
        var h = History()
        h.presented(at: t0, mechanism: "high-energy-trauma")
        h.cleared(at: at(t0, hours: 2), cervical: true)
        #expect(h.evaluate().active("SPINAL_PRECAUTIONS") != nil)
        let both = h.cleared(at: at(t0, hours: 3), thoracolumbar: true)
        let out = h.evaluate()
        let revisions = out.recommendations.filter { $0.code == "SPINAL_PRECAUTIONS" }
        #expect(revisions.count == 2)
        #expect(Set(revisions.map(\.id)).count == 1)
        #expect(revisions.last?.status == "completed")
        #expect(revisions.last?.causationEventId == both)
        #expect(out.active("SPINAL_PRECAUTIONS") == nil)
    }

    // MARK: Version 3: the other triggers, whatever the mechanism

    /// Version 3 fix 8: "instability and cord compression bring spinal
    /// precautions whatever the mechanism"; section 4: also an SCI and TLICS ≥ 5.
    @Test("imaging unstable or significant cord compression on a low-energy fracture issues SPINAL_PRECAUTIONS",
          arguments: [("unstable", "unstable fracture"), ("cordCompression", "significant cord compression")])
    func imagingTriggers(fact: String, words: String) throws {
        var h = History()
        h.presented(at: t0, mechanism: "low-energy")
        let findings: [String: Any] = fact == "unstable" ? ["unstable": true] : ["cordCompression": "significant"]
        let img = h.imaging(at: at(t0, hours: 1), findings)
        let out = h.evaluate()
        let rec = try #require(out.active("SPINAL_PRECAUTIONS"))
        #expect(rec.priority == "urgent")
        #expect(rec.indicator == "warning")
        #expect(rec.causationEventId == img)
        #expect(rec.facts[fact] != nil)
        #expect(rec.summary.contains(words))
        #expect(out.tasks("spinal-precautions").count == 1)
        #expect(out.tasks("spinal-precautions").first?.priority == "urgent")
    }

    @Test("mild cord compression on a stable low-energy fracture brings no precautions")
    func mildCompressionNoPrecautions() {
        var h = History()
        h.presented(at: t0, mechanism: "low-energy")
        h.imaging(at: at(t0, hours: 1), ["cordCompression": "mild", "unstable": false])
        #expect(!h.evaluate().issued("SPINAL_PRECAUTIONS"))
    }

    @Test("a spinal cord injury recognised from neuroStatus on a low-energy fracture issues SPINAL_PRECAUTIONS")
    func sciTrigger() throws {
        var h = History()
        h.presented(at: t0, mechanism: "low-energy")
        let exam = h.neuro(at: at(t0, hours: 1), ["neuroStatus": "cord-incomplete", "spinalCordInjury": false])
        let out = h.evaluate()
        let rec = try #require(out.active("SPINAL_PRECAUTIONS"))
        #expect(rec.causationEventId == exam)
        #expect(rec.facts["neuroStatus"] as? String == "cord-incomplete")
        // The rationale quotes the exam as it was: its spinalCordInjury was false.
        #expect(rec.facts["spinalCordInjury"] == nil)
        // One precautions task, shared with the bundle, at the bundle's stat.
        #expect(out.tasks("spinal-precautions").count == 1)
        #expect(out.tasks("spinal-precautions").first?.priority == "stat")
    }

    @Test("TLICS 5 on a low-energy fracture issues SPINAL_PRECAUTIONS; TLICS 4 does not")
    func tlicsTrigger() throws {
        var five = History()
        five.presented(at: t0, mechanism: "low-energy")
        five.imaging(at: at(t0, hours: 1), ["morphology": "burst", "posteriorLigamentousComplex": "injured"])
        let exam = five.neuro(at: at(t0, hours: 2))
        let rec = try #require(five.evaluate().active("SPINAL_PRECAUTIONS"))
        #expect(rec.causationEventId == exam)
        #expect(rec.facts["tlics"] as? Int == 5)

        var four = History()
        four.presented(at: t0, mechanism: "low-energy")
        four.imaging(at: at(t0, hours: 1), ["morphology": "burst", "posteriorLigamentousComplex": "indeterminate"])
        four.neuro(at: at(t0, hours: 2))
        #expect(!four.evaluate().issued("SPINAL_PRECAUTIONS"))
    }

    /// Section 4: once the card has ended, the code is issued again whenever
    /// its condition holds again — here a new trigger after clearance.
    @Test("after clearance, a new trigger (an unstable fracture) issues SPINAL_PRECAUTIONS again with a new id")
    func reissuedAfterClearance() throws {
        var h = History()
        h.presented(at: t0, mechanism: "high-energy-trauma")
        h.cleared(at: at(t0, hours: 2), cervical: true, thoracolumbar: true)
        let img = h.imaging(at: at(t0, hours: 3), ["unstable": true])
        let out = h.evaluate()
        let cards = out.latest("SPINAL_PRECAUTIONS")
        #expect(cards.count == 2)
        #expect(cards.first?.status == "completed")
        let again = try #require(out.active("SPINAL_PRECAUTIONS"))
        #expect(again.id != cards.first?.id)
        #expect(again.causationEventId == img)
        let tasks = out.tasks("spinal-precautions")
        #expect(tasks.count == 2)
        #expect(tasks.last?.status == "requested")
    }

    @Test("a second high-energy presentation while it is active issues nothing new")
    func notReissued() {
        var h = History()
        h.presented(at: t0, mechanism: "high-energy-trauma")
        h.presented(at: at(t0, hours: 1), mechanism: "high-energy-trauma")
        let out = h.evaluate()
        #expect(out.recommendations.filter { $0.code == "SPINAL_PRECAUTIONS" }.count == 1)
        #expect(out.taskMessages.filter { $0.code == "spinal-precautions" }.count == 1)
    }
}
