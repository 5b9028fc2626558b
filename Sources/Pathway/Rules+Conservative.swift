import CarepathJSON

/// Conservative care, reassessment, augmentation and resolution.
extension DecisionContext {
    // MARK: CONSERVATIVE_MANAGEMENT

    /// The tracks that keep conservative care from starting.
    static let blockingConservativeCare: TrackSet = [.criticalCare, .surgicalReferral, .infectionWorkup, .antibioticTherapy,
                                                     .pathologicWorkup, .recovering]

    /// Evaluated after every event and timer (PATHWAY.md section 3).
    mutating func conservativeManagement() {
        guard state.activeRecommendation[.conservativeManagement] == nil, !endedNow.contains(.conservativeManagement),
              let fracture = state.compressionFractureEventId, state.openTracks.isDisjoint(with: Self.blockingConservativeCare),
              let exam = state.latestExam, exam.value.finding == .intact, let mri = state.latestMRI
        else { return }
        let fragility = state.isFragilityFracture
        let osteoporosisCare = fragility || state.historyCallsForOsteoporosisCare
        let identified = state.fractureIdentified?.value ?? now
        let calcitoninEnd = identified + .days(ruleset.calcitoninWindowDays)
        let calcitonin = fragility && !state.isChronicOnMRI && now <= identified + .days(ruleset.calcitoninStartWindowDays)
            && now < calcitoninEnd
        var rationale = [RationaleFact("compressionFracture", true, fracture), RationaleFact("mriResulted", true, mri.eventId),
                         RationaleFact("latestExam", NeuroExam.Finding.intact.rawValue, exam.eventId)]
        if let mechanism = state.mechanism { rationale.append(RationaleFact("mechanism", mechanism.value.rawValue, mechanism.eventId)) }
        if let why = state.notFragility { rationale.append(RationaleFact("notFragilityFracture", why.value, why.eventId)) }
        let reassessStart = now + .days(ruleset.reassessmentWindowStartDay)
        let reassessEnd = now + .days(ruleset.reassessmentWindowEndDay)
        let kind = fragility ? "fragility fracture" : "compression fracture"
        guard let rec = issue(
            .conservativeManagement, priority: .routine, indicator: .info,
            summary: "Neurologically intact \(kind): conservative care with analgesia, brace, PT; reassess at \(ruleset.reassessmentWindowStartDay / 7)-\(ruleset.reassessmentWindowEndDay / 7) weeks.",
            detail: conservativeDetail(kind: kind, osteoporosisCare: osteoporosisCare, calcitonin: calcitonin, calcitoninEnd: calcitoninEnd),
            rationale: rationale,
            evidence: [EvidenceCatalog.conservative, EvidenceCatalog.conservativeS0, EvidenceCatalog.bracing, EvidenceCatalog.reassess]
                + (osteoporosisCare ? [EvidenceCatalog.osteoporosis] : [])
                + (calcitonin ? [EvidenceCatalog.calcitonin, EvidenceCatalog.aaosCalcitonin] : []))
        else { return }
        requestTask(.analgesia, priority: .routine, basedOn: rec, description: "Analgesics for fracture pain: acetaminophen, NSAIDs, opioids as needed.")
        requestTask(.braceForComfort, priority: .routine, basedOn: rec, description: "Brace for comfort and symptomatic relief.")
        if state.open(.spinalPrecautions) == nil {
            requestTask(.physicalTherapy, priority: .routine, basedOn: rec, description: "Physical therapy to prevent deconditioning and maintain mobility.")
        }
        requestTask(.reassessmentVisit, priority: .routine, basedOn: rec,
                    description: "Reassess the response to conservative treatment at 4-6 weeks.",
                    window: CareTask.Period(start: reassessStart, end: reassessEnd))
        if osteoporosisCare {
            requestTask(.osteoporosisTreatment, priority: .routine, basedOn: rec,
                        description: "Initiate or optimise osteoporosis treatment: calcium and vitamin D plus a bisphosphonate.")
            requestTask(.metabolicWorkup, priority: .routine, basedOn: rec, description: "Screen for and address underlying metabolic bone abnormalities.")
        }
        if calcitonin {
            requestTask(.calcitoninCourse, priority: .routine, basedOn: rec,
                        description: "Consider calcitonin for acute fracture pain during the first 4 weeks after fracture identification (until \(calcitoninEnd.rfc3339)).",
                        window: CareTask.Period(start: now, end: calcitoninEnd))
            schedule(.calcitoninWindowEnd, at: calcitoninEnd)
        }
        schedule(.reassessmentOverdue, at: reassessEnd)
        schedule(.day90Review, at: now + .days(ruleset.augmentationReviewDay))
    }

