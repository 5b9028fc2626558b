import CarepathJSON

/// Pathologic fracture, spinal infection, antimicrobial therapy and oncology
/// (PATHWAY.md sections 2 and 4; IDSA 2015 for native vertebral osteomyelitis).
extension DecisionContext {
    // MARK: Facts

    /// Fever together with injection drug use or immunosuppression.
    var feverWithRisk: Bool {
        let h = state.presentation?.history
        return state.fever?.value == true && (h?.injectionDrugUse == true || h?.immunosuppressed == true)
    }

    /// Infection shown at the spine in the episode: imaging with discitis-osteomyelitis,
    /// or a vertebral-body or disc biopsy with histology infection or a named organism.
    var infectionShownAtSpine: PatientState.Timed<String>? {
        if let i = state.imaging.first(where: { $0.value.findings.discitisOsteomyelitis == true }) {
            return .init(value: "discitis-osteomyelitis on imaging", time: i.time, sequence: i.sequence, eventId: i.eventId)
        }
        if let b = state.spineBiopsies.first(where: { $0.value.histology == .infection || OrganismReading($0.value.organism).named != nil }) {
            return .init(value: "\(b.value.specimen.rawValue) biopsy", time: b.time, sequence: b.sequence, eventId: b.eventId)
        }
        return nil
    }

    /// Whether a blood culture's organism qualifies: not a possible contaminant,
    /// or one whose group another blood culture of the episode also grew.
    func qualifies(_ culture: PatientState.Timed<BiopsyResult>) -> Bool {
        let reading = OrganismReading(culture.value.organism)
        guard reading.named != nil else { return false }
        guard let group = reading.contaminantGroup else { return true }
        return state.bloodCultures.contains {
            $0.eventId != culture.eventId && OrganismReading($0.value.organism).contaminantGroup == group
        }
    }

    /// The qualifying organism therapy would treat, once infection is shown at
    /// the spine: the latest in clinical time.
    var therapyOrganism: (organism: String, reading: OrganismReading, eventId: String)? {
        guard !state.spineBiopsies.isEmpty || !state.bloodCultures.isEmpty, infectionShownAtSpine != nil else { return nil }
        var best: PatientState.Timed<BiopsyResult>?
        for b in state.spineBiopsies where OrganismReading(b.value.organism).named != nil {
            if best.map({ $0.precedes(b) }) ?? true { best = b }
        }
        for c in state.bloodCultures where qualifies(c) {
            if best.map({ $0.precedes(c) }) ?? true { best = c }
        }
        guard let best, let named = OrganismReading(best.value.organism).named else { return nil }
        return (named, OrganismReading(named), best.eventId)
    }

    /// A blood culture of the episode grew S. aureus, S. lugdunensis or Brucella.
    var biopsyNotNeeded: String? {
        state.bloodCultures.last { OrganismReading($0.value.organism).makesBiopsyUnnecessary }.flatMap { OrganismReading($0.value.organism).named }
    }

    /// Infection suspected and the patient septic or neurologically compromised.
    var empiricIndicated: Bool {
        guard state.activeRecommendation[.infectionWorkup] != nil else { return false }
        if let map = state.latestMAP, map.value < ruleset.sepsisMapMmHg { return true }
        return state.latestExam?.value.finding == .deficit
    }

    // MARK: PATHOLOGIC_FRACTURE_WORKUP

