import Foundation
import Testing
@testable import Pathway

/// PATHWAY.md section 4 `REFERRAL_OVERDUE`, section 3 (`surgicalReferral`
/// closed by a completed consult) and section 7 (timers).
@Suite("Referral overdue: REFERRAL_OVERDUE")
struct ReferralOverdueTests {
    let t0 = "2026-03-02T10:00:00Z"
    /// The deficit exam: the stat consult is requested here.
    var tE: String { at(t0, hours: 1) }
    let acceptanceTimer = "P1/referral-acceptance/1"
    let completionTimer = "P1/referral-completion/1"

    /// Given a presented patient whose exam at `tE` shows a deficit (a stat consult).
    private func deficit() -> History {
        var h = History()
        h.presented(at: t0)
        h.neuro(at: tE, ["motorDeficit": true])
        return h
    }

    private func overdueRevisions(_ out: Outputs) -> [Rec] {
        out.recommendations.filter { $0.code == "REFERRAL_OVERDUE" }
    }

    // MARK: Acceptance within 2 hours

    @Test("a stat consult not accepted within 2 h issues REFERRAL_OVERDUE from the acceptance timer")
    func notAccepted() throws {
        let out = deficit().evaluate(until: at(tE, hours: 2))
        let rec = try #require(out.active("REFERRAL_OVERDUE"))
        #expect(rec.priority == "stat")
        #expect(rec.indicator == "critical")
        #expect(rec.causationEventId == acceptanceTimer)
        #expect(rec.issuedAt == at(tE, hours: 2))
        #expect(rec.pathwayState == "surgicalReferral")
        #expect(rec.facts["consultStatus"] as? String == "requested")
        let fact = try #require(rec.rationale.first { $0["fact"] as? String == "consultStatus" })
        #expect(fact["eventId"] as? String == acceptanceTimer)
        #expect(rec.rationale.allSatisfy { $0["eventId"] as? String == acceptanceTimer })
        #expect(!rec.evidence.isEmpty)
        // "tasks requested: none"
        #expect(!out.taskMessages.contains { $0.basedOn == "urn:carepath:recommendation:\(rec.id)" })
        let message = try #require(zip(out.messages, out.values).first { $0.1["code"] as? String == "REFERRAL_OVERDUE" })
        #expect(message.0.causationId == acceptanceTimer)
        #expect(message.0.carepathId == "\(rec.id)/1")
    }

    @Test("one minute before the 2 h mark nothing is overdue")
    func beforeTwoHours() {
        #expect(!deficit().evaluate(until: at(tE, hours: 2, minutes: -1)).issued("REFERRAL_OVERDUE"))
    }

    @Test("accepted at 1 h 59 min: nothing at 2 h", arguments: ["accepted", "in-progress"])
    func acceptedInTime(status: String) {
        var h = deficit()
        h.taskUpdate("spine-surgery-consult", status, at: at(tE, hours: 2, minutes: -1))
        #expect(!h.evaluate(until: at(tE, hours: 2)).issued("REFERRAL_OVERDUE"))
        #expect(!h.evaluate(until: at(tE, hours: 24, minutes: -1)).issued("REFERRAL_OVERDUE"))
    }

    @Test("accepted at 1 h 59 min but not completed by 24 h: overdue from the completion timer")
    func acceptedNotCompleted() throws {
        var h = deficit()
        h.taskUpdate("spine-surgery-consult", "accepted", at: at(tE, hours: 2, minutes: -1))
        let out = h.evaluate(until: at(tE, hours: 24))
        let rec = try #require(out.active("REFERRAL_OVERDUE"))
        #expect(rec.causationEventId == completionTimer)
        #expect(rec.issuedAt == at(tE, hours: 24))
        #expect(rec.priority == "stat")
        #expect(rec.indicator == "critical")
        #expect(rec.facts["consultStatus"] as? String == "accepted")
        #expect(rec.rationale.first { $0["fact"] as? String == "consultStatus" }?["eventId"] as? String == completionTimer)
    }

