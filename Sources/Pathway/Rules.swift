import CarepathJSON

/// The clinical rules of PATHWAY.md sections 3, 4 and 8, applied to one
/// input event or timer.
///
/// Rules run most acute first, so that when one event triggers several,
/// their outputs come in a fixed, clinically sensible order.
extension DecisionContext {
    // MARK: Entry points

    /// Records an accepted input event and applies every rule it names.
    mutating func apply(_ input: InputEvent, actingAt: Timestamp) {
        begin(cause: input.id, at: actingAt)
        emit(.clinicalEventRecorded(input, actingAt: actingAt))
        syncState(reason: "first event of the patient (\(input.type.rawValue) \(input.id))")
        let id = input.id
        switch input.data {
        case .patientPresented(let p):
            spinalPrecautions(p, eventId: id)
            pathologicWorkup(triggeredBy: id)
            mriOnPresentation(eventId: id)
        case .imagingResulted(let imaging):
            instability(imaging: imaging, eventId: id)
            infectionWorkup(imaging, eventId: id)
            if imaging.findings.suspiciousForMalignancy == true { pathologicWorkup(triggeredBy: id) }
            imagingResulted(imaging, eventId: id)
            progressiveDeformity(imaging, eventId: id)
        case .neuroExamined(let exam):
            spinalCordInjury(exam, eventId: id)
            neurologicalDeficit(exam, eventId: id)
            instabilityByTLICS(eventId: id)
        case .vitalsRecorded(let vitals):
            meanArterialPressure(vitals, eventId: id)
            pulmonaryDysfunction(vitals, eventId: id)
        case .painAssessed(let pain):
            painAssessed(pain, eventId: id)
        case .biopsyResulted(let biopsy):
            biopsyResulted(biopsy, eventId: id)
        case .taskUpdated(let update):
            taskUpdated(update)
        case .spineCleared:
            if state.cervicalCleared, state.thoracolumbarCleared, let task = state.open(.spinalPrecautions) {
                changeTask(task, status: .completed)
            }
        case .medicationChanged, .timerFired:
            break  // recorded for the timeline; no rule of this ruleset uses them
        }
        raiseImagingPriorityForRedFlags()
        conservativeManagement()
    }

    /// Fires a timer and applies what it checks.
    mutating func fire(_ timer: ScheduledTimer) {
        begin(cause: timer.id, at: max(state.clock ?? timer.dueAt, timer.dueAt))
        emit(.timerFired(timer))
        switch timer.code {
        case .reassessmentOverdue: reassessmentOverdue(timer)
        case .day90Review: augmentationReview(timer)
        case .mapWindowEnd: closeTrack(.criticalCare, reason: "the \(ruleset.mapWindowDays)-day MAP goal window ended (\(timer.id))")
        case .referralAcceptance, .referralCompletion: referralOverdue(timer)
        }
        conservativeManagement()
    }

    // MARK: Trauma, spinal cord injury, neurology

    private mutating func spinalPrecautions(_ p: Presentation, eventId: String) {
        guard p.mechanism == .highEnergyTrauma, !(state.cervicalCleared && state.thoracolumbarCleared) else { return }
        guard let rec = issue(
            .spinalPrecautions, priority: .urgent, indicator: .warning,
            summary: "High-energy trauma: keep cervical and thoracolumbar spinal precautions until both are cleared.",
            detail: """
                The fracture followed **high-energy trauma**. Keep the patient in both cervical and thoracolumbar \
                spinal precautions until each is clinically cleared; carepath completes the precautions task when \
                `spine.cleared` reports both.
                """,
            rationale: [RationaleFact("mechanism", Mechanism.highEnergyTrauma.rawValue, eventId)],
            evidence: [EvidenceCatalog.precautions])
        else { return }
        requestTask(.spinalPrecautions, priority: .urgent, basedOn: rec,
                    description: "Maintain cervical and thoracolumbar spinal precautions until both are clinically cleared.")
    }