    /// Fires on the event that first makes one of its triggers true in the
    /// episode (at a new episode, the history's red flags again).
    mutating func pathologicWorkup(eventId: String, before: Before, episodeStart: Bool = false) {
        var facts: [RationaleFact] = []
        var names: [String] = []
        let history: [(String, Bool?)] = [
            ("knownMalignancy", state.presentation?.history?.knownMalignancy),
            ("unexplainedWeightLoss", state.presentation?.history?.unexplainedWeightLoss),
            ("constitutionalSymptoms", state.presentation?.history?.constitutionalSymptoms),
        ]
        for (fact, value) in history where value == true && (episodeStart || !knew(fact, before)) {
            facts.append(RationaleFact(fact, true, state.presentationEventId ?? eventId))
            names.append(Self.words(fact))
        }
        if let flag = state.observedRedFlags.first(where: { $0.fact == "suspiciousForMalignancy" }), flag.eventId == eventId {
            facts.append(RationaleFact("suspiciousForMalignancy", true, eventId))
            names.append("imaging suspicious for malignancy")
        }
        if let p = state.presentation, let presented = state.presentationEventId, p.ageYears < ruleset.pathologicAgeBelow,
           state.mechanism?.value != .highEnergyTrauma, presented == eventId || episodeStart,
           !state.issuedInEpisode(.pathologicFractureWorkup) {
            facts.append(RationaleFact("ageYears", p.ageYears, presented))
            names.append("age \(p.ageYears) < \(ruleset.pathologicAgeBelow) without high-energy trauma")
        }
        guard !facts.isEmpty, let rec = issue(
            .pathologicFractureWorkup, priority: .asap, indicator: .warning,
            summary: "Possible pathologic fracture (\(names.joined(separator: ", "))): multidisciplinary evaluation, whole-spine contrast MRI, biopsy.",
            detail: """
                A **pathologic fracture** is suspected (\(names.joined(separator: ", "))). Arrange an immediate \
                multidisciplinary evaluation, a complete spine MRI with IV contrast and a vertebral biopsy (histology).
                """,
            rationale: facts,
            evidence: [EvidenceCatalog.pathologic, EvidenceCatalog.contrastMRI, EvidenceCatalog.overlookPathologic,
                       EvidenceCatalog.biopsyMetastatic])
        else { return }
        requestTask(.multidisciplinaryEvaluation, priority: .asap, basedOn: rec,
                    description: "Multidisciplinary evaluation for a suspected pathologic vertebral fracture.")
        let wholeSpineDone = state.imaging.contains { $0.value.isContrastMRI && $0.value.region == .wholeSpine }
        if !wholeSpineDone {
            requestTask(.mriSpineWithContrast, priority: .asap, basedOn: rec,
                        description: "Complete (whole) spine MRI with IV contrast to evaluate a suspected pathologic fracture.")
            replacePlainMRI()
        }
        requestBiopsy(purpose: .histology, priority: .asap, basedOn: rec)
    }

    enum BiopsyPurpose { case histology, microbiology }

    /// `vertebral-biopsy` for histology, microbiology or both: a second purpose
    /// revises the open task's description so the specimen goes to both laboratories.
    mutating func requestBiopsy(purpose: BiopsyPurpose, priority: Priority, basedOn rec: Recommendation) {
        let histology = "Vertebral biopsy for histology (malignancy or metastasis)."
        let microbiology = "Image-guided vertebral biopsy for microbiology (culture) of suspected vertebral osteomyelitis."
        let both = "Vertebral biopsy for histology and microbiology: send the specimen to both pathology and microbiology."
        if let open = state.open(.vertebralBiopsy) {
            let has = Self.biopsyPurposes(open)
            if (purpose == .histology && !has.histology) || (purpose == .microbiology && !has.microbiology) {
                describeTask(open, as: both)
            }
            if let current = state.open(.vertebralBiopsy), priority > current.priority { raiseTask(current, to: priority) }
            return
        }
        requestTask(.vertebralBiopsy, priority: priority, basedOn: rec, description: purpose == .histology ? histology : microbiology)
    }

    static func biopsyPurposes(_ task: CareTask) -> (histology: Bool, microbiology: Bool) {
        (task.description.contains("histology"), task.description.contains("microbiology"))
    }

    /// A microbiology-only open biopsy is cancelled; one the pathologic workup also asked for stays, for histology only.
    mutating func dropMicrobiologyBiopsy(reason: String) {
        guard let open = state.open(.vertebralBiopsy) else { return }
        let has = Self.biopsyPurposes(open)
        guard has.microbiology else { return }
        if has.histology {
            describeTask(open, as: "Vertebral biopsy for histology only (malignancy or metastasis); microbiology \(reason).")
        } else {
            changeTask(open, status: .cancelled, reason: reason)
        }
    }

    // MARK: INFECTION_WORKUP

