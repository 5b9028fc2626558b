/// What an `imaging.resulted` event completes and triggers, and the MRI
/// cards and tasks (`MRI_SPINE_WITHOUT_CONTRAST`, the MRI with contrast).
extension DecisionContext {
    mutating func imagingResulted(_ imaging: ImagingResult, time: Timestamp, eventId: String, before: Before, startedEpisode: Bool) {
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
    mutating func raiseImagingPriorityForRedFlags() {
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
}