    private mutating func spinalCordInjury(_ exam: NeuroExam, eventId: String) {
        guard exam.spinalCordInjury == true else { return }
        let windowEnd = now + .days(ruleset.mapWindowDays)
        guard let rec = issue(
            .sciCriticalCareBundle, priority: .stat, indicator: .critical,
            summary: "Spinal cord injury: ICU admission, arterial and central lines, airway assessment, MAP > \(Self.mmHg(ruleset.mapGoalMmHg)) for \(ruleset.mapWindowDays) days.",
            detail: """
                The neurological exam reports a **spinal cord injury**. Start the critical care bundle: ICU admission, \
                arterial and central lines, airway assessment, spinal precautions, and vasopressors (norepinephrine or \
                dopamine) to keep the mean arterial pressure above \(Self.mmHg(ruleset.mapGoalMmHg)) mmHg until \
                \(windowEnd.rfc3339). Unopposed parasympathetic tone after SCI causes vasodilation and hypotension.
                """,
            rationale: [RationaleFact("spinalCordInjury", true, eventId)] + asiaFacts(exam, eventId),
            evidence: [EvidenceCatalog.sciBundle, EvidenceCatalog.mapGoal])
        else { return }
        for code: TaskCode in [.icuAdmission, .arterialLine, .centralLine, .airwayAssessment] {
            requestTask(code, priority: .stat, basedOn: rec, description: "\(code.display): spinal cord injury critical care bundle.")
        }
        requestTask(.mapGoalVasopressors, priority: .stat, basedOn: rec,
                    description: "Norepinephrine or dopamine to keep MAP above \(Self.mmHg(ruleset.mapGoalMmHg)) mmHg for \(ruleset.mapWindowDays) days after the injury.",
                    window: CareTask.Period(start: now, end: windowEnd))
        requestTask(.spinalPrecautions, priority: .stat, basedOn: rec,
                    description: "Maintain cervical and thoracolumbar spinal precautions until both are clinically cleared.")
        schedule(.mapWindowEnd, at: windowEnd)
    }

    private func asiaFacts(_ exam: NeuroExam, _ eventId: String) -> [RationaleFact] {
        var facts: [RationaleFact] = []
        if let grade = exam.asiaGrade { facts.append(RationaleFact("asiaGrade", grade.rawValue, eventId)) }
        if let status = exam.neuroStatus { facts.append(RationaleFact("neuroStatus", status.rawValue, eventId)) }
        return facts
    }

    private mutating func meanArterialPressure(_ vitals: Vitals, eventId: String) {
        guard let map = vitals.meanArterialPressure else { return }
        if map <= ruleset.mapGoalMmHg {
            guard state.openTracks.contains(.criticalCare), let sci = state.active(.sciCriticalCareBundle) else { return }
            issue(
                .mapBelowGoal, priority: .stat, indicator: .critical,
                summary: "MAP \(Self.mmHg(map)) mmHg is at or below the goal of > \(Self.mmHg(ruleset.mapGoalMmHg)) after spinal cord injury: titrate vasopressors.",
                detail: """
                    The mean arterial pressure is **\(Self.mmHg(map)) mmHg**, at or below the goal of more than \
                    \(Self.mmHg(ruleset.mapGoalMmHg)) mmHg that applies for \(ruleset.mapWindowDays) days after the spinal \
                    cord injury (since \(sci.issuedAt.rfc3339)). Titrate norepinephrine or dopamine. Withdrawn when a later \
                    MAP is above goal.
                    """,
                rationale: [RationaleFact("meanArterialPressure", map, eventId),
                            RationaleFact("spinalCordInjury", true, sci.causationEventId)],
                evidence: [EvidenceCatalog.mapGoal])
        } else if let below = state.active(.mapBelowGoal) {
            revise(below, status: .withdrawn, reason: "MAP \(Self.mmHg(map)) mmHg is above goal",
                   addingRationale: [RationaleFact("meanArterialPressure", map, eventId)])
        }
    }

    private mutating func neurologicalDeficit(_ exam: NeuroExam, eventId: String) {
        guard exam.finding == .deficit else { return }
        let facts = exam.deficitFacts
        let named = facts.map { $0.fact == "asiaGrade" || $0.fact == "neuroStatus" ? "\($0.fact) \($0.value)" : $0.fact }
        guard let rec = issue(
            .urgentSurgicalReferral, priority: .stat, indicator: .critical,
            summary: "Neurological deficit (\(named.prefix(2).joined(separator: ", "))): immediate spine surgery referral; do not delay.",
            detail: """
                The exam shows a **neurological deficit** (\(named.joined(separator: ", "))). Refer immediately to spine \
                surgery: delay can lead to permanent neurological damage, and surgery should be performed as soon as \
                possible once deficits are identified. The consult must be accepted within \
                \(ruleset.referralAcceptanceHours) h and completed within \(ruleset.referralCompletionHours) h.
                """,
            rationale: facts.map { f in
                RationaleFact(fact: f.fact, value: f.value == "true" ? .bool(true) : .string(f.value), eventId: eventId)
            },
            evidence: [EvidenceCatalog.neuroReferral, EvidenceCatalog.doNotDelayReferral, EvidenceCatalog.surgeryIndications])
        else { return }
        requestTask(.spineSurgeryConsult, priority: .stat, basedOn: rec,
                    description: "Immediate spine surgery consultation for a neurological deficit.")
    }