    mutating func infectionWorkup(trigger: String, facts: [RationaleFact]) {
        guard !state.openTracks.contains(.antibioticTherapy), let rec = issue(
            .infectionWorkup, priority: .urgent, indicator: .warning,
            summary: "Suspected spinal infection (\(trigger)): blood cultures, ESR/CRP, contrast MRI before targeted therapy.",
            detail: """
                Spinal infection is suspected: **\(trigger)**. Obtain blood cultures and baseline inflammatory markers \
                (ESR, CRP), an MRI with IV contrast, and a vertebral biopsy for a microbial diagnosis when imaging shows \
                discitis-osteomyelitis. Pathogen-directed therapy follows once an organism is named and the infection is \
                shown at the spine.
                """,
            rationale: facts,
            evidence: [EvidenceCatalog.idsaWorkup, EvidenceCatalog.targetedAntibiotics])
        else { return }
        if state.bloodCultures.isEmpty {
            requestTask(.bloodCultures, priority: .urgent, basedOn: rec, description: "Blood cultures for suspected spinal infection.")
        }
        requestTask(.inflammatoryMarkers, priority: .urgent, basedOn: rec, description: "Baseline ESR and CRP for suspected spinal infection.")
        if !state.imaging.contains(where: { $0.value.isContrastMRI }) {
            requestTask(.mriSpineWithContrast, priority: .urgent, basedOn: rec,
                        description: "MRI of the spine with IV contrast for suspected spinal infection.")
            replacePlainMRI()
        }
        requestInfectionBiopsy()
    }

    /// The workup's biopsy: when imaging shows discitis-osteomyelitis and no
    /// "biopsy not needed" organism grew in a blood culture.
    mutating func requestInfectionBiopsy() {
        guard let rec = state.active(.infectionWorkup),
              state.imaging.contains(where: { $0.value.findings.discitisOsteomyelitis == true }), biopsyNotNeeded == nil,
              !state.spineBiopsies.contains(where: { $0.value.histology == .infection || OrganismReading($0.value.organism).named != nil })
        else { return }
        requestBiopsy(purpose: .microbiology, priority: .urgent, basedOn: rec)
    }

    // MARK: Results

    mutating func biopsyResulted(_ biopsy: BiopsyResult, eventId: String, before: Before) {
        let reading = OrganismReading(biopsy.organism)
        let culture = biopsy.specimen == .bloodCulture
        // What the result completes comes first.
        if let task = state.open(culture ? .bloodCultures : .vertebralBiopsy) { changeTask(task, status: .completed) }
        if culture, state.activeRecommendation[.bloodCultureConfirmation] != nil {
            end(.repeatBloodCultureResulted, reason: "repeat blood culture resulted (\(eventId))")
        }
        if !culture, biopsy.histology == .benign || biopsy.histology == .infection, biopsy.metastatic != true {
            closeTrack(.pathologicWorkup, reason: "\(biopsy.histology!.rawValue) biopsy (\(eventId))")
        }
        infectionExcluded(eventId: eventId)
        // Then the rows, in the table's order.
        if culture, let group = reading.contaminantGroup,
           !state.bloodCultures.contains(where: { $0.eventId != eventId && OrganismReading($0.value.organism).contaminantGroup == group }) {
            bloodCultureConfirmation(reading.named!, group: group, eventId: eventId)
        } else if culture, reading.named != nil {
            infectionWorkup(trigger: "blood culture growing \(reading.named!)", facts: [
                RationaleFact("organism", reading.named!, eventId), RationaleFact("specimen", biopsy.specimen.rawValue, eventId)])
        } else if !culture, biopsy.histology == .infection || reading.named != nil {
            let what = reading.named.map { "biopsy growing \($0)" } ?? "biopsy showing infection"
            var facts = [RationaleFact("specimen", biopsy.specimen.rawValue, eventId)]
            if let named = reading.named { facts.append(RationaleFact("organism", named, eventId)) }
            if biopsy.histology == .infection { facts.append(RationaleFact("histology", Histology.infection.rawValue, eventId)) }
            infectionWorkup(trigger: what, facts: facts)
        }
        if !culture, biopsy.histology == .nondiagnostic, reading.named == nil, let rec = state.active(.infectionWorkup) {
            let nondiagnostic = state.spineBiopsies.filter { $0.value.histology == .nondiagnostic && OrganismReading($0.value.organism).named == nil }.count
            if nondiagnostic == 1 {
                revise(rec, summary: "Suspected spinal infection: first biopsy nondiagnostic; repeat the vertebral biopsy.",
                       addingRationale: [RationaleFact("histology", Histology.nondiagnostic.rawValue, eventId)])
                requestBiopsy(purpose: .microbiology, priority: .urgent, basedOn: rec)
            } else if nondiagnostic == 2 {
                revise(rec, summary: "Suspected spinal infection: two nondiagnostic biopsies; infectious diseases consultation.",
                       addingRationale: [RationaleFact("histology", Histology.nondiagnostic.rawValue, eventId)])
                requestTask(.infectiousDiseasesConsult, priority: .urgent, basedOn: rec,
                            description: "Infectious diseases consultation: two vertebral biopsies were nondiagnostic.")
            }
        }
        antimicrobialTherapy(before: before, eventId: eventId)
        if biopsyNotNeeded != nil, culture, reading.makesBiopsyUnnecessary {
            dropMicrobiologyBiopsy(reason: "not needed: \(reading.named!) bacteremia (IDSA 2015)")
        }
        if !culture, biopsy.histology == .malignant || biopsy.metastatic == true { oncologyReferral(biopsy, eventId: eventId) }
    }

