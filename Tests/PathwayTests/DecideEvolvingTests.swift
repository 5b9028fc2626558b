import CarepathSimulation
import Pathway
import Testing

/// `Pathway.decide(_:evolving:ruleset:)` is `decide(_:_:ruleset:)` followed by
/// folding the accepted events, done in place.
@Suite("Deciding in place")
struct DecideEvolvingTests {
    static let start = Timestamp(rfc3339: "2026-01-01T00:00:00Z")!

    /// Checks one command both ways and returns the state after it.
    static func check(_ command: Pathway.Command, _ before: PatientState) -> PatientState {
        let expected = Pathway.decide(command, before)
        var state = before
        let decision = Pathway.decide(command, evolving: &state)
        #expect(decision == expected)
        if case .accepted(let events) = expected {
            #expect(state == events.reduce(before, PatientState.evolve))
        } else {
            #expect(state == before)
        }
        return state
    }

    @Test("gives decide's decision and the fold of its events over generated histories", arguments: [UInt64(1), 2, 3, 4])
    func sameAsDecideThenEvolve(seed: UInt64) {
        var states: [String: PatientState] = [:]
        for line in CohortGenerator(seed: seed, patients: 12, start: Self.start).lines() {
            guard case .event(let event) = InputDecoder.outcome(of: line) else { continue }
            let before = states[event.subject] ?? .initial(patientId: event.subject)
            states[event.subject] = Self.check(.apply(event), before)
        }
        for state in states.values {
            for timerId in state.pendingTimers.keys.sorted() {
                _ = Self.check(.fireTimer(id: timerId), state)
            }
        }
    }

    @Test("leaves the state as it was when a task update names an unknown task")
    func unknownTask() throws {
        let lines = CohortGenerator(seed: 7, patients: 1, start: Self.start).lines()
        var state = PatientState.initial(patientId: "")
        var last: InputEvent?
        for line in lines {
            guard case .event(let event) = InputDecoder.outcome(of: line) else { continue }
            if last == nil { state = .initial(patientId: event.subject) }
            state = Self.check(.apply(event), state)
            last = event
        }
        let event = try #require(last)
        // Far in the future, so that every pending timer is due first.
        let update = InputEvent(id: "unknown-task-update", source: "urn:test", subject: event.subject,
                                time: event.time + .days(400),
                                data: .taskUpdated(TaskUpdate(taskId: "task-0000", status: .completed)), fingerprint: "x")
        let after = Self.check(.apply(update), state)
        #expect(after == state)
        guard case .rejected(let rejection) = Pathway.decide(.apply(update), state) else {
            Issue.record("an unknown task is refused")
            return
        }
        #expect(rejection.reason == .unknownTask)
    }
}