    private func conservativeDetail(kind: String, osteoporosisCare: Bool, calcitonin: Bool, calcitoninEnd: Timestamp) -> String {
        """
        Compression fracture on imaging, MRI resulted, latest exam **intact**, and no acute track open: conservative \
        management of this \(kind) with analgesia, a brace for comfort and physical therapy (once spinal precautions \
        are cleared)\(osteoporosisCare ? ", osteoporosis treatment and a metabolic workup" : "")\
        \(calcitonin ? "; consider calcitonin until \(calcitoninEnd.rfc3339) (first 4 weeks after fracture identification)" : ""). \
        Reassess between day \(ruleset.reassessmentWindowStartDay) and day \(ruleset.reassessmentWindowEndDay); most \
        patients improve over 2-12 weeks.
        """
    }

    /// Physical therapy waits for spinal precautions: requested when they complete.
    mutating func physicalTherapyAfterClearance() {
        guard let cm = state.active(.conservativeManagement), state.open(.spinalPrecautions) == nil,
              state.latestTask(.physicalTherapy)?.basedOn != cm.id
        else { return }
        requestTask(.physicalTherapy, priority: .routine, basedOn: cm, description: "Physical therapy to prevent deconditioning and maintain mobility.")
    }

    /// The fracture stops being a fragility fracture while conservative care is
    /// open and no escalating track opened (PATHWAY.md section 4, "Escalation").
    mutating func fragilityLost(_ before: Before) {
        guard before.fragility, !state.isFragilityFracture, let cm = state.active(.conservativeManagement) else { return }
        let why = "not a fragility fracture: " + (state.notFragility?.value ?? "high-energy trauma")
        revise(cm, summary: "Neurologically intact compression fracture (\(why.dropFirst(30))): continue conservative care; no calcitonin or augmentation.",
               addingRationale: state.notFragility.map { [RationaleFact("notFragilityFracture", $0.value, $0.eventId)] } ?? [])
        if let task = state.open(.calcitoninCourse) { changeTask(task, status: .cancelled, reason: why) }
        cancelTimers([.calcitoninWindowEnd], reason: why)
        end(.notFragility, reason: why)
        closeTrack(.augmentationEvaluation, reason: why)
    }

    // MARK: REASSESSMENT_OVERDUE

    mutating func reassessmentOverdue(_ timer: ScheduledTimer) {
        guard state.openTracks.contains(.conservativeManagement), let visit = state.latestTask(.reassessmentVisit),
              visit.isOpen
        else { return }
        issue(
            .reassessmentOverdue, priority: .urgent, indicator: .warning,
            summary: "Reassessment visit not completed by day \(ruleset.reassessmentWindowEndDay) of conservative care: see the patient now.",
            detail: """
                The reassessment visit due between day \(ruleset.reassessmentWindowStartDay) and day \
                \(ruleset.reassessmentWindowEndDay) of conservative care is **\(visit.status.rawValue)**, not completed. \
                Reassess the response to treatment. Completed when the visit is completed.
                """,
            rationale: [RationaleFact("reassessmentVisitStatus", visit.status.rawValue, timer.id),
                        RationaleFact("conservativeCareDay", ruleset.reassessmentWindowEndDay, timer.id)],
            evidence: [EvidenceCatalog.reassess])
    }

    // MARK: Pain and augmentation