    private mutating func bloodCultureConfirmation(_ organism: String, group: OrganismReading.ContaminantGroup, eventId: String) {
        guard let rec = issue(
            .bloodCultureConfirmation, priority: .routine, indicator: .info,
            summary: "Blood culture grew \(Self.short(organism, 40)), a possible contaminant: repeat blood cultures before treating.",
            detail: """
                A single blood culture grew **\(organism)** (\(group.rawValue)), which may be a skin contaminant. \
                Repeat the blood cultures to confirm before any treatment; a second culture growing the same group confirms it.
                """,
            rationale: [RationaleFact("organism", organism, eventId), RationaleFact("contaminantGroup", group.rawValue, eventId)],
            evidence: [EvidenceCatalog.idsaContaminant])
        else { return }
        requestTask(.bloodCultures, priority: .routine, basedOn: rec,
                    description: "Repeat blood cultures to confirm a possible contaminant (\(Self.short(organism, 60))) before treatment.")
    }

    /// `TARGETED_IV_ANTIBIOTICS` or `SPECIALIST_ANTIMICROBIAL_THERAPY`, on the
    /// event that brings the organism or shows the spine infected, whichever comes second.
    mutating func antimicrobialTherapy(before: Before, eventId: String) {
        guard !before.therapyIndicated, let therapy = therapyOrganism, !state.openTracks.contains(.antibioticTherapy),
              let shown = infectionShownAtSpine
        else { return }
        let code: RecommendationCode = therapy.reading.isSpecialist ? .specialistAntimicrobialTherapy : .targetedIVAntibiotics
        guard state.active(code) == nil, !endedNow.contains(code) else { return }
        if state.activeRecommendation[.infectionWorkup] == nil {
            infectionWorkup(trigger: "\(therapy.organism) with infection shown at the spine", facts: [
                RationaleFact("organism", therapy.organism, therapy.eventId), RationaleFact("infectionShownAtSpine", shown.value, shown.eventId)])
        }
        let facts = [RationaleFact("organism", therapy.organism, therapy.eventId),
                     RationaleFact("infectionShownAtSpine", shown.value, shown.eventId)]
        // Open therapy before the workup completes, so the state moves in one step.
        openTrack(.antibioticTherapy, reason: "\(code.rawValue) issued (\(eventId))")
        let started = "\(code == .targetedIVAntibiotics ? "targeted" : "specialist") therapy started (\(eventId))"
        if let empiric = state.open(.empiricIVAntibiotics) { changeTask(empiric, status: .cancelled, reason: "superseded: \(started)") }
        end(.therapyStarted, reason: started)
        let organism = Self.short(therapy.organism, 40)
        if code == .targetedIVAntibiotics {
            let courseEnd = now + .days(ruleset.antibioticCourseDays)
            guard let rec = issue(
                .targetedIVAntibiotics, priority: .urgent, indicator: .warning,
                summary: "\(organism) with spinal infection: targeted IV antibiotics for 6-8 weeks; repeat ESR/CRP at 4-5 weeks.",
                detail: """
                    **\(therapy.organism)** with infection shown at the spine (\(shown.value)). Start pathogen-directed IV \
                    antibiotics for 6-8 weeks (S0; IDSA 2015: 6 weeks for most), until \(courseEnd.rfc3339) at the latest, \
                    and repeat inflammatory markers between day \(ruleset.markersFollowupStartDay) and day \
                    \(ruleset.markersFollowupEndDay) to judge the response.
                    """,
                rationale: facts,
                evidence: [EvidenceCatalog.targetedAntibiotics, EvidenceCatalog.idsaCourse])
            else { return }
            requestTask(.ivAntibiotics, priority: .urgent, basedOn: rec,
                        description: "Targeted IV antibiotics for \(organism): 6-8 weeks (S0); IDSA 2015: 6 weeks for most.",
                        window: CareTask.Period(start: now, end: courseEnd))
            requestTask(.inflammatoryMarkersFollowup, priority: .routine, basedOn: rec,
                        description: "Repeat ESR and CRP to judge the response to antibiotics.",
                        window: CareTask.Period(start: now + .days(ruleset.markersFollowupStartDay), end: now + .days(ruleset.markersFollowupEndDay)))
        } else {
            guard let rec = issue(
                .specialistAntimicrobialTherapy, priority: .urgent, indicator: .warning,
                summary: "\(organism) spinal infection: infectious diseases-led multidrug therapy over months, not a 6-8-week IV course.",
                detail: """
                    **\(therapy.organism)** with infection shown at the spine (\(shown.value)). Tuberculosis, brucellosis, \
                    fungi, Nocardia and Actinomyces need multidrug therapy over months directed by infectious diseases; \
                    the 6-week rule for pyogenic vertebral osteomyelitis does not apply.
                    """,
                rationale: facts,
                evidence: [EvidenceCatalog.idsaSpecialist])
            else { return }
            requestTask(.infectiousDiseasesConsult, priority: .urgent, basedOn: rec,
                        description: "Infectious diseases consultation to direct therapy for \(organism).")
            requestTask(.antimicrobialTherapy, priority: .urgent, basedOn: rec,
                        description: "Multidrug antimicrobial therapy over months for \(organism), directed by infectious diseases; no 6-8-week IV course.")
        }
        if let named = biopsyNotNeeded {
            dropMicrobiologyBiopsy(reason: "not needed: \(named) bacteremia (IDSA 2015)")
        }
    }

