import CarepathJSON
import Crypto

/// Accumulates the domain events of one decision, folding each into a
/// working copy of the state as it goes, so that every rule sees what the
/// rules before it decided.
struct DecisionContext {
    private(set) var state: PatientState
    let ruleset: Ruleset
    private(set) var events: [DomainEvent] = []
    /// The acting time of what is being applied.
    private(set) var now: Timestamp
    /// The input event id or timer id being applied.
    private(set) var cause: String = ""

    init(state: PatientState, ruleset: Ruleset) {
        self.state = state
        self.ruleset = ruleset
        self.now = state.clock ?? Timestamp(millisecondsSinceEpoch: 0)
    }

    /// A context that works on `state` itself, leaving a placeholder in its
    /// place until ``finish(into:)`` gives it back.
    init(taking state: inout PatientState, ruleset: Ruleset) {
        var working = PatientState.initial(patientId: state.patientId)
        swap(&working, &state)
        self.init(state: working, ruleset: ruleset)
    }

    /// Hands the working state, with every emitted event folded in, back to `state`.
    mutating func finish(into state: inout PatientState) {
        swap(&self.state, &state)
    }

    var patientId: String { state.patientId }

    mutating func emit(_ payload: DomainEvent.Payload) {
        let event = DomainEvent(patientId: state.patientId, version: state.version + 1, occurredAt: now,
                                causationEventId: cause, payload: payload)
        state.apply(event)
        if events.isEmpty { events.reserveCapacity(4) }  // grown once for most decisions
        events.append(event)
    }

    mutating func begin(cause: String, at time: Timestamp) {
        self.cause = cause
        self.now = time
    }

    // MARK: Tracks and state

    /// Emits `StateChanged` when the most acute open track is no longer the state.
    mutating func syncState(reason: @autoclosure () -> String) {
        let derived = state.derivedState
        guard state.state != derived else { return }
        emit(.stateChanged(from: state.state, to: derived, reason: reason()))
    }

    /// Opens a track; opening an acute track while conservative care is open escalates it.
    mutating func openTrack(_ track: Track, reason: String) {
        guard !state.openTracks.contains(track) else { return }
        let escalates = track.escalatesConservativeCare && state.openTracks.contains(.conservativeManagement)
        emit(.trackOpened(track, reason: reason))
        syncState(reason: reason)
        if escalates { escalateConservativeCare(to: track) }
    }

    mutating func closeTrack(_ track: Track, reason: String) {
        guard state.openTracks.contains(track) else { return }
        emit(.trackClosed(track, reason: reason))
        syncState(reason: reason)
    }

    /// PATHWAY.md section 4, "Escalation".
    private mutating func escalateConservativeCare(to track: Track) {
        let why = "escalated: \(track.rawValue) opened"
        if let cm = state.active(.conservativeManagement) { revise(cm, status: .superseded, reason: why) }
        closeTrack(.conservativeManagement, reason: why)
        closeTrack(.augmentationEvaluation, reason: why)
        endConservativeCare(reason: why, cancelling: Self.conservativeTasks + [.interventionalSpineConsult])
    }

    /// The tasks of conservative care that stop when it is escalated or resolved
    /// (`analgesia` and `osteoporosis-treatment` continue).
    static let conservativeTasks: [TaskCode] = [
        .braceForComfort, .physicalTherapy, .reassessmentVisit, .metabolicWorkup, .calcitoninCourse, .painReassessment,
    ]

    /// Cancels conservative care's open tasks and timers; a pending overdue
    /// reassessment no longer applies.
    mutating func endConservativeCare(reason: String, cancelling codes: [TaskCode]) {
        for code in codes {
            if let task = state.open(code) { changeTask(task, status: .cancelled, reason: reason) }
        }
        if let overdue = state.active(.reassessmentOverdue) { revise(overdue, status: .withdrawn, reason: reason) }
        cancelTimers([.reassessmentOverdue, .day90Review], reason: reason)
    }

    // MARK: Recommendations

    /// Issues a recommendation unless one of its code is active; opens its track first,
    /// so that `pathwayState` is the state once it applies.
    /// - Returns: the new recommendation, or `nil` when one of the code was already active.
    @discardableResult
    mutating func issue(
        _ code: RecommendationCode, priority: Priority, indicator: Indicator, summary: String, detail: String,
        rationale: [RationaleFact], evidence: [Evidence]
    ) -> Recommendation? {
        guard state.activeRecommendation[code] == nil else { return nil }
        let n = state.issuances[code, default: 0] + 1
        if let track = code.opensTrack { openTrack(track, reason: "\(code.rawValue) issued (\(cause))") }
        let rec = Recommendation(
            id: Identifiers.recommendation(patientId: patientId, code: code, issuance: n), revision: 1,
            patientId: patientId, code: code, status: .active, priority: priority, indicator: indicator,
            summary: Self.clip(summary), detail: detail, rationale: rationale, evidence: evidence,
            rulesetVersion: ruleset.version, pathwayState: state.derivedState, causationEventId: cause,
            issuedAt: now, updatedAt: now)
        emit(.recommendationIssued(rec))
        return rec
    }

