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
    }

    /// Decides what a command means for a patient.
    ///
    /// - Parameters:
    ///   - command: the input event or timer to apply.
    ///   - state: the patient's state, the fold of its domain events so far.
    ///   - ruleset: the thresholds and version to apply.
    /// - Returns: the domain events to append, or the rejection to dead-letter.
    public static func decide(_ command: Command, _ state: PatientState, ruleset: Ruleset = .standard) -> Decision {
        switch command {
        case .fireTimer(let id):
            guard let pending = state.pendingTimers[id] else { return .accepted([]) }
            var context = DecisionContext(state: state, ruleset: ruleset)
            context.fireTimersDue(upTo: pending.timer.dueAt)
            return .accepted(context.events)

        case .apply(let input):
            if case .timerFired(let firing) = input.data {
                guard let pending = state.pendingTimers[firing.timerId], pending.timer.code == firing.timerCode else {
                    return .accepted([])
                }
                var context = DecisionContext(state: state, ruleset: ruleset)
                context.fireTimersDue(upTo: pending.timer.dueAt)
                return .accepted(context.events)
            }
            if let fingerprint = state.received[PatientState.receiptKey(source: input.source, id: input.id)] {
                if fingerprint == input.fingerprint { return .accepted([]) }
                return .rejected(Rejection(
                    .conflictingDuplicate, at: "$.id",
                    "event \(input.id) from \(input.source) was already received with different content; the first stands. Send a correction with a new id"))
            }
            var context = DecisionContext(state: state, ruleset: ruleset)
            let actingAt = max(state.clock ?? input.time, input.time)
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