    /// `EMPIRIC_IV_ANTIBIOTICS`: on whichever event first makes infection suspected
    /// and the patient septic or neurologically compromised together.
    mutating func empiricAntibiotics(_ before: Before) {
        guard empiricIndicated, !before.empiricIndicated, let workup = state.active(.infectionWorkup) else { return }
        var facts: [RationaleFact] = []
        var why: [String] = []
        if let map = state.latestMAP, map.value < ruleset.sepsisMapMmHg {
            facts.append(RationaleFact("meanArterialPressure", map.value, map.eventId))
            why.append("MAP \(Self.mmHg(map.value)) mmHg")
        }
        if let exam = state.latestExam, exam.value.finding == .deficit {
            facts.append(RationaleFact("latestExam", NeuroExam.Finding.deficit.rawValue, exam.eventId))
            why.append("neurological deficit (\(Self.findings(exam.value).joined(separator: ", ")))")
        }
        facts.append(RationaleFact("infectionSuspected", true, workup.causationEventId))
        guard let rec = issue(
            .empiricIVAntibiotics, priority: .stat, indicator: .critical,
            summary: "Suspected spinal infection with \(why.joined(separator: " and ")): blood cultures, then empiric IV antibiotics now.",
            detail: """
                Spinal infection is suspected and the patient is **\(why.joined(separator: " and "))**. Draw blood cultures \
                and start empiric IV antibiotics without waiting for a biopsy.
                """,
            rationale: facts,
            evidence: [EvidenceCatalog.idsaEmpiric])
        else { return }
        if !state.bloodCultures.contains(where: { $0.time >= workup.issuedAt }) || state.open(.bloodCultures) != nil {
            requestTask(.bloodCultures, priority: .stat, basedOn: rec, description: "Blood cultures now, before empiric antibiotics.")
        }
        requestTask(.empiricIVAntibiotics, priority: .stat, basedOn: rec,
                    description: "Empiric IV antibiotics: start once blood cultures are drawn; do not wait for a biopsy.")
    }

