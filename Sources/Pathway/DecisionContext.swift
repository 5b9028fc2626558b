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
    /// The codes whose cards this event or timer ended: not issued again by it.
    var endedNow = CodeSet()

    init(state: PatientState, ruleset: Ruleset) {
        self.state = state
        self.ruleset = ruleset
        self.now = state.clock ?? Timestamp(millisecondsSinceEpoch: 0)
    }

    /// A context that works on `state` itself, leaving a placeholder in its
    /// place until ``finish(into:)`` gives it back.
    init(taking state: inout PatientState, ruleset: Ruleset) {
        var working = PatientState.placeholder
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
        endedNow = CodeSet()
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
        end(.trackClosed(track), reason: reason)
    }

    /// PATHWAY.md section 4, "Escalation".
    private mutating func escalateConservativeCare(to track: Track) {
        let why = "escalated: \(track.rawValue)"
        end(.escalated, reason: why)
        closeTrack(.conservativeManagement, reason: why)
        closeTrack(.augmentationEvaluation, reason: why)
        for code in Self.escalationCancels {
            if let task = state.open(code) { changeTask(task, status: .cancelled, reason: why) }
        }
        // REASSESSMENT_OVERDUE is withdrawn when the visit ends otherwise,
        // "cancelled by escalation" among them (PATHWAY.md section 4).
        if state.latestTask(.reassessmentVisit)?.status == .cancelled {
            end(.reassessmentVisitEndedOtherwise, reason: why)
        }
        cancelTimers([.reassessmentOverdue, .day90Review, .calcitoninWindowEnd], reason: why)
    }

    /// The tasks of conservative care and augmentation cancelled by escalation
    /// (`analgesia`, `osteoporosis-treatment` and `metabolic-workup` continue).
    static let escalationCancels: [TaskCode] = [
        .braceForComfort, .physicalTherapy, .reassessmentVisit, .calcitoninCourse, .painReassessment,
        .interventionalSpineConsult, .repeatSpineImaging,
    ]

    // MARK: Recommendations

    /// Issues a recommendation unless one of its code is active, or a card of
    /// its code ended on this same event in this episode; opens its track
    /// first, so that `pathwayState` is the state once it applies.
    /// - Returns: the new recommendation, or `nil` when none was issued.
    @discardableResult
    mutating func issue(
        _ code: RecommendationCode, priority: Priority, indicator: Indicator, summary: String, detail: String,
        rationale: [RationaleFact], evidence: [Evidence]
    ) -> Recommendation? {
        guard state.activeRecommendation[code] == nil, !endedNow.contains(code) else { return nil }
        let n = state.issuances[code, default: 0] + 1
        if let track = code.opensTrack { openTrack(track, reason: "\(code.rawValue) issued (\(cause))") }
        let rec = Recommendation(
            id: Identifiers.recommendation(patientId: patientId, code: code, issuance: n), revision: 1,
            patientId: patientId, code: code, status: .active, priority: priority, indicator: indicator,
            summary: Self.clip(summary), detail: detail, rationale: rationale, evidence: evidence,
            rulesetVersion: ruleset.version, pathwayState: state.derivedState, episode: max(state.episode, 1),
            causationEventId: cause, issuedAt: now, updatedAt: now)
        emit(.recommendationIssued(rec))
        return rec
    }

    /// Publishes the next revision of a recommendation.
    mutating func revise(
        _ rec: Recommendation, status: RecommendationStatus? = nil, priority: Priority? = nil, indicator: Indicator? = nil,
        reason: String? = nil, summary: String? = nil, detail: String? = nil, addingRationale: [RationaleFact] = []
    ) {
        var next = state.recommendations[rec.id] ?? rec
        next.revision += 1
        if let status { next.status = status }
        if let priority { next.priority = priority }
        if let indicator { next.indicator = indicator }
        if let summary { next.summary = Self.clip(summary) }
        if let detail { next.detail = detail }
        next.statusReason = next.status == .active ? nil : (reason ?? "ended (\(cause))")
        for fact in addingRationale where !next.rationale.contains(fact) { next.rationale.append(fact) }
        next.rulesetVersion = ruleset.version
        next.pathwayState = state.derivedState
        next.causationEventId = cause
        next.updatedAt = now
        emit(.recommendationRevised(next))
    }

    /// Ends every active card that `trigger` ends (``CardLifecycle``), with
    /// its status and `reason`; a card that opened a track closes it when no
    /// other active card holds it open.
    mutating func end(_ trigger: CardEnd, reason: String) {
        // The active codes, in the table's (declaration) order.
        for code in state.activeRecommendation.keys {
            guard let status = CardLifecycle.status(of: code, on: trigger), let rec = state.active(code) else { continue }
            end(rec, status: status, reason: reason)
        }
    }

    /// Ends one card with a status; see ``end(_:reason:)``.
    mutating func end(_ rec: Recommendation, status: RecommendationStatus, reason: String) {
        guard state.active(rec.code)?.id == rec.id else { return }
        endedNow.insert(rec.code)
        revise(rec, status: status, reason: reason)
        if let track = rec.code.opensTrack,
           !state.activeRecommendation.keys.contains(where: { $0.opensTrack == track }) {
            closeTrack(track, reason: "\(rec.code.rawValue) \(status.rawValue): \(reason)")
        }
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
        let summary = state.recommendations[rec.id]?.summary ?? rec.summary
        let task = CareTask(
            id: Identifiers.task(patientId: patientId, code: code, request: n), version: 1, status: .requested,
            priority: priority, code: code, description: description, patientId: patientId, authoredOn: now,
            lastModified: now, executionPeriod: window, basedOn: rec.id, reasonText: summary)
        emit(.taskRequested(task))
        if code == .spineSurgeryConsult { scheduleReferralTimers(priority) }
    }

    mutating func raiseTask(_ task: CareTask, to priority: Priority) {
        guard priority > task.priority else { return }
        var next = task
        next.version += 1
        next.priority = priority
        next.lastModified = max(now, task.lastModified)
        fillReason(&next)
        emit(.taskChanged(next))
        if task.code == .spineSurgeryConsult { scheduleReferralTimers(priority) }
    }

    /// A new version of an open task with another description (a second purpose).
    mutating func describeTask(_ task: CareTask, as description: String) {
        guard task.description != description else { return }
        var next = task
        next.version += 1
        next.description = description
        next.lastModified = max(now, task.lastModified)
        fillReason(&next)
        emit(.taskChanged(next))
    }

    mutating func changeTask(_ task: CareTask, status: TaskStatus, reason: String? = nil) {
        guard task.status != status else { return }
        var next = task
        next.version += 1
        next.status = status
        next.statusReason = reason
        next.lastModified = max(now, task.lastModified)
        fillReason(&next)
        emit(.taskChanged(next))
    }

    /// A task stored before contract version 3 gains its `reasonCode` on its next version.
    private func fillReason(_ task: inout CareTask) {
        if task.reasonText == nil { task.reasonText = state.recommendations[task.basedOn]?.summary ?? task.code.display }
    }

    /// The referral clocks count from the consult's request, or from its raise
    /// to stat (PATHWAY.md section 4, "Clocks").
    private mutating func scheduleReferralTimers(_ priority: Priority) {
        cancelTimers([.referralAcceptance, .referralCompletion], reason: "a new spine surgery consult request restarts the referral clocks")
        let stat = priority == .stat
        schedule(.referralAcceptance, at: now + .hours(stat ? ruleset.referralAcceptanceHours : ruleset.urgentReferralAcceptanceHours))
        schedule(.referralCompletion, at: now + .hours(stat ? ruleset.referralCompletionHours : ruleset.urgentReferralCompletionHours))
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
        while let earliest = state.earliestTimerDue, earliest <= time {
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