    /// Section 7: "a consult accepted exactly 2 hours after a stat request is
    /// late": the acceptance timer fires first; the late acceptance then
    /// revises the card with the current state (section 4).
    @Test("accepted at exactly 2 h is overdue: the timer fires first, then the late acceptance revises the card")
    func acceptedAtExactlyTwoHours() throws {
        var h = deficit()
        let accepted = h.taskUpdate("spine-surgery-consult", "accepted", at: at(tE, hours: 2))
        let out = h.evaluate()
        let revisions = overdueRevisions(out)
        #expect(revisions.count == 2)
        #expect(Set(revisions.map(\.id)).count == 1)
        let first = try #require(revisions.first)
        #expect(first.causationEventId == acceptanceTimer)
        #expect(first.facts["consultStatus"] as? String == "requested")
        let revised = try #require(revisions.last)
        #expect(revised.status == "active")
        #expect(revised.causationEventId == accepted)
        #expect(revised.summary.contains("accepted 2 h 0 min after the stat request; not yet completed"))
        // The acceptance still applies to the task.
        #expect(out.tasks("spine-surgery-consult").first?.status == "accepted")
    }

    @Test("a late acceptance at 2 h 48 min revises REFERRAL_OVERDUE to say so")
    func lateAcceptanceSummary() throws {
        var h = deficit()
        h.taskUpdate("spine-surgery-consult", "accepted", at: at(tE, hours: 2, minutes: 48))
        let rec = try #require(h.evaluate().active("REFERRAL_OVERDUE"))
        #expect(rec.revision == 2)
        #expect(rec.summary.contains("accepted 2 h 48 min after the stat request; not yet completed"))
        #expect(rec.priority == "stat")
    }