    private mutating func referralOverdue(_ timer: ScheduledTimer) {
        guard let consult = state.open(.spineSurgeryConsult) ?? latestTask(.spineSurgeryConsult),
              consult.priority == .stat, consult.status != .completed
        else { return }
        let accepted: Set<TaskStatus> = [.accepted, .inProgress, .completed]
        if timer.code == .referralAcceptance, accepted.contains(consult.status) { return }
        let hours = timer.code == .referralAcceptance ? ruleset.referralAcceptanceHours : ruleset.referralCompletionHours
        let what = timer.code == .referralAcceptance ? "accepted" : "completed"
        issueReferralOverdue(
            summary: "Stat spine surgery consult not \(what) within \(hours) h: escalate the referral now.",
            finding: "was not \(what) within \(hours) hours of the stat request",
            rationale: [RationaleFact("consultStatus", consult.status.rawValue, timer.id),
                        RationaleFact("hoursSinceStatRequest", hours, timer.id)])
    }

    private mutating func issueReferralOverdue(summary: String, finding: String, rationale: [RationaleFact]) {
        issue(
            .referralOverdue, priority: .stat, indicator: .critical, summary: summary,
            detail: """
                The stat spine surgery consultation for a neurological deficit \(finding). Escalate the referral: \
                delay can lead to permanent neurological damage. Withdrawn when the consult is completed.
                """,
            rationale: rationale,
            evidence: [EvidenceCatalog.doNotDelayReferral])
    }

    // MARK: Instability

    private mutating func instability(imaging: ImagingResult, eventId: String) {
        var facts: [RationaleFact] = []
        if imaging.findings.unstable == true { facts.append(RationaleFact("unstable", true, eventId)) }
        if imaging.findings.cordCompression == .significant {
            facts.append(RationaleFact("cordCompression", CordCompression.significant.rawValue, eventId))
        }
        if facts.isEmpty {
            instabilityByTLICS(eventId: eventId)
        } else {
            issueInstability(facts: facts + tlicsFacts())
        }
    }

    /// TLICS ≥ threshold issues the consult on the event that first brings it there.
    private mutating func instabilityByTLICS(eventId: String) {
        guard let score = state.tlics, score >= ruleset.tlicsOperativeMin, state.activeRecommendation[.surgicalConsultInstability] == nil
        else { return }
        issueInstability(facts: tlicsFacts())
    }

    private func tlicsFacts() -> [RationaleFact] {
        guard let score = state.tlics, let m = state.morphology, let plc = state.ligaments, let exam = state.latestExam else { return [] }
        return [RationaleFact("tlics", score, exam.eventId),
                RationaleFact("morphology", m.value.rawValue, m.eventId),
                RationaleFact("posteriorLigamentousComplex", plc.value.rawValue, plc.eventId),
                RationaleFact("neuroStatus", exam.value.neuroStatus?.rawValue ?? "intact", exam.eventId)]
    }

    private mutating func issueInstability(facts: [RationaleFact]) {
        let reasons = facts.compactMap { f -> String? in
            switch f.fact {
            case "unstable": "unstable fracture"
            case "cordCompression": "significant cord compression"
            case "tlics": "TLICS \(state.tlics ?? 0)"
            default: nil
            }
        }
        guard let rec = issue(
            .surgicalConsultInstability, priority: .urgent, indicator: .warning,
            summary: "Spinal instability (\(reasons.joined(separator: ", "))): urgent spine surgery consultation.",
            detail: """
                Imaging and exam indicate **spinal instability** (\(reasons.joined(separator: ", "))). Request an urgent \
                spine surgery consultation: surgical decompression and stabilisation is indicated for fractures \
                complicated by instability or significant cord compression. TLICS: \(state.tlics.map(String.init) ?? "not yet scorable") \
                (≤ 3 non-operative, 4 either, ≥ \(ruleset.tlicsOperativeMin) operative).
                """,
            rationale: facts,
            evidence: [EvidenceCatalog.instability, EvidenceCatalog.surgeryIndications, EvidenceCatalog.tlics,
                       EvidenceCatalog.stabilityGoals])
        else { return }
        requestTask(.spineSurgeryConsult, priority: .urgent, basedOn: rec,
                    description: "Urgent spine surgery consultation for spinal instability.")
    }

    // MARK: Pathologic fracture, infection, oncology