    mutating func painAssessed(eventId: String, before: Before) {
        if let review = state.open(.painReassessment), let latest = state.latestNRS, latest.eventId == eventId,
           latest.time >= review.authoredOn {
            changeTask(review, status: .completed)
            if let failure = conservativeFailure(), let start = state.conservativeCareStart,
               now >= start + .days(ruleset.augmentationReviewDay) {
                augmentation(trigger: "conservative failure at the day-\(ruleset.augmentationReviewDay) review", kind: .late, facts: failure)
            }
        }
        painManagement(before: before, eventId: eventId)
        guard state.openTracks.contains(.conservativeManagement), let latest = state.latestNRS, latest.eventId == eventId,
              let baseline = state.baselineNRS, baseline.eventId != eventId
        else { return }
        let nrs = latest.value.nrs, base = baseline.value.nrs
        if latest.value.onAnalgesics == true, nrs > base, nrs >= min(base + ruleset.worseningPainPoints, 10) {
            augmentation(trigger: "worsening pain despite analgesics", kind: .worseningPain, facts: [
                RationaleFact("nrs", nrs, eventId), RationaleFact("onAnalgesics", true, eventId),
                RationaleFact("baselineNRS", base, baseline.eventId),
            ])
        }
        if let start = state.conservativeCareStart, now >= start + .days(ruleset.augmentationReviewDay), let failure = conservativeFailure() {
            augmentation(trigger: "conservative failure after day \(ruleset.augmentationReviewDay)", kind: .late, facts: failure)
        }
    }

    /// Conservative failure: an NRS recorded within the last 14 days is above
    /// the threshold and fewer than the required points below the baseline.
    private func conservativeFailure() -> [RationaleFact]? {
        guard let latest = state.latestNRS, let baseline = state.baselineNRS,
              latest.time <= now, now - latest.time <= .days(ruleset.painRecencyDays),
              latest.value.nrs > ruleset.failureMinNRS, latest.value.nrs > baseline.value.nrs - ruleset.failureImprovementPoints
        else { return nil }
        return [RationaleFact("nrs", latest.value.nrs, latest.eventId), RationaleFact("baselineNRS", baseline.value.nrs, baseline.eventId)]
    }

    mutating func augmentationReview(_ timer: ScheduledTimer) {
        guard state.openTracks.contains(.conservativeManagement), state.activeRecommendation[.vertebralAugmentationEvaluation] == nil
        else { return }
        if let failure = conservativeFailure() {
            augmentation(trigger: "conservative failure at the day-\(ruleset.augmentationReviewDay) review", kind: .late,
                         facts: failure + [RationaleFact("conservativeCareDay", ruleset.augmentationReviewDay, timer.id)])
        } else if state.latestNRS.map({ now - $0.time > .days(ruleset.painRecencyDays) }) ?? true,
                  let cm = state.active(.conservativeManagement), state.isFragilityFracture {
            requestTask(.painReassessment, priority: .routine, basedOn: cm,
                        description: "Record a pain score (NRS): the day-\(ruleset.augmentationReviewDay) review of conservative care needs one from the last \(ruleset.painRecencyDays) days.")
        }
    }

    mutating func pulmonaryDysfunction(_ vitals: Vitals, eventId: String) {
        var facts: [RationaleFact] = []
        if vitals.pulmonaryDysfunction == true { facts.append(RationaleFact("pulmonaryDysfunction", true, eventId)) }
        if let fvc = vitals.fvcPercentPredicted, fvc < ruleset.pulmonaryFVCBelowPercent {
            facts.append(RationaleFact("fvcPercentPredicted", fvc, eventId))
        }
        guard !facts.isEmpty else { return }
        augmentation(trigger: "pulmonary dysfunction", kind: .pulmonary, facts: facts)
    }

    enum AugmentationTrigger { case late, worseningPain, deformity, pulmonary }

