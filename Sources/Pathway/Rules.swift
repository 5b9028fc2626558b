import CarepathJSON

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

    // MARK: Presentation

    private mutating func presented(_ p: Presentation, eventId: String, before: Before) {
        if p.mechanism == .highEnergyTrauma, !knew("mechanism", before) {
            spinalPrecautions(trigger: "high-energy trauma", facts: [RationaleFact("mechanism", p.mechanism.rawValue, eventId)])
        }
        pathologicWorkup(eventId: eventId, before: before)
        if !state.mriResulted, state.activeRecommendation[.mriSpineWithoutContrast] == nil {
            mriCard(cause: "presentation", needFrom: state.episodeStartedAt ?? now, worsening: false, eventId: eventId)
        }
        painManagement(before: before, eventId: eventId)
        if feverWithRisk, !before.feverWithRisk {
            var facts = [RationaleFact("fever", true, state.fever?.eventId ?? eventId)]
            if state.presentation?.history?.injectionDrugUse == true {
                facts.append(RationaleFact("injectionDrugUse", true, state.presentationEventId ?? eventId))
            }
            if state.presentation?.history?.immunosuppressed == true {
                facts.append(RationaleFact("immunosuppressed", true, state.presentationEventId ?? eventId))
            }
            infectionWorkup(trigger: "fever with \(facts.dropFirst().map { Self.words($0.fact) }.joined(separator: " and "))", facts: facts)
        }
    }

    // MARK: Episodes

    /// After `PATHWAY_RESOLVED`, a new acute fracture starts the next episode (PATHWAY.md section 2).
    private func startsNewEpisode(_ input: InputEvent) -> Bool {
        guard state.resolvedAt != nil, case .imagingResulted(let i) = input.data, i.findings.compressionFracture == true,
              i.findings.acuity != .chronic
        else { return false }
        if let levels = i.levels, !levels.isEmpty { return levels.contains { !state.levels.contains($0) } }
        return input.time > state.resolvedAt!
    }

    private mutating func startNewEpisode(_ input: InputEvent) {
        let n = state.episode + 1
        let reason = "new acute fracture after the pathway resolved (\(input.type.rawValue) \(input.id))"
        emit(.episodeStarted(episode: n, reason: reason))
        end(.newEpisode, reason: "episode \(n) started: \(reason)")
        closeTrack(.recovering, reason: "episode \(n) started")
        // What ended belongs to the episode before: its codes may be issued again in this one.
        endedNow = CodeSet()
    }

    // MARK: Imaging

    private mutating func imagingResulted(_ imaging: ImagingResult, time: Timestamp, eventId: String, before: Before, startedEpisode: Bool) {
        let f = imaging.findings
        // What the result completes comes first.
        if imaging.modality == .mri { mriResulted(imaging, time: time, eventId: eventId) }
        if let repeatScan = state.open(.repeatSpineImaging), time >= repeatScan.authoredOn {
            changeTask(repeatScan, status: .completed)
        }
        infectionExcluded(eventId: eventId)
        // Then the rows, in the table's order.
        var instability: [RationaleFact] = []
        var named: [String] = []
        if f.unstable == true, !knew("unstable", before) {
            instability.append(RationaleFact("unstable", true, eventId))
            named.append("unstable fracture")
        }
        if f.cordCompression == .significant, !knew("cordCompression", before) {
            instability.append(RationaleFact("cordCompression", CordCompression.significant.rawValue, eventId))
            named.append("significant cord compression")
        }
        if !instability.isEmpty {
            spinalPrecautions(trigger: named.joined(separator: " and "), facts: instability)
            surgicalConsult(facts: instability + tlicsFacts(), reasons: named)
        }
        instabilityByTLICS(eventId: eventId, before: before)
        progressiveDeformity(imaging, time: time, eventId: eventId)
        if startedEpisode {
            pathologicWorkup(eventId: eventId, before: before, episodeStart: true)
        } else if f.suspiciousForMalignancy == true, !knew("suspiciousForMalignancy", before) {
            pathologicWorkup(eventId: eventId, before: before)
        }
        // MRI_SPINE_WITHOUT_CONTRAST: a new episode as a presentation; an acute fracture at a new level.
        if startedEpisode, !state.mriResulted {
            mriCard(cause: "a new episode", needFrom: state.episodeStartedAt ?? now, worsening: false, eventId: eventId)
        } else if f.compressionFracture == true, f.acuity != .chronic, let levels = imaging.levels,
                  let newLevel = levels.first(where: { !before.levels.contains($0) }), !before.levels.isEmpty,
                  !state.mriResulted(atOrAfter: time) {
            mriCard(cause: "an acute fracture at a new level (\(newLevel))", needFrom: time, worsening: false, eventId: eventId)
        }
        painManagement(before: before, eventId: eventId)
        if f.discitisOsteomyelitis == true {
            if !knew("discitisOsteomyelitis", before) {
                infectionWorkup(trigger: "discitis-osteomyelitis on imaging", facts: [RationaleFact("discitisOsteomyelitis", true, eventId)])
            }
            requestInfectionBiopsy()
        }
        antimicrobialTherapy(before: before, eventId: eventId)
    }

    /// An MRI result completes the open plain MRI (when it answers the card's
    /// question) and, with contrast, the contrast MRI (whole spine when the
    /// pathologic workup asked for it).
    private mutating func mriResulted(_ imaging: ImagingResult, time: Timestamp, eventId: String) {
        let answersCard = state.activeRecommendation[.mriSpineWithoutContrast] == nil || time >= (state.mriNeededFrom ?? time)
        if answersCard, let task = state.open(.mriSpineWithoutContrast) { changeTask(task, status: .completed) }
        if answersCard, state.activeRecommendation[.mriSpineWithoutContrast] != nil {
            end(.mriResulted, reason: "MRI resulted (\(eventId))")
        }
        if imaging.isContrastMRI, let task = state.open(.mriSpineWithContrast) {
            let pathologic = state.recommendations[task.basedOn]?.code == .pathologicFractureWorkup
            if !pathologic || imaging.region == .wholeSpine { changeTask(task, status: .completed) }
        }
    }

    /// `MRI_SPINE_WITHOUT_CONTRAST`, or (while a contrast MRI is open) that MRI raised instead.
    mutating func mriCard(cause: String, needFrom: Timestamp, worsening: Bool, eventId: String) {
        if let contrast = state.open(.mriSpineWithContrast) {
            if worsening { raiseTask(contrast, to: .stat) }
            return
        }
        let flags = state.redFlags(ruleset)
        let (priority, indicator): (Priority, Indicator) = worsening ? (.stat, .critical) : flags.isEmpty ? (.routine, .info) : (.urgent, .warning)
        if let active = state.active(.mriSpineWithoutContrast) {
            guard priority > active.priority else { return }
            revise(active, priority: priority, indicator: indicator,
                   summary: "MRI spine without contrast now, stat: neurological worsening; do not delay.",
                   addingRationale: [RationaleFact("noMRIResultedSince", needFrom.rfc3339, eventId)])
            if let task = state.open(.mriSpineWithoutContrast) { raiseTask(task, to: priority) }
            return
        }
        let why = worsening ? "neurological worsening"
            : flags.isEmpty ? nil : "red flag: " + flags.prefix(2).map { Self.words($0.fact) }.joined(separator: ", ")
        guard let rec = issue(
            .mriSpineWithoutContrast, priority: priority, indicator: indicator,
            summary: why.map { "MRI spine without contrast, \(priority.rawValue) (\($0)): characterise the fracture, exclude pathologic causes." }
                ?? "MRI spine without contrast to characterise the fracture (acute or chronic) and exclude pathologic causes.",
            detail: """
                No MRI has resulted since \(needFrom.rfc3339) (\(cause)). An MRI of the spine without IV contrast \
                characterises the fracture (acute versus chronic) and excludes pathologic causes.\
                \(flags.isEmpty ? "" : " Red flags: \(flags.map { Self.words($0.fact) }.joined(separator: ", ")).")
                """,
            rationale: [RationaleFact("noMRIResultedSince", needFrom.rfc3339, eventId)] + flags.map(\.rationale),
            evidence: worsening ? [EvidenceCatalog.mri, EvidenceCatalog.doNotDelayReferral] : [EvidenceCatalog.mri, EvidenceCatalog.mriAcuity])
        else { return }
        requestTask(.mriSpineWithoutContrast, priority: priority, basedOn: rec,
                    description: "MRI of the spine without IV contrast to characterise the fracture and exclude pathologic causes.")
    }

    /// A red flag known after the MRI was requested raises it to urgent.
    private mutating func raiseImagingPriorityForRedFlags() {
        guard state.activeRecommendation[.mriSpineWithoutContrast] != nil, let rec = state.active(.mriSpineWithoutContrast),
              rec.priority < .urgent
        else { return }
        let flags = state.redFlags(ruleset)
        guard !flags.isEmpty else { return }
        revise(rec, priority: .urgent, indicator: .warning,
               summary: "MRI spine without contrast, urgent (red flag: \(Self.words(flags[0].fact))): characterise the fracture, exclude pathologic causes.",
               addingRationale: flags.map(\.rationale))
        if let task = state.open(.mriSpineWithoutContrast) { raiseTask(task, to: .urgent) }
    }

    /// A plain MRI open when a contrast MRI is requested is replaced by it: one study answers both.
    mutating func replacePlainMRI() {
        guard state.open(.mriSpineWithContrast) != nil else { return }
        let reason = "replaced by the MRI with contrast"
        if let plain = state.open(.mriSpineWithoutContrast) { changeTask(plain, status: .cancelled, reason: reason) }
        end(.replacedByContrastMRI, reason: reason)
    }

    // MARK: Pain

    /// `PAIN_MANAGEMENT` from fracture identification; urgent while the latest NRS is 7 or more.
    mutating func painManagement(before: Before, eventId: String) {
        if !before.fractureIdentified, let identified = state.fractureIdentified, !state.issuedInEpisode(.painManagement) {
            let severe = (state.latestNRS?.value.nrs ?? 0) >= 7
            guard let rec = issue(
                .painManagement, priority: severe ? .urgent : .routine, indicator: severe ? .warning : .info,
                summary: severe ? "Severe fracture pain (NRS \(state.latestNRS!.value.nrs)): analgesia now (acetaminophen, NSAIDs, opioids as needed)."
                    : "Vertebral fracture identified: treat the pain now (acetaminophen, NSAIDs, opioids as needed), whatever comes next.",
                detail: """
                    A vertebral compression fracture was identified (\(identified.value.rfc3339)). Treat the pain from the \
                    start, whatever the later pathway: acetaminophen, NSAIDs and opioids as needed.
                    """,
                rationale: [RationaleFact("fractureIdentified", identified.value.rfc3339, identified.eventId)]
                    + (severe ? [RationaleFact("nrs", state.latestNRS!.value.nrs, state.latestNRS!.eventId)] : []),
                evidence: [EvidenceCatalog.conservative, EvidenceCatalog.conservativeS0])
            else { return }
            requestTask(.analgesia, priority: rec.priority, basedOn: rec, description: "Analgesics for fracture pain: acetaminophen, NSAIDs, opioids as needed.")
            return
        }
        guard let latest = state.latestNRS, latest.value.nrs >= 7, state.activeRecommendation[.painManagement] != nil,
              let rec = state.active(.painManagement), rec.priority < .urgent
        else { return }
        revise(rec, priority: .urgent, indicator: .warning,
               summary: "Severe fracture pain (NRS \(latest.value.nrs)): review analgesia now (acetaminophen, NSAIDs, opioids as needed).",
               addingRationale: [RationaleFact("nrs", latest.value.nrs, latest.eventId)])
        if let task = state.open(.analgesia) { raiseTask(task, to: .urgent) }
    }

    // MARK: Helpers

    /// Whole days of 24 hours from `start` to `time`.
    static func day(of time: Timestamp, since start: Timestamp) -> Int {
        Int((time - start).milliseconds / 86_400_000)
    }

    static func mmHg(_ value: Double) -> String {
        value.rounded() == value ? String(Int(value)) : String(value)
    }

    static func short(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    /// `unexplainedWeightLoss` → `unexplained weight loss`.
    static func words(_ fact: String) -> String {
        switch fact {
        case "ageYears": return "age under 50"
        case "tlics": return "TLICS at the operative threshold"
        case "neuroExam": return "neurological deficit"
        case "neuroStatus", "spinalCordInjury": return "spinal cord injury"
        case "mechanism": return "high-energy trauma"
        case "discitisOsteomyelitis": return "discitis-osteomyelitis"
        case "cordCompression": return "significant cord compression"
        case "unstable": return "unstable fracture"
        default: break
        }
        var out = ""
        for ch in fact {
            if ch.isUppercase {
                out.append(" ")
                out.append(Character(ch.lowercased()))
            } else {
                out.append(ch)
            }
        }
        return out
    }
}

extension PatientState.RedFlag {
    var rationale: RationaleFact {
        let value: JSONValue = self.value == "true" ? .bool(true)
            : Int(self.value).map { .number(JSONNumber(integer: Int64($0))) } ?? .string(self.value)
        return RationaleFact(fact: fact, value: value, eventId: eventId)
    }
}