    private mutating func pathologicWorkup(triggeredBy eventId: String) {
        guard state.activeRecommendation[.pathologicFractureWorkup] == nil else { return }
        var facts: [RationaleFact] = []
        let pathologicFlags: Set<String> = ["knownMalignancy", "unexplainedWeightLoss", "constitutionalSymptoms", "suspiciousForMalignancy"]
        for flag in state.observedRedFlags where pathologicFlags.contains(flag.fact) && flag.eventId == eventId {
            facts.append(RationaleFact(flag.fact, true, flag.eventId))
        }
        if let p = state.presentation, p.ageYears < ruleset.pathologicAgeBelow, p.mechanism.isFragility,
           let presented = state.presentationEventId, presented == eventId {
            facts.append(RationaleFact("ageYears", p.ageYears, presented))
            facts.append(RationaleFact("mechanism", p.mechanism.rawValue, presented))
        }
        guard !facts.isEmpty else { return }
        let names = facts.map(\.fact).filter { $0 != "mechanism" }.map { $0 == "ageYears" ? "age < \(ruleset.pathologicAgeBelow) with a fragility fracture" : Self.words($0) }
        guard let rec = issue(
            .pathologicFractureWorkup, priority: .urgent, indicator: .warning,
            summary: "Possible pathologic fracture (\(names.joined(separator: ", "))): multidisciplinary evaluation, contrast MRI, biopsy.",
            detail: """
                A **pathologic fracture** is suspected (\(names.joined(separator: ", "))). Arrange a multidisciplinary \
                evaluation, a complete spine MRI with IV contrast and a vertebral biopsy. Do not overlook pathologic \
                fractures in patients with risk factors for malignancy.
                """,
            rationale: facts,
            evidence: [EvidenceCatalog.pathologic, EvidenceCatalog.contrastMRI, EvidenceCatalog.overlookPathologic,
                       EvidenceCatalog.biopsyMetastatic])
        else { return }
        requestTask(.multidisciplinaryEvaluation, priority: .urgent, basedOn: rec,
                    description: "Multidisciplinary evaluation for a suspected pathologic vertebral fracture.")
        requestTask(.mriSpineWithContrast, priority: .urgent, basedOn: rec,
                    description: "Complete spine MRI with IV contrast to evaluate a suspected pathologic fracture.")
        requestTask(.vertebralBiopsy, priority: .urgent, basedOn: rec,
                    description: "Vertebral biopsy to establish whether the fracture is pathologic (malignancy or metastasis).")
    }

    private mutating func infectionWorkup(_ imaging: ImagingResult, eventId: String) {
        guard imaging.findings.discitisOsteomyelitis == true else { return }
        guard let rec = issue(
            .infectionWorkup, priority: .urgent, indicator: .warning,
            summary: "Imaging suggests discitis-osteomyelitis: biopsy, blood cultures and baseline ESR/CRP before targeted antibiotics.",
            detail: """
                Imaging reports **discitis-osteomyelitis**. Obtain blood cultures, baseline inflammatory markers (ESR, \
                CRP) and a vertebral biopsy for a microbial diagnosis; targeted IV antibiotics follow once an organism \
                is named.
                """,
            rationale: [RationaleFact("discitisOsteomyelitis", true, eventId)],
            evidence: [EvidenceCatalog.targetedAntibiotics, EvidenceCatalog.idsaWorkup])
        else { return }
        requestTask(.vertebralBiopsy, priority: .urgent, basedOn: rec,
                    description: "Image-guided vertebral biopsy for a microbial diagnosis of discitis-osteomyelitis.")
        requestTask(.bloodCultures, priority: .urgent, basedOn: rec, description: "Blood cultures for suspected vertebral osteomyelitis.")
        requestTask(.inflammatoryMarkers, priority: .urgent, basedOn: rec, description: "Baseline ESR and CRP for suspected vertebral osteomyelitis.")
    }