    /// Publishes the next revision of a recommendation.
    mutating func revise(
        _ rec: Recommendation, status: RecommendationStatus? = nil, priority: Priority? = nil, indicator: Indicator? = nil,
        reason: String? = nil, addingRationale: [RationaleFact] = []
    ) {
        var next = rec
        next.revision += 1
        if let status { next.status = status }
        if let priority { next.priority = priority }
        if let indicator { next.indicator = indicator }
        next.statusReason = next.status == .active ? nil : reason
        next.rationale += addingRationale
        next.rulesetVersion = ruleset.version
        next.pathwayState = state.derivedState
        next.causationEventId = cause
        next.updatedAt = now
        emit(.recommendationRevised(next))
    }

    static func clip(_ summary: String) -> String {
        summary.count <= 140 ? summary : String(summary.prefix(139)) + "…"
    }

    // MARK: Tasks

    /// Requests a task; when one of the code is open, raises its priority instead (if higher).
    mutating func requestTask(
        _ code: TaskCode, priority: Priority, basedOn rec: Recommendation, description: String,
        window: CareTask.Period? = nil
    ) {
        if let open = state.open(code) {
            if priority > open.priority { raiseTask(open, to: priority) }
            return
        }
        let n = state.taskRequests[code, default: 0] + 1
        let task = CareTask(
            id: Identifiers.task(patientId: patientId, code: code, request: n), version: 1, status: .requested,
            priority: priority, code: code, description: description, patientId: patientId, authoredOn: now,
            lastModified: now, executionPeriod: window, basedOn: rec.id)
        emit(.taskRequested(task))
        if code == .spineSurgeryConsult, priority == .stat { scheduleReferralTimers() }
    }

    mutating func raiseTask(_ task: CareTask, to priority: Priority) {
        var next = task
        next.version += 1
        next.priority = priority
        next.lastModified = max(now, task.lastModified)
        emit(.taskChanged(next))
        if task.code == .spineSurgeryConsult, priority == .stat { scheduleReferralTimers() }
    }

    mutating func changeTask(_ task: CareTask, status: TaskStatus, reason: String? = nil) {
        guard task.status != status else { return }
        var next = task
        next.version += 1
        next.status = status
        next.statusReason = reason
        next.lastModified = max(now, task.lastModified)
        emit(.taskChanged(next))
    }

    /// The stat referral clocks count from the stat request (PATHWAY.md section 4).
    private mutating func scheduleReferralTimers() {
        cancelTimers([.referralAcceptance, .referralCompletion], reason: "a new stat spine surgery consult request restarts the referral clocks")
        schedule(.referralAcceptance, at: now + .hours(ruleset.referralAcceptanceHours))
        schedule(.referralCompletion, at: now + .hours(ruleset.referralCompletionHours))
    }

    // MARK: Timers

    mutating func schedule(_ code: TimerCode, at due: Timestamp) {
        let n = state.timersScheduled[code, default: 0] + 1
        emit(.timerScheduled(ScheduledTimer(id: Identifiers.timer(patientId: patientId, code: code, n: n), code: code, dueAt: due)))
    }

    mutating func cancelTimers(_ codes: Set<TimerCode>, reason: String) {
        let pending = state.pendingTimers.values
            .filter { codes.contains($0.timer.code) }
            .sorted { $0.scheduledAtVersion < $1.scheduledAtVersion }
        for p in pending { emit(.timerCancelled(p.timer, reason: reason)) }
    }

    /// Fires, in order of due time and then of scheduling, every pending timer due at or before `time`.
    mutating func fireTimersDue(upTo time: Timestamp) {
        while true {
            var next: PatientState.PendingTimer?
            for pending in state.pendingTimers.values where pending.timer.dueAt <= time {
                if let earliest = next,
                   (earliest.timer.dueAt, earliest.scheduledAtVersion) <= (pending.timer.dueAt, pending.scheduledAtVersion) {
                    continue
                }
                next = pending
            }
            guard let next else { return }
            fire(next.timer)
        }
    }
}

/// Ids derived from the history, never random (PATHWAY.md sections 4, 5, 7).
public enum Identifiers {
    /// `rec-` and 32 hex digits of SHA-256 over the patient, the code and which issuance of it this is.
    public static func recommendation(patientId: String, code: RecommendationCode, issuance: Int) -> String {
        digest("carepath/recommendation/\(patientId)/\(code.rawValue)/\(issuance)", prefix: "rec-")
    }

    /// `task-` and 32 hex digits of SHA-256 over the patient, the task code and which request of it this is.
    public static func task(patientId: String, code: TaskCode, request: Int) -> String {
        digest("carepath/task/\(patientId)/\(code.rawValue)/\(request)", prefix: "task-")
    }

    /// `<patientId>/<timerCode>/<n>`.
    public static func timer(patientId: String, code: TimerCode, n: Int) -> String {
        "\(patientId)/\(code.rawValue)/\(n)"
    }

    /// `prefix` and the first 32 hex digits (16 bytes) of SHA-256 over `text`.
    private static func digest(_ text: String, prefix: String) -> String {
        var text = text
        return text.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }.hexString(prefix: prefix, limit: 16)
    }
}
