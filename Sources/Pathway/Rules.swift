/// The clinical rules of PATHWAY.md sections 2-4 and 8 (ruleset `vcf-2027.1`),
/// applied to one input event or timer.
///
/// Within one event, what ends a card is applied before what the event
/// triggers, and the rows then run in the order of the contract's table, so
/// that when one event triggers several, their outputs come in a fixed order.
extension DecisionContext {
    /// What the rules compare before and after an event: a row fires on the
    /// event that makes its trigger true, not on every event while it stays true.
    struct Before {
        var latestExam: PatientState.Timed<NeuroExam>?
        var levels: [String]
        var fractureIdentified: Bool
        var empiricIndicated: Bool
        var therapyIndicated: Bool
        var feverWithRisk: Bool
        var fragility: Bool
        /// How many red flags were known: those after it are new with this event.
        var flagCount: Int
        var tlicsPeak: Int?
    }

    /// The red flag `fact` was known before this event (in this episode).
    func knew(_ fact: String, _ before: Before) -> Bool {
        state.observedRedFlags.prefix(before.flagCount).contains { $0.fact == fact }
    }

    /// What the rules for an event of `type` (a timer when `nil`) compare with;
    /// facts no rule of that type reads are left empty.
    func snapshot(for type: InputType? = nil) -> Before {
        let imaging = type == .imagingResulted, biopsy = type == .biopsyResulted
        return Before(latestExam: type == .neuroExamined ? state.latestExam : nil, levels: imaging ? state.levels : [],
                      fractureIdentified: state.fractureIdentified != nil, empiricIndicated: empiricIndicated,
                      therapyIndicated: (imaging || biopsy) && therapyOrganism != nil,
                      feverWithRisk: type == .patientPresented && feverWithRisk, fragility: state.isFragilityFracture,
                      flagCount: state.observedRedFlags.count, tlicsPeak: state.highestTLICS?.value)
    }

    // MARK: Entry points

    /// Records an accepted input event and applies every rule it names.
    mutating func apply(_ input: InputEvent, actingAt: Timestamp) {
        begin(cause: input.id, at: actingAt)
        endCardsEndedUnderThisRuleset()
        let newEpisode = startsNewEpisode(input)
        if newEpisode { startNewEpisode(input) }
        let before = snapshot(for: input.type)
        emit(.clinicalEventRecorded(input, actingAt: actingAt))
        syncState(reason: "first event of the patient (\(input.type.rawValue) \(input.id))")
        let id = input.id
        switch input.data {
        case .patientPresented(let p):
            presented(p, eventId: id, before: before)
        case .imagingResulted(let imaging):
            imagingResulted(imaging, time: input.time, eventId: id, before: before, startedEpisode: newEpisode)
        case .neuroExamined(let exam):
            neuroExamined(exam, time: input.time, eventId: id, before: before)
        case .vitalsRecorded(let vitals):
            vitalsRecorded(vitals, eventId: id)
        case .painAssessed:
            painAssessed(eventId: id, before: before)
        case .biopsyResulted(let biopsy):
            biopsyResulted(biopsy, eventId: id, before: before)
        case .taskUpdated(let update):
            taskUpdated(update)
        case .spineCleared:
            spineCleared()
        case .medicationChanged, .timerFired:
            break  // recorded for the timeline; no rule of this ruleset uses them
        }
        afterEvery(before)
    }

    /// Fires a timer and applies what it checks.
    mutating func fire(_ timer: ScheduledTimer) {
        begin(cause: timer.id, at: max(state.clock ?? timer.dueAt, timer.dueAt))
        let before = snapshot()
        emit(.timerFired(timer))
        endCardsEndedUnderThisRuleset()
        switch timer.code {
        case .reassessmentOverdue: reassessmentOverdue(timer)
        case .day90Review: augmentationReview(timer)
        case .mapWindowEnd: mapWindowEnded(timer)
        case .referralAcceptance, .referralCompletion: referralOverdue(timer)
        case .calcitoninWindowEnd:
            if let task = state.open(.calcitoninCourse) { changeTask(task, status: .cancelled, reason: "calcitonin window ended") }
        }
        afterEvery(before)
    }

    /// Records a conflicting re-send of a clinical result and asks a clinician to review it.
    mutating func recordConflict(_ input: InputEvent, standing first: InputEvent, actingAt: Timestamp) {
        begin(cause: input.id, at: actingAt)
        let before = snapshot()
        let fields = ResultDifference.fields(first, input)
        let conflict = ResultConflict(source: input.source, id: input.id, type: input.type, time: input.time,
                                      fingerprint: input.fingerprint, fields: fields)
        emit(.resultConflictRecorded(conflict))
        conflictingResultReview(conflict)
        afterEvery(before)
    }

    /// What every event and timer re-evaluates (PATHWAY.md section 3).
    private mutating func afterEvery(_ before: Before) {
        empiricAntibiotics(before)
        raiseImagingPriorityForRedFlags()
        fragilityLost(before)
        conservativeManagement()
        pathwayResolution()
    }
}