    private mutating func biopsyResulted(_ biopsy: BiopsyResult, eventId: String) {
        if let organism = biopsy.namedOrganism, state.openTracks.contains(.infectionWorkup),
           state.activeRecommendation[.targetedIVAntibiotics] == nil {
            let courseEnd = now + .days(ruleset.antibioticCourseDays)
            // Open antibiotic therapy before closing the workup, so the state moves in one step.
            openTrack(.antibioticTherapy, reason: "\(RecommendationCode.targetedIVAntibiotics.rawValue) issued (\(eventId))")
            closeTrack(.infectionWorkup, reason: "organism named (\(eventId))")
            if let rec = issue(
                .targetedIVAntibiotics, priority: .urgent, indicator: .warning,
                summary: "\(Self.short(organism, 40)) identified: start targeted IV antibiotics for 6-8 weeks; repeat ESR/CRP at 4-5 weeks.",
                detail: """
                    The \(biopsy.specimen.rawValue) result names **\(organism)**. Start pathogen-directed IV antibiotics \
                    for a 6-8 week course (until \(courseEnd.rfc3339)) and repeat inflammatory markers between day \
                    \(ruleset.markersFollowupStartDay) and day \(ruleset.markersFollowupEndDay) to judge the response.
                    """,
                rationale: [RationaleFact("organism", organism, eventId), RationaleFact("specimen", biopsy.specimen.rawValue, eventId)],
                evidence: [EvidenceCatalog.targetedAntibiotics, EvidenceCatalog.idsaCourse]) {
                requestTask(.ivAntibiotics, priority: .urgent, basedOn: rec,
                            description: "Targeted IV antibiotics for \(organism): a 6-8 week course (IDSA 2015: at least 6 weeks of pathogen-directed therapy).",
                            window: CareTask.Period(start: now, end: courseEnd))
                requestTask(.inflammatoryMarkersFollowup, priority: .routine, basedOn: rec,
                            description: "Repeat ESR and CRP to judge the response to antibiotics.",
                            window: CareTask.Period(start: now + .days(ruleset.markersFollowupStartDay),
                                                    end: now + .days(ruleset.markersFollowupEndDay)))
            }
        }
        if biopsy.histology == .malignant || biopsy.metastatic == true {
            var facts: [RationaleFact] = []
            if biopsy.histology == .malignant { facts.append(RationaleFact("histology", Histology.malignant.rawValue, eventId)) }
            if biopsy.metastatic == true { facts.append(RationaleFact("metastatic", true, eventId)) }
            if let rec = issue(
                .oncologyReferral, priority: .urgent, indicator: .warning,
                summary: "Biopsy shows \(biopsy.metastatic == true ? "metastatic disease" : "malignancy"): refer to oncology to treat the underlying cause.",
                detail: """
                    The \(biopsy.specimen.rawValue) biopsy shows **\(biopsy.metastatic == true ? "metastatic disease" : "malignancy")**. \
                    Refer to oncology: always treat the underlying cause of the fracture.
                    """,
                rationale: facts,
                evidence: [EvidenceCatalog.underlyingCause, EvidenceCatalog.biopsyMetastatic]) {
                requestTask(.oncologyReferral, priority: .urgent, basedOn: rec, description: "Oncology referral for a malignant or metastatic vertebral lesion.")
            }
        }
        if biopsy.histology == .benign, biopsy.metastatic != true {
            closeTrack(.pathologicWorkup, reason: "benign biopsy (\(eventId))")
        }
        let done: TaskCode = biopsy.specimen == .bloodCulture ? .bloodCultures : .vertebralBiopsy
        if let task = state.open(done) { changeTask(task, status: .completed) }
    }

    // MARK: Imaging

    private mutating func mriOnPresentation(eventId: String) {
        guard state.mriEventId == nil else { return }
        let flags = state.redFlags(ruleset)
        let urgent = !flags.isEmpty
        guard let rec = issue(
            .mriSpineWithoutContrast, priority: urgent ? .urgent : .routine, indicator: urgent ? .warning : .info,
            summary: urgent
                ? "MRI spine without contrast, urgently (red flag: \(Self.words(flags[0].fact))): characterise the fracture, exclude pathologic causes."
                : "MRI spine without contrast to characterise the fracture (acute or chronic) and exclude pathologic causes.",
            detail: """
                No MRI has been resulted. An MRI of the spine without IV contrast characterises the fracture (acute versus \
                chronic) and excludes pathologic causes.\(urgent ? " It is **urgent**: red flags are present (\(flags.map { Self.words($0.fact) }.joined(separator: ", ")))." : "")
                """,
            rationale: [RationaleFact("mriResulted", false, eventId)] + flags.map(\.rationale),
            evidence: [EvidenceCatalog.mri, EvidenceCatalog.mriAcuity])
        else { return }
        requestTask(.mriSpineWithoutContrast, priority: rec.priority, basedOn: rec,
                    description: "MRI of the spine without IV contrast to characterise the fracture and exclude pathologic causes.")
    }

    /// A red flag known after the MRI was requested raises it to urgent (PATHWAY.md section 4).
    private mutating func raiseImagingPriorityForRedFlags() {
        let flags = state.redFlags(ruleset)
        guard !flags.isEmpty, state.mriEventId == nil else { return }
        if let rec = state.active(.mriSpineWithoutContrast), rec.priority < .urgent {
            revise(rec, priority: .urgent, indicator: .warning, addingRationale: flags.map(\.rationale))
        }
        if let task = state.open(.mriSpineWithoutContrast), task.priority < .urgent {
            raiseTask(task, to: .urgent)
        }
    }

    private mutating func imagingResulted(_ imaging: ImagingResult, eventId: String) {
        guard imaging.modality == .mri else { return }
        if let task = state.open(.mriSpineWithoutContrast) { changeTask(task, status: .completed) }
        if imaging.isContrastMRI, let task = state.open(.mriSpineWithContrast) { changeTask(task, status: .completed) }
        closeTrack(.awaitingImaging, reason: "MRI resulted (\(eventId))")
    }

    // MARK: Conservative care