    /// Infection excluded: the latest blood culture and the latest contrast MRI
    /// since the card's issue show no organism and no discitis-osteomyelitis,
    /// and no biopsy showed infection.
    mutating func infectionExcluded(eventId: String) {
        guard let workup = state.active(.infectionWorkup),
              let culture = state.bloodCultures.last(where: { $0.time >= workup.issuedAt }),
              let mri = state.imaging.last(where: { $0.value.isContrastMRI && $0.time >= workup.issuedAt }),
              (culture.eventId == eventId || mri.eventId == eventId),
              OrganismReading(culture.value.organism).named == nil, mri.value.findings.discitisOsteomyelitis != true,
              !state.spineBiopsies.contains(where: { $0.value.histology == .infection || OrganismReading($0.value.organism).named != nil })
        else { return }
        let reason = "infection excluded: blood culture \(culture.eventId) without growth and contrast MRI \(mri.eventId) without discitis-osteomyelitis"
        for code: TaskCode in [.empiricIVAntibiotics, .inflammatoryMarkers] {
            if let task = state.open(code) { changeTask(task, status: .cancelled, reason: reason) }
        }
        dropMicrobiologyBiopsy(reason: reason)
        end(.infectionExcluded, reason: reason)
    }

    // MARK: ONCOLOGY_REFERRAL

    private mutating func oncologyReferral(_ biopsy: BiopsyResult, eventId: String) {
        var facts: [RationaleFact] = []
        if biopsy.histology == .malignant { facts.append(RationaleFact("histology", Histology.malignant.rawValue, eventId)) }
        if biopsy.metastatic == true { facts.append(RationaleFact("metastatic", true, eventId)) }
        let what = biopsy.metastatic == true ? "metastatic disease" : "malignancy"
        guard let rec = issue(
            .oncologyReferral, priority: .urgent, indicator: .warning,
            summary: "Biopsy shows \(what): refer to oncology to treat the underlying cause; not a fragility fracture.",
            detail: """
                The \(biopsy.specimen.rawValue) biopsy shows **\(what)**. Refer to oncology: always treat the underlying \
                cause of the fracture. The fracture is no longer treated as a fragility fracture.
                """,
            rationale: facts,
            evidence: [EvidenceCatalog.underlyingCause, EvidenceCatalog.biopsyMetastatic])
        else { return }
        requestTask(.oncologyReferral, priority: .urgent, basedOn: rec, description: "Oncology referral for a malignant or metastatic vertebral lesion.")
    }

    // MARK: CONFLICTING_RESULT_REVIEW

    mutating func conflictingResultReview(_ conflict: ResultConflict) {
        let fields = conflict.fields.joined(separator: ", ")
        let description = "Review \(conflict.type.rawValue) \(conflict.id) from \(conflict.source): a re-send under the same id differs in \(fields); the first version stands. Send any correction under a new id."
        let summary = "Conflicting \(conflict.type.rawValue) result \(Self.short(conflict.id, 32)) (\(Self.short(fields, 40))): review which is correct."
        let facts = [RationaleFact("conflictingResult", conflict.id, conflict.id), RationaleFact("differingFields", fields, conflict.id)]
        if let active = state.active(.conflictingResultReview) {
            revise(active, summary: summary, addingRationale: facts)
            if let task = state.open(.resultReview) { describeTask(task, as: description) }
            return
        }
        guard let rec = issue(
            .conflictingResultReview, priority: .urgent, indicator: .warning, summary: summary,
            detail: """
                A clinical result was sent again under its id **\(conflict.id)** (\(conflict.source)) with other content \
                (\(fields)). carepath keeps the first version and dead-letters the new one; a clinician must check which \
                is correct. A correction is a new event with a new id.
                """,
            rationale: facts,
            evidence: [EvidenceCatalog.resultReview])
        else { return }
        requestTask(.resultReview, priority: .urgent, basedOn: rec, description: description)
    }
}
