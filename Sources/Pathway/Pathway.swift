/// The pathway as a Decider (after jet/equinox): ``PatientState/initial(patientId:)``,
/// ``PatientState/evolve(_:_:)`` and ``decide(_:_:ruleset:)``.
///
/// Pure: no I/O, no clock, no randomness. The same state and command always
/// give the same domain events.
public enum Pathway {
    /// What the pathway is asked to do for one patient.
    public enum Command: Sendable, Hashable {
        /// Apply a validated input event (a `timer.fired` input fires its timer).
        case apply(InputEvent)
        /// Fire one pending timer (offline, at the end of input).
        case fireTimer(id: String)
    }

    /// The outcome of a command.
    public enum Decision: Sendable, Hashable {
        /// The domain events to append; empty when the command changes nothing
        /// (a duplicate, a timer that is no longer pending).
        case accepted([DomainEvent])
        /// The input is refused and must be dead-lettered; nothing is appended.
        case rejected(Rejection)
        /// A conflicting re-send of a clinical result: dead-lettered, and the
        /// domain events that record it for a clinician appended too
        /// (`CONFLICTING_RESULT_REVIEW`, PATHWAY.md section 2).
        case conflicting(Rejection, [DomainEvent])

        /// The domain events to append, whatever else the decision says.
        public var events: [DomainEvent] {
            switch self {
            case .accepted(let events), .conflicting(_, let events): events
            case .rejected: []
            }
        }

        /// The rejection to dead-letter, if any.
        public var rejection: Rejection? {
            switch self {
            case .accepted: nil
            case .rejected(let r), .conflicting(let r, _): r
            }
        }
    }

    /// Decides what a command means for a patient.
    ///
    /// - Parameters:
    ///   - command: the input event or timer to apply.
    ///   - state: the patient's state, the fold of its domain events so far.
    ///   - ruleset: the thresholds and version to apply.
    /// - Returns: the domain events to append, or the rejection to dead-letter.
    public static func decide(_ command: Command, _ state: PatientState, ruleset: Ruleset = .standard) -> Decision {
        var context = DecisionContext(state: state, ruleset: ruleset)
        return decide(command, in: &context)
    }

    /// Decides what a command means for a patient and folds the accepted
    /// domain events into `state`: the same decision as
    /// ``decide(_:_:ruleset:)``, with `state` becoming
    /// `events.reduce(state, PatientState.evolve)` (unchanged when refused).
    ///
    /// Faster than deciding and then evolving: the rules already fold each
    /// event into a working state as they go, and that state is `state`
    /// itself, so its collections are neither copied nor folded twice.
    /// - Parameters:
    ///   - command: the input event or timer to apply.
    ///   - state: the patient's state; on return, the state after the decision.
    ///   - ruleset: the thresholds and version to apply.
    /// - Returns: the domain events appended to `state`, or the rejection to dead-letter.
    public static func decide(_ command: Command, evolving state: inout PatientState, ruleset: Ruleset = .standard) -> Decision {
        if case .apply(let input) = command, case .taskUpdated(let update) = input.data, state.tasks[update.taskId] == nil {
            // Refused (after firing due timers) unless one of those timers requests the
            // task: decide on a copy so that a refusal leaves `state` as it was.
            let decision = decide(command, state, ruleset: ruleset)
            for event in decision.events { state.apply(event) }
            return decision
        }
        // Every other refusal comes before the first event is emitted, so the
        // working state is still `state` when one happens.
        var context = DecisionContext(taking: &state, ruleset: ruleset)
        defer { context.finish(into: &state) }
        return decide(command, in: &context)
    }

    /// The decision, reading the state through `context` (a local copy of the
    /// state would make the context's collections shared, and copied on write).
    private static func decide(_ command: Command, in context: inout DecisionContext) -> Decision {
        switch command {
        case .fireTimer(let id):
            guard let pending = context.state.pendingTimers[id] else { return .accepted([]) }
            context.fireTimersDue(upTo: pending.timer.dueAt)
            return .accepted(context.events)

        case .apply(let input):
            if case .timerFired(let firing) = input.data {
                guard let pending = context.state.pendingTimers[firing.timerId], pending.timer.code == firing.timerCode else {
                    return .accepted([])
                }
                context.fireTimersDue(upTo: pending.timer.dueAt)
                return .accepted(context.events)
            }
            let receipt = PatientState.InputReceipt(input)
            if let received = context.state.received[receipt] {
                if received.fingerprint == input.fingerprint { return .accepted([]) }
                let rejection = Rejection(
                    .conflictingDuplicate, at: "$.id",
                    "event \(input.id) from \(input.source) was already received with different content; the first stands. Send a correction with a new id")
                // A conflicting version of a clinical result also reaches a clinician, once per version.
                guard let result = received.result,
                      !(context.state.conflictsRecorded[receipt] ?? []).contains(input.fingerprint)
                else { return .rejected(rejection) }
                let actingAt = max(context.state.clock ?? input.time, input.time)
                context.fireTimersDue(upTo: actingAt)
                let first = InputEvent(id: input.id, source: input.source, subject: input.subject, time: result.time,
                                       data: result.data, fingerprint: received.fingerprint)
                context.recordConflict(input, standing: first, actingAt: actingAt)
                return .conflicting(rejection, context.events)
            }
            let actingAt = max(context.state.clock ?? input.time, input.time)
            context.fireTimersDue(upTo: actingAt)
            if case .taskUpdated(let update) = input.data, context.state.tasks[update.taskId] == nil {
                return .rejected(Rejection(
                    .unknownTask, at: "$.data.taskId",
                    "no task \(update.taskId.prefix(80)) for patient \(input.subject); use the id of a task carepath published on pathway.tasks"))
            }
            context.apply(input, actingAt: actingAt)
            return .accepted(context.events)
        }
    }
}