    /// Evaluated after every event and timer (PATHWAY.md section 3).
    mutating func conservativeManagement() {
        guard state.activeRecommendation[.conservativeManagement] == nil,
              let fracture = state.compressionFractureEventId, let mri = state.mriEventId,
              let exam = state.latestExam, exam.value.finding == .intact,
              !state.openTracks.contains(where: { $0.escalatesConservativeCare })
        else { return }
        let fragility = state.isFragilityFracture
        let identified = state.fractureIdentifiedAt ?? now
        let calcitoninEnd = identified + .days(ruleset.calcitoninWindowDays)
        let calcitonin = fragility && !state.isChronicOnMRI && now < calcitoninEnd
        var rationale = [RationaleFact("compressionFracture", true, fracture), RationaleFact("mriResulted", true, mri),
                         RationaleFact("latestExam", NeuroExam.Finding.intact.rawValue, exam.eventId)]
        if let presented = state.presentationEventId, let p = state.presentation {
            rationale.append(RationaleFact("mechanism", p.mechanism.rawValue, presented))
        }
        let reassessStart = now + .days(ruleset.reassessmentWindowStartDay)
        let reassessEnd = now + .days(ruleset.reassessmentWindowEndDay)
        guard let rec = issue(
            .conservativeManagement, priority: .routine, indicator: .info,
            summary: "Neurologically intact compression fracture: conservative care with analgesia, brace, PT; reassess at \(ruleset.reassessmentWindowStartDay / 7)-\(ruleset.reassessmentWindowEndDay / 7) weeks.",
            detail: """
                Compression fracture on imaging, MRI resulted, latest exam **intact**, and no acute track open. Start \
                conservative management: analgesia, a brace for comfort, physical therapy\(fragility ? ", osteoporosis treatment and a metabolic workup (fragility fracture)" : "")\
                \(calcitonin ? ", and calcitonin until \(calcitoninEnd.rfc3339) (first 4 weeks after fracture identification)" : ""). \
                Reassess between day \(ruleset.reassessmentWindowStartDay) and day \(ruleset.reassessmentWindowEndDay); most \
                patients improve over 2-12 weeks.
                """,
            rationale: rationale,
            evidence: [EvidenceCatalog.conservative, EvidenceCatalog.conservativeS0, EvidenceCatalog.bracing,
                       EvidenceCatalog.reassess] + (fragility ? [EvidenceCatalog.osteoporosis] : [])
                + (calcitonin ? [EvidenceCatalog.calcitonin, EvidenceCatalog.aaosCalcitonin] : []))
        else { return }
        requestTask(.analgesia, priority: .routine, basedOn: rec, description: "Analgesics as needed for fracture pain.")
        requestTask(.braceForComfort, priority: .routine, basedOn: rec, description: "Brace for comfort and symptomatic relief.")
        requestTask(.physicalTherapy, priority: .routine, basedOn: rec, description: "Physical therapy to prevent deconditioning and maintain mobility.")
        requestTask(.reassessmentVisit, priority: .routine, basedOn: rec,
                    description: "Reassess the response to conservative treatment at 4-6 weeks.",
                    window: CareTask.Period(start: reassessStart, end: reassessEnd))
        if fragility {
            requestTask(.osteoporosisTreatment, priority: .routine, basedOn: rec,
                        description: "Initiate or optimise osteoporosis treatment: calcium and vitamin D plus a bisphosphonate.")
            requestTask(.metabolicWorkup, priority: .routine, basedOn: rec, description: "Screen for and address underlying metabolic bone abnormalities.")
            if calcitonin {
                requestTask(.calcitoninCourse, priority: .routine, basedOn: rec,
                            description: "Calcitonin for acute fracture pain during the first 4 weeks after fracture identification.",
                            window: CareTask.Period(start: now, end: calcitoninEnd))
            }
        }
        schedule(.reassessmentOverdue, at: reassessEnd)
        schedule(.day90Review, at: now + .days(ruleset.augmentationReviewDay))
    }

    private mutating func reassessmentOverdue(_ timer: ScheduledTimer) {
        guard state.openTracks.contains(.conservativeManagement), let visit = latestTask(.reassessmentVisit),
              visit.status != .completed
        else { return }
        issue(
            .reassessmentOverdue, priority: .urgent, indicator: .warning,
            summary: "Reassessment visit not completed by day \(ruleset.reassessmentWindowEndDay) of conservative care: see the patient now.",
            detail: """
                The reassessment visit due between day \(ruleset.reassessmentWindowStartDay) and day \
                \(ruleset.reassessmentWindowEndDay) of conservative care is **\(visit.status.rawValue)**, not completed. \
                Reassess the response to treatment. Withdrawn when the visit is completed.
                """,
            rationale: [RationaleFact("reassessmentVisitStatus", visit.status.rawValue, timer.id),
                        RationaleFact("conservativeCareDay", ruleset.reassessmentWindowEndDay, timer.id)],
            evidence: [EvidenceCatalog.reassess])
    }

