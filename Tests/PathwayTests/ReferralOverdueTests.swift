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

    /// docs/pathway-decisions.md: "a stat consult accepted at exactly 2 h comes
    /// after its timer has fired (overdue)".
    @Test("accepted at exactly 2 h is overdue: the timer fires first")
    func acceptedAtExactlyTwoHours() throws {
        var h = deficit()
        h.taskUpdate("spine-surgery-consult", "accepted", at: at(tE, hours: 2))
        let out = h.evaluate()
        let rec = try #require(out.active("REFERRAL_OVERDUE"))
        #expect(rec.causationEventId == acceptanceTimer)
        #expect(rec.facts["consultStatus"] as? String == "requested")
        // The acceptance still applies to the task.
        #expect(out.tasks("spine-surgery-consult").first?.status == "accepted")
    }

    @Test("never accepted: the 24 h timer does not issue a second REFERRAL_OVERDUE while one is active")
    func oneOverdueWhileActive() throws {
        let out = deficit().evaluate(until: at(tE, hours: 25))
        #expect(overdueRevisions(out).count == 1)
        #expect(out.latest("REFERRAL_OVERDUE").count == 1)
        #expect(out.domainEvents.contains {
            $0["type"] as? String == "TimerFired" && ($0["data"] as? [String: Any])?["timerId"] as? String == completionTimer
        })
    }

    // MARK: Downstream refusal

    @Test("a stat consult rejected, cancelled or failed downstream is overdue at once",
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
        #expect(out.tasks("spine-surgery-consult").first?.status == status)
    }

    @Test("an urgent (instability) consult rejected downstream is not REFERRAL_OVERDUE")
    func urgentRejected() {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["unstable": true])
        h.taskUpdate("spine-surgery-consult", "rejected", at: at(t0, hours: 2))
        #expect(!h.evaluate(until: at(t0, days: 2)).issued("REFERRAL_OVERDUE"))
    }

    // MARK: Completion

    @Test("completion withdraws REFERRAL_OVERDUE: same id, next revision")
    func withdrawnOnCompletion() throws {
        var h = deficit()
        let done = h.taskUpdate("spine-surgery-consult", "completed", at: at(tE, hours: 3))
        let out = h.evaluate(until: at(tE, hours: 30))
        let revisions = overdueRevisions(out)
        #expect(revisions.count == 2)
        #expect(Set(revisions.map(\.id)).count == 1)
        let last = try #require(revisions.last)
        #expect(last.revision == 2)
        #expect(last.status == "withdrawn")
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

    @Test("referral clocks count from the stat request when an urgent consult is raised")
    func clocksFromStatRequest() throws {
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["unstable": true])
        h.neuro(at: at(t0, hours: 10), ["sensoryDeficit": true])
        #expect(!h.evaluate(until: at(t0, hours: 12, minutes: -1)).issued("REFERRAL_OVERDUE"))
        let rec = try #require(h.evaluate(until: at(t0, hours: 12)).active("REFERRAL_OVERDUE"))
        #expect(rec.causationEventId == acceptanceTimer)
        #expect(rec.issuedAt == at(t0, hours: 12))
    }

    /// As at 2 h: a timer fires just before the first event at or after its due time.
    @Test("completed at exactly 24 h: the completion timer fires first, then the completion withdraws it")
    func completedAtExactly24Hours() throws {
        var h = deficit()
        h.taskUpdate("spine-surgery-consult", "accepted", at: at(tE, hours: 1))
        let done = h.taskUpdate("spine-surgery-consult", "completed", at: at(tE, hours: 24))
        let out = h.evaluate()
        let revisions = overdueRevisions(out)
        #expect(revisions.count == 2)
        #expect(revisions.first?.causationEventId == completionTimer)
        #expect(revisions.first?.status == "active")
        #expect(revisions.last?.status == "withdrawn")
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