    /// `VERTEBRAL_AUGMENTATION_EVALUATION`: a fragility fracture, not chronic, no
    /// deficit in the episode, conservative care open.
    mutating func augmentation(trigger: String, kind: AugmentationTrigger, facts: [RationaleFact]) {
        guard state.openTracks.contains(.conservativeManagement), state.isFragilityFracture, !state.isChronic,
              state.deficitInEpisode == nil, state.activeRecommendation[.vertebralAugmentationEvaluation] == nil
        else { return }
        let urgent = kind == .deformity || kind == .pulmonary
        var rationale = facts
        if let mechanism = state.mechanism { rationale.append(RationaleFact("mechanism", mechanism.value.rawValue, mechanism.eventId)) }
        let evidence: Evidence = switch kind {
        case .late: EvidenceCatalog.augmentationLate
        case .worseningPain: EvidenceCatalog.augmentationWorseningPain
        case .deformity, .pulmonary: EvidenceCatalog.augmentationEarly
        }
        guard let rec = issue(
            .vertebralAugmentationEvaluation, priority: urgent ? .urgent : .routine, indicator: urgent ? .warning : .info,
            summary: "Consider vertebroplasty or kyphoplasty: \(trigger). Refer for interventional spine evaluation.",
            detail: """
                Conservative care of this fragility fracture meets an augmentation criterion: **\(trigger)**. Refer for \
                an interventional spine evaluation of vertebroplasty or balloon kyphoplasty\
                \(kind == .worseningPain ? ", after repeat imaging to look for a new fracture, collapse, infection or tumour" : "").

                Caveats: a 2018 Cochrane review was not able to support vertebroplasty for acute to subacute \
                osteoporotic fractures, and AAOS 2010 recommends against vertebroplasty for neurologically intact \
                patients; weigh this with the patient.
                """,
            rationale: rationale,
            evidence: (kind == .deformity || kind == .pulmonary ? [evidence, EvidenceCatalog.doNotDelayIntervention] : [evidence])
                + [EvidenceCatalog.cochrane, EvidenceCatalog.aaosVertebroplasty])
        else { return }
        if kind == .worseningPain {
            requestTask(.repeatSpineImaging, priority: rec.priority, basedOn: rec,
                        description: "Repeat spine imaging first: a new fracture, collapse, infection or tumour.")
        }
        requestTask(.interventionalSpineConsult, priority: rec.priority, basedOn: rec,
                    description: "Interventional spine consultation: evaluate for vertebroplasty or balloon kyphoplasty.")
    }

    // MARK: PATHWAY_RESOLVED

    /// The latest NRS at or below the threshold, recorded at or after day 28,
    /// the reassessment visit completed, and no safety card active.
    mutating func pathwayResolution() {
        guard state.openTracks.contains(.conservativeManagement), let cmId = state.activeRecommendation[.conservativeManagement],
              let start = state.conservativeCareStart,
              let latest = state.latestNRS, latest.value.nrs <= ruleset.resolvedMaxNRS,
              latest.time >= start + .days(ruleset.resolutionEarliestDay),
              let visit = state.latestTask(.reassessmentVisit), visit.status == .completed, visit.basedOn == cmId,
              !CardLifecycle.safetyCards.contains(where: { state.activeRecommendation[$0] != nil })
        else { return }
        let day = Self.day(of: latest.time, since: start)
        let reason = "pathway resolved"
        // Open recovering before closing conservative care, so the state moves in one step.
        openTrack(.recovering, reason: "\(RecommendationCode.pathwayResolved.rawValue) issued (\(cause))")
        end(.pathwayResolved, reason: "\(reason) (\(cause))")
        closeTrack(.conservativeManagement, reason: "\(reason) (\(cause))")
        for code: TaskCode in [.braceForComfort, .physicalTherapy, .calcitoninCourse] {
            if let task = state.open(code) { changeTask(task, status: .cancelled, reason: reason) }
        }
        cancelTimers([.reassessmentOverdue, .day90Review, .calcitoninWindowEnd], reason: reason)
        issue(
            .pathwayResolved, priority: .routine, indicator: .info,
            summary: "Pain resolved (NRS \(latest.value.nrs)) on day \(day) of conservative care, reassessment done: pathway resolved.",
            detail: """
                Pain is **NRS \(latest.value.nrs)** on day \(day) of conservative care and the reassessment visit is \
                completed. Brace, physical therapy and calcitonin stop; analgesia, osteoporosis treatment and the \
                metabolic workup continue.
                """,
            rationale: [RationaleFact("nrs", latest.value.nrs, latest.eventId), RationaleFact("conservativeCareDay", day, latest.eventId),
                        RationaleFact("reassessmentVisit", TaskStatus.completed.rawValue, visit.id)],
            evidence: [EvidenceCatalog.naturalHistory, EvidenceCatalog.reassess])
    }
}