    private mutating func painAssessed(_ pain: PainAssessment, eventId: String) {
        let pendingReview = state.open(.painReassessment)
        if let pendingReview { changeTask(pendingReview, status: .completed) }
        guard state.openTracks.contains(.conservativeManagement), let start = state.conservativeCareStart else { return }
        let day = Self.day(of: now, since: start)
        // Worsening pain despite analgesics (earlier escalation).
        if pain.onAnalgesics == true, let baseline = state.baselineNRS, pain.nrs >= baseline.value + ruleset.worseningPainPoints {
            augmentation(trigger: "worsening pain despite analgesics", facts: [
                RationaleFact("nrs", pain.nrs, eventId), RationaleFact("onAnalgesics", true, eventId),
                RationaleFact("baselineNRS", baseline.value, baseline.eventId),
            ], evidence: EvidenceCatalog.augmentationEarly)
        }
        // Conservative failure at or after the day-90 review.
        if day >= ruleset.augmentationReviewDay, let failure = conservativeFailure() {
            augmentation(trigger: "conservative failure at day \(day)", facts: failure + [RationaleFact("conservativeCareDay", day, eventId)],
                         evidence: EvidenceCatalog.augmentationLate)
        }
        // Resolution.
        if pain.nrs <= ruleset.resolvedMaxNRS, now >= start + .days(ruleset.resolutionEarliestDay) {
            resolvePathway(nrs: pain.nrs, day: day, eventId: eventId)
        }
    }

    /// Conservative failure: an NRS within the recency window is above the
    /// threshold and fewer than the required points below the baseline.
    private func conservativeFailure() -> [RationaleFact]? {
        guard let latest = state.latestNRS, let baseline = state.baselineNRS,
              now - latest.at <= .days(ruleset.painRecencyDays),
              latest.nrs > ruleset.failureMinNRS, latest.nrs > baseline.value - ruleset.failureImprovementPoints
        else { return nil }
        return [RationaleFact("nrs", latest.nrs, latest.eventId), RationaleFact("baselineNRS", baseline.value, baseline.eventId)]
    }

    private mutating func augmentationReview(_ timer: ScheduledTimer) {
        guard state.openTracks.contains(.conservativeManagement), state.isFragilityFracture, !state.isChronic,
              state.activeRecommendation[.vertebralAugmentationEvaluation] == nil
        else { return }
        if let failure = conservativeFailure() {
            augmentation(trigger: "conservative failure at the day-\(ruleset.augmentationReviewDay) review",
                         facts: failure + [RationaleFact("conservativeCareDay", ruleset.augmentationReviewDay, timer.id)],
                         evidence: EvidenceCatalog.augmentationLate)
        } else if state.latestNRS.map({ now - $0.at > .days(ruleset.painRecencyDays) }) ?? true,
                  let cm = state.active(.conservativeManagement) {
            requestTask(.painReassessment, priority: .routine, basedOn: cm,
                        description: "Record a pain score (NRS): the day-\(ruleset.augmentationReviewDay) review of conservative care needs one from the last \(ruleset.painRecencyDays) days.")
        }
    }

    private mutating func progressiveDeformity(_ imaging: ImagingResult, eventId: String) {
        let f = imaging.findings
        for level in (imaging.levels ?? state.presentation?.fractureLevels ?? []) {
            guard let first = state.firstMeasurements[level], first.eventId != eventId else { continue }
            if let now = f.heightLossPercent, let then = first.heightLossPercent, now - then >= ruleset.deformityHeightLossPoints {
                augmentation(trigger: "progressive deformity at \(level)", facts: [
                    RationaleFact("heightLossPercent", now, eventId), RationaleFact("firstHeightLossPercent", then, first.eventId),
                    RationaleFact("level", level, eventId),
                ], evidence: EvidenceCatalog.augmentationEarly)
                return
            }
            if let now = f.kyphosisDegrees, let then = first.kyphosisDegrees, now - then >= ruleset.deformityKyphosisDegrees {
                augmentation(trigger: "progressive deformity at \(level)", facts: [
                    RationaleFact("kyphosisDegrees", now, eventId), RationaleFact("firstKyphosisDegrees", then, first.eventId),
                    RationaleFact("level", level, eventId),
                ], evidence: EvidenceCatalog.augmentationEarly)
                return
            }
        }
    }

    private mutating func pulmonaryDysfunction(_ vitals: Vitals, eventId: String) {
        var facts: [RationaleFact] = []
        if vitals.pulmonaryDysfunction == true { facts.append(RationaleFact("pulmonaryDysfunction", true, eventId)) }
        if let fvc = vitals.fvcPercentPredicted, fvc < ruleset.pulmonaryFVCBelowPercent {
            facts.append(RationaleFact("fvcPercentPredicted", fvc, eventId))
        }
        guard !facts.isEmpty else { return }
        augmentation(trigger: "pulmonary dysfunction", facts: facts, evidence: EvidenceCatalog.augmentationEarly)
    }