    /// Section 4: "While one is active, a later breach revises it."
    @Test("never accepted: the 24 h breach revises the active REFERRAL_OVERDUE rather than issuing a second")
    func oneOverdueWhileActive() throws {
        let out = deficit().evaluate(until: at(tE, hours: 25))
        let revisions = overdueRevisions(out)
        #expect(revisions.count == 2)
        #expect(out.latest("REFERRAL_OVERDUE").count == 1)
        let revised = try #require(revisions.last)
        #expect(revised.revision == 2)
        #expect(revised.status == "active")
        #expect(revised.causationEventId == completionTimer)
        #expect(revised.updatedAt == at(tE, hours: 24))
        #expect(revised.summary.contains("24 h"))
        #expect(out.domainEvents.contains {
            $0["type"] as? String == "TimerFired" && ($0["data"] as? [String: Any])?["timerId"] as? String == completionTimer
        })
    }

    // MARK: Downstream refusal

    /// Section 4: a consult "rejected, cancelled or failed downstream ... also
    /// requests a new spine-surgery-consult of the same priority (clocks
    /// restart from it)".
    @Test("a stat consult rejected, cancelled or failed downstream is overdue at once and a new stat consult is requested",
          arguments: ["rejected", "cancelled", "failed"])
    func refusedDownstream(status: String) throws {
        var h = deficit()
        let update = h.taskUpdate("spine-surgery-consult", status, at: at(tE, minutes: 30))
        let out = h.evaluate()
        let rec = try #require(out.active("REFERRAL_OVERDUE"))
        #expect(rec.causationEventId == update)
        #expect(rec.issuedAt == at(tE, minutes: 30))
        #expect(rec.priority == "stat")
        #expect(rec.indicator == "critical")
        #expect(rec.facts["consultStatus"] as? String == status)
        let consults = out.tasks("spine-surgery-consult")
        #expect(consults.count == 2)
        #expect(consults.first?.status == status)
        let again = try #require(consults.last)
        #expect(again.id != consults.first?.id)
        #expect(again.status == "requested")
        #expect(again.priority == "stat")
        #expect(again.basedOn == "urn:carepath:recommendation:\(rec.id)")
        #expect(again.raw["authoredOn"] as? String == at(tE, minutes: 30))
    }

    @Test("the new consult's clocks restart from it: not accepted 2 h after the rejection revises the card")
    func clocksRestartAfterRejection() throws {
        var h = deficit()
        h.taskUpdate("spine-surgery-consult", "rejected", at: at(tE, minutes: 30))
        #expect(overdueRevisions(h.evaluate(until: at(tE, hours: 2, minutes: 29))).count == 1)
        let out = h.evaluate(until: at(tE, hours: 2, minutes: 30))
        let revisions = overdueRevisions(out)
        #expect(revisions.count == 2)
        #expect(Set(revisions.map(\.id)).count == 1)
        #expect(revisions.last?.causationEventId == "P1/referral-acceptance/2")
        #expect(revisions.last?.status == "active")
    }

    @Test("the new consult completed completes REFERRAL_OVERDUE and the referral, and closes surgicalReferral")
    func newConsultCompleted() throws {
        var h = deficit()
        h.taskUpdate("spine-surgery-consult", "rejected", at: at(tE, minutes: 30))
        h.taskUpdate("spine-surgery-consult", "accepted", at: at(tE, hours: 1))
        let done = h.taskUpdate("spine-surgery-consult", "completed", at: at(tE, hours: 5))
        let out = h.evaluate(until: at(tE, days: 3))
        let overdue = try #require(out.latest("REFERRAL_OVERDUE").last)
        #expect(overdue.status == "completed")
        #expect(overdue.causationEventId == done)
        #expect(out.latest("URGENT_SURGICAL_REFERRAL").last?.status == "completed")
        #expect(out.latest("REFERRAL_OVERDUE").count == 1)
        #expect(!out.states.suffix(1).contains("surgicalReferral"))
    }

    /// Version 3: a rejected urgent consult is requested again too.
    @Test("an urgent (instability) consult rejected downstream is REFERRAL_OVERDUE, urgent / warning, with a new urgent consult")
    func urgentRejected() throws {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["unstable": true])
        let rejected = h.taskUpdate("spine-surgery-consult", "rejected", at: at(t0, hours: 2))
        let out = h.evaluate(until: at(t0, hours: 3))
        let rec = try #require(out.active("REFERRAL_OVERDUE"))
        #expect(rec.causationEventId == rejected)
        #expect(rec.priority == "urgent")
        #expect(rec.indicator == "warning")
        #expect(rec.facts["consultStatus"] as? String == "rejected")
        let consults = out.tasks("spine-surgery-consult")
        #expect(consults.count == 2)
        #expect(consults.last?.priority == "urgent")
        #expect(consults.last?.status == "requested")
        #expect(consults.last?.basedOn == "urn:carepath:recommendation:\(rec.id)")
    }

    // MARK: Urgent deadlines (24 h to accept, 72 h to complete)

    /// Given an unstable fracture at t0 + 1 h: an urgent consult requested then.
    private func unstable() -> History {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["unstable": true])
        return h
    }

    @Test("an urgent consult accepted one minute before 24 h: nothing overdue at 24 h")
    func urgentAcceptedInTime() {
        var h = unstable()
        h.taskUpdate("spine-surgery-consult", "accepted", at: at(t0, hours: 25, minutes: -1))
        #expect(!h.evaluate(until: at(t0, hours: 73, minutes: -1)).issued("REFERRAL_OVERDUE"))
    }

    @Test("an urgent consult accepted at exactly 24 h is late: urgent REFERRAL_OVERDUE from the acceptance timer, then revised")
    func urgentAcceptedAtExactly24Hours() throws {
        var h = unstable()
        let accepted = h.taskUpdate("spine-surgery-consult", "accepted", at: at(t0, hours: 25))
        let out = h.evaluate()
        let revisions = overdueRevisions(out)
        #expect(revisions.count == 2)
        let first = try #require(revisions.first)
        #expect(first.causationEventId == acceptanceTimer)
        #expect(first.priority == "urgent")
        #expect(first.indicator == "warning")
        #expect(first.issuedAt == at(t0, hours: 25))
        #expect(first.facts["consultStatus"] as? String == "requested")
        #expect(revisions.last?.causationEventId == accepted)
        #expect(revisions.last?.summary.contains("accepted 24 h 0 min after the urgent request") == true)
    }

    @Test("an urgent consult accepted in time but not completed by 72 h: urgent REFERRAL_OVERDUE from the completion timer")
    func urgentNotCompletedBy72Hours() throws {
        var h = unstable()
        h.taskUpdate("spine-surgery-consult", "accepted", at: at(t0, hours: 3))
        #expect(!h.evaluate(until: at(t0, hours: 73, minutes: -1)).issued("REFERRAL_OVERDUE"))
        let rec = try #require(h.evaluate(until: at(t0, hours: 73)).active("REFERRAL_OVERDUE"))
        #expect(rec.causationEventId == completionTimer)
        #expect(rec.priority == "urgent")
        #expect(rec.facts["consultStatus"] as? String == "accepted")
    }

    @Test("an urgent consult completed at exactly 72 h is late; completed one minute before is not")
    func urgentCompletedAt72Hours() throws {
        var late = unstable()
        late.taskUpdate("spine-surgery-consult", "accepted", at: at(t0, hours: 3))
        let done = late.taskUpdate("spine-surgery-consult", "completed", at: at(t0, hours: 73))
        let revisions = overdueRevisions(late.evaluate())
        #expect(revisions.first?.causationEventId == completionTimer)
        #expect(revisions.last?.status == "completed")
        #expect(revisions.last?.causationEventId == done)

        var inTime = unstable()
        inTime.taskUpdate("spine-surgery-consult", "accepted", at: at(t0, hours: 3))
        inTime.taskUpdate("spine-surgery-consult", "completed", at: at(t0, hours: 73, minutes: -1))
        #expect(!inTime.evaluate(until: at(t0, days: 5)).issued("REFERRAL_OVERDUE"))
    }

    // MARK: Completion

    /// Section 4 `REFERRAL_OVERDUE` ends: "completed when a consult completes".
    @Test("completion completes REFERRAL_OVERDUE: same id, next revision")
    func completedOnCompletion() throws {
        var h = deficit()
        let done = h.taskUpdate("spine-surgery-consult", "completed", at: at(tE, hours: 3))
        let out = h.evaluate(until: at(tE, hours: 30))
        let revisions = overdueRevisions(out)
        #expect(revisions.count == 2)
        #expect(Set(revisions.map(\.id)).count == 1)
        let last = try #require(revisions.last)
        #expect(last.revision == 2)
        #expect(last.status == "completed")
        #expect(last.causationEventId == done)
        #expect(last.updatedAt == at(tE, hours: 3))
        #expect(last.issuedAt == at(tE, hours: 2))
        #expect(out.active("REFERRAL_OVERDUE") == nil)
    }

    @Test("completion closes surgicalReferral and no overdue follows")
    func completionClosesReferral() throws {
        var h = deficit()
        let done = h.taskUpdate("spine-surgery-consult", "completed", at: at(tE, hours: 1))
        let out = h.evaluate(until: at(tE, hours: 30))
        #expect(!out.issued("REFERRAL_OVERDUE"))
        let closed = try #require(out.domainEvents.first {
            $0["type"] as? String == "TrackClosed" && ($0["data"] as? [String: Any])?["track"] as? String == "surgicalReferral"
        })
        #expect(closed["causationEventId"] as? String == done)
        #expect(out.finalState != "surgicalReferral")
        #expect(out.states.last == "awaitingImaging")
    }

    @Test("accepted then completed after 2 h but before 24 h: nothing overdue")
    func completedInTime() {
        var h = deficit()
        h.taskUpdate("spine-surgery-consult", "in-progress", at: at(tE, hours: 1))
        h.taskUpdate("spine-surgery-consult", "completed", at: at(tE, hours: 23))
        #expect(!h.evaluate(until: at(tE, hours: 48)).issued("REFERRAL_OVERDUE"))
    }

    // MARK: Determinism of the firing path

    private func recommendationBytes(_ out: Outputs, code: String) -> [[UInt8]] {
        zip(out.messages, out.values)
            .filter { $0.0.topic == "pathway.recommendations" && $0.1["code"] as? String == code }
            .map { $0.0.value }
    }

    private func headers(_ out: Outputs, code: String) -> [String] {
        zip(out.messages, out.values)
            .filter { $0.0.topic == "pathway.recommendations" && $0.1["code"] as? String == code }
            .map { "\($0.0.carepathId) \($0.0.causationId)" }
    }

    @Test("the acceptance timer gives the same REFERRAL_OVERDUE bytes fired at the end of input, before a later event, or by timer.fired")
    func sameBytesWhicheverWayItFires() throws {
        // At the end of input.
        let atEnd = deficit().evaluate(until: at(tE, hours: 3))
        // Before a later event of the patient.
        var later = deficit()
        later.pain(at: at(tE, hours: 3), nrs: 6)
        let midStream = later.evaluate()
        // By a timer.fired event, as live would publish it.
        var live = deficit()
        live.event("timer.fired", at: at(tE, hours: 2), ["timerId": acceptanceTimer, "timerCode": "referral-acceptance"],
                   id: acceptanceTimer, source: "urn:carepath:timer")
        let byEvent = live.evaluate()

        let expected = recommendationBytes(atEnd, code: "REFERRAL_OVERDUE")
        #expect(expected.count == 1)
        #expect(recommendationBytes(midStream, code: "REFERRAL_OVERDUE") == expected)
        #expect(recommendationBytes(byEvent, code: "REFERRAL_OVERDUE") == expected)
        #expect(headers(midStream, code: "REFERRAL_OVERDUE") == headers(atEnd, code: "REFERRAL_OVERDUE"))
        #expect(headers(byEvent, code: "REFERRAL_OVERDUE") == headers(atEnd, code: "REFERRAL_OVERDUE"))
    }

    @Test("the completion timer gives the same bytes fired at the end of input or before a later event")
    func completionSameBytes() throws {
        var h = deficit()
        h.taskUpdate("spine-surgery-consult", "accepted", at: at(tE, hours: 1))
        let atEnd = h.evaluate(until: at(tE, hours: 25))
        var later = h
        later.vitals(at: at(tE, hours: 25), ["spo2": 96])
        let midStream = later.evaluate()
        let expected = recommendationBytes(atEnd, code: "REFERRAL_OVERDUE")
        #expect(expected.count == 1)
        #expect(recommendationBytes(midStream, code: "REFERRAL_OVERDUE") == expected)
    }

    // MARK: Referral clocks

    /// Section 4, Clocks: "When an urgent consult is raised to stat, the
    /// referral clocks count from the stat request": the urgent consult's
    /// clocks (timers /1) give way to the stat ones (timers /2).
    @Test("referral clocks count from the stat request when an urgent consult is raised")
    func clocksFromStatRequest() throws {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["unstable": true])
        h.neuro(at: at(t0, hours: 10), ["sensoryDeficit": true])
        #expect(!h.evaluate(until: at(t0, hours: 12, minutes: -1)).issued("REFERRAL_OVERDUE"))
        let out = h.evaluate(until: at(t0, hours: 12))
        let rec = try #require(out.active("REFERRAL_OVERDUE"))
        #expect(rec.causationEventId == "P1/referral-acceptance/2")
        #expect(rec.issuedAt == at(t0, hours: 12))
        #expect(rec.priority == "stat")
        #expect(out.domainEvents.contains {
            $0["type"] as? String == "TimerCancelled" && ($0["data"] as? [String: Any])?["timerId"] as? String == acceptanceTimer
        })
        // The urgent 24 h deadline (t0 + 25 h) no longer applies: nothing more by then.
        #expect(overdueRevisions(h.evaluate(until: at(t0, hours: 25))).count == 1)
    }

    /// As at 2 h: a timer fires just before the first event at or after its due time.
    @Test("completed at exactly 24 h: the completion timer fires first, then the completion completes it")
    func completedAtExactly24Hours() throws {
        var h = deficit()
        h.taskUpdate("spine-surgery-consult", "accepted", at: at(tE, hours: 1))
        let done = h.taskUpdate("spine-surgery-consult", "completed", at: at(tE, hours: 24))
        let out = h.evaluate()
        let revisions = overdueRevisions(out)
        #expect(revisions.count == 2)
        #expect(revisions.first?.causationEventId == completionTimer)
        #expect(revisions.first?.status == "active")
        #expect(revisions.last?.status == "completed")
        #expect(revisions.last?.causationEventId == done)
    }

    @Test("completed one minute before 24 h: nothing overdue")
    func completedJustInTime() {
        var h = deficit()
        h.taskUpdate("spine-surgery-consult", "accepted", at: at(tE, hours: 1))
        h.taskUpdate("spine-surgery-consult", "completed", at: at(tE, hours: 24, minutes: -1))
        #expect(!h.evaluate(until: at(tE, hours: 48)).issued("REFERRAL_OVERDUE"))
    }
}
