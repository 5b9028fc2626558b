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

    /// docs/pathway-decisions.md: not issued when both regions were already cleared.
    @Test("not issued when both regions were cleared before the high-energy mechanism was reported")
    func alreadyCleared() {
        var h = History()
        h.cleared(at: t0, cervical: true, thoracolumbar: true)
        h.presented(at: at(t0, hours: 1), mechanism: "high-energy-trauma")
        #expect(!h.evaluate().issued("SPINAL_PRECAUTIONS"))
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