    /// `VERTEBRAL_AUGMENTATION_EVALUATION`: fragility fracture, not chronic, conservative care open.
    private mutating func augmentation(trigger: String, facts: [RationaleFact], evidence: Evidence) {
        guard state.openTracks.contains(.conservativeManagement), state.isFragilityFracture, !state.isChronic,
              let start = state.conservativeCareStart, state.activeRecommendation[.vertebralAugmentationEvaluation] == nil
        else { return }
        let late = now >= start + .days(ruleset.augmentationReviewDay)
        var rationale = facts
        if let presented = state.presentationEventId, let p = state.presentation {
            rationale.append(RationaleFact("mechanism", p.mechanism.rawValue, presented))
        }
        guard let rec = issue(
            .vertebralAugmentationEvaluation, priority: late ? .routine : .urgent, indicator: late ? .info : .warning,
            summary: "Consider vertebroplasty or kyphoplasty: \(trigger). Refer for interventional spine evaluation.",
            detail: """
                Conservative care of this fragility fracture meets an augmentation criterion: **\(trigger)**. Refer for \
                an interventional spine evaluation of vertebroplasty or balloon kyphoplasty.

                Caveat: a 2018 Cochrane review was not able to support vertebroplasty for treating acute to subacute \
                osteoporotic vertebral fractures; weigh this with the patient.
                """,
            rationale: rationale,
            evidence: [evidence, EvidenceCatalog.doNotDelayIntervention, EvidenceCatalog.cochrane])
        else { return }
        requestTask(.interventionalSpineConsult, priority: rec.priority, basedOn: rec,
                    description: "Interventional spine consultation: evaluate for vertebroplasty or balloon kyphoplasty.")
    }

    private mutating func resolvePathway(nrs: Int, day: Int, eventId: String) {
        guard state.activeRecommendation[.pathwayResolved] == nil else { return }
        let reason = "pathway resolved"
        // Open recovering before closing conservative care, so the state moves in one step.
        openTrack(.recovering, reason: "\(RecommendationCode.pathwayResolved.rawValue) issued (\(eventId))")
        closeTrack(.conservativeManagement, reason: "\(reason) (\(eventId))")
        endConservativeCare(reason: reason, cancelling: Self.conservativeTasks)
        issue(
            .pathwayResolved, priority: .routine, indicator: .info,
            summary: "Pain resolved (NRS \(nrs)) on day \(day) of conservative care: pathway resolved; continue analgesia as needed and osteoporosis care.",
            detail: """
                Pain is **NRS \(nrs)** on day \(day) of conservative care (resolution counts from day \
                \(ruleset.resolutionEarliestDay)). The remaining conservative tasks are cancelled; analgesia and \
                osteoporosis treatment continue.
                """,
            rationale: [RationaleFact("nrs", nrs, eventId), RationaleFact("conservativeCareDay", day, eventId)],
            evidence: [EvidenceCatalog.naturalHistory])
    }

    // MARK: Downstream task updates

    private mutating func taskUpdated(_ update: TaskUpdate) {
        guard let task = state.tasks[update.taskId], task.status != update.status else { return }
        changeTask(task, status: update.status)
        let reason = "\(task.code.rawValue) \(update.status.rawValue) (\(cause))"
        switch (task.code, update.status) {
        case (.spineSurgeryConsult, .completed):
            closeTrack(.surgicalReferral, reason: reason)
            if let overdue = state.active(.referralOverdue) { revise(overdue, status: .withdrawn, reason: reason) }
            cancelTimers([.referralAcceptance, .referralCompletion], reason: reason)
        case (.spineSurgeryConsult, .accepted), (.spineSurgeryConsult, .inProgress):
            cancelTimers([.referralAcceptance], reason: reason)
        case (.spineSurgeryConsult, .rejected), (.spineSurgeryConsult, .cancelled), (.spineSurgeryConsult, .failed):
            guard task.priority == .stat else { break }
            issueReferralOverdue(
                summary: "Stat spine surgery consult was \(update.status.rawValue) downstream: re-refer now; do not delay.",
                finding: "was \(update.status.rawValue) by the task system",
                rationale: [RationaleFact("consultStatus", update.status.rawValue, cause)])
        case (.multidisciplinaryEvaluation, .completed):
            closeTrack(.pathologicWorkup, reason: reason)
        case (.ivAntibiotics, .completed):
            closeTrack(.antibioticTherapy, reason: reason)
        case (.interventionalSpineConsult, .completed):
            closeTrack(.augmentationEvaluation, reason: reason)
        case (.reassessmentVisit, .completed):
            if let overdue = state.active(.reassessmentOverdue) { revise(overdue, status: .withdrawn, reason: reason) }
            cancelTimers([.reassessmentOverdue], reason: reason)
        default:
            break
        }
    }

    // MARK: Helpers

    /// The most recent task of a code, open or not.
    private func latestTask(_ code: TaskCode) -> CareTask? {
        let n = state.taskRequests[code, default: 0]
        guard n > 0 else { return nil }
        return state.tasks[Identifiers.task(patientId: patientId, code: code, request: n)]
    }

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
