import CarepathJSON

/// Neurology, spinal cord injury, precautions, instability and referral deadlines.
extension DecisionContext {
    mutating func neuroExamined(_ exam: NeuroExam, time: Timestamp, eventId: String, before: Before) {
        // The latest exam in clinical time; a late-charted older exam is not a worsening.
        let isLatest = state.latestExam?.eventId == eventId
        let previous = before.latestExam
        let worsening = isLatest && exam.finding == .deficit && Self.isWorsening(exam, against: previous?.value)
        if exam.finding == .deficit { urgentSurgicalReferral(exam, eventId: eventId, worsening: worsening) }
        if exam.isSpinalCordInjury, !state.issuedInEpisode(.sciCriticalCareBundle) || worsening {
            sciBundle(exam, time: time, eventId: eventId)
        }
        if exam.isSpinalCordInjury, !knew("spinalCordInjury", before), !knew("neuroStatus", before) {
            spinalPrecautions(trigger: "spinal cord injury", facts: sciFacts(exam, eventId))
        }
        instabilityByTLICS(eventId: eventId, before: before)
        if worsening {
            let since = previous?.time ?? state.episodeStartedAt ?? now
            if !state.mriResulted(atOrAfter: since) {
                mriCard(cause: "neurological worsening", needFrom: max(since, state.mriNeededFrom ?? since), worsening: true, eventId: eventId)
            }
        }
    }

    /// PATHWAY.md section 2, "A neurological worsening": against the previous exam in clinical time.
    static func isWorsening(_ exam: NeuroExam, against previous: NeuroExam?) -> Bool {
        guard exam.finding == .deficit else { return false }
        guard let previous, previous.finding == .deficit else { return true }
        if exam.motorDeficit == true, previous.motorDeficit != true { return true }
        if exam.sensoryDeficit == true, previous.sensoryDeficit != true { return true }
        if exam.bowelBladderDysfunction == true, previous.bowelBladderDysfunction != true { return true }
        if exam.spinalCordInjury == true, previous.spinalCordInjury != true { return true }
        if let grade = exam.asiaGrade, grade.rawValue < (previous.asiaGrade ?? .E).rawValue { return true }
        if let status = exam.neuroStatus, severity(status) > severity(previous.neuroStatus ?? .intact) { return true }
        return false
    }

    /// intact < nerve-root < cauda-equina = cord-incomplete < cord-complete.
    private static func severity(_ status: NeuroStatus) -> Int {
        switch status {
        case .intact: 0
        case .nerveRoot: 1
        case .caudaEquina, .cordIncomplete: 2
        case .cordComplete: 3
        }
    }

    /// An exam's findings in a clinician's words, most severe first.
    static func findings(_ exam: NeuroExam) -> [String] {
        var out: [String] = []
        switch exam.neuroStatus {
        case .cordComplete: out.append("complete spinal cord injury")
        case .cordIncomplete: out.append("incomplete spinal cord injury")
        case .caudaEquina: out.append("cauda equina")
        default: if exam.spinalCordInjury == true { out.append("spinal cord injury") }
        }
        if let grade = exam.asiaGrade, grade != .E { out.append("ASIA \(grade.rawValue)") }
        if exam.bowelBladderDysfunction == true { out.append("bowel/bladder dysfunction") }
        if exam.motorDeficit == true { out.append("motor deficit") }
        if exam.neuroStatus == .nerveRoot { out.append("nerve root deficit") }
        if exam.sensoryDeficit == true { out.append("sensory deficit") }
        if exam.neuroStatus != .cordComplete, exam.neuroStatus != .cordIncomplete, exam.spinalCordInjury == true,
           !out.contains("spinal cord injury") {
            out.insert("spinal cord injury", at: 0)
        }
        return out
    }

    private func deficitRationale(_ exam: NeuroExam, _ eventId: String) -> [RationaleFact] {
        exam.deficitFacts.map { f in RationaleFact(fact: f.fact, value: f.value == "true" ? .bool(true) : .string(f.value), eventId: eventId) }
    }

    /// The facts that make an exam an SCI, as the exam gave them: `spinalCordInjury`
    /// only when it was true (an SCI recognised from `neuroStatus` alone does not
    /// claim the field), then the ASIA grade and `neuroStatus`.
    private func sciFacts(_ exam: NeuroExam, _ eventId: String) -> [RationaleFact] {
        (exam.spinalCordInjury == true ? [RationaleFact("spinalCordInjury", true, eventId)] : []) + asiaFacts(exam, eventId)
    }

    private func asiaFacts(_ exam: NeuroExam, _ eventId: String) -> [RationaleFact] {
        var facts: [RationaleFact] = []
        if let grade = exam.asiaGrade { facts.append(RationaleFact("asiaGrade", grade.rawValue, eventId)) }
        if let status = exam.neuroStatus { facts.append(RationaleFact("neuroStatus", status.rawValue, eventId)) }
        return facts
    }

    // MARK: URGENT_SURGICAL_REFERRAL

    private mutating func urgentSurgicalReferral(_ exam: NeuroExam, eventId: String, worsening: Bool) {
        let named = Self.findings(exam)
        let list = named.joined(separator: ", ")
        let summary = "\(worsening && state.issuedInEpisode(.urgentSurgicalReferral) ? "Neurological worsening" : "Neurological deficit") (\(list)): immediate spine surgery referral; do not delay."
        if let active = state.active(.urgentSurgicalReferral) {
            guard worsening else { return }
            revise(active, summary: summary, addingRationale: deficitRationale(exam, eventId))
            requestTask(.spineSurgeryConsult, priority: .stat, basedOn: active,
                        description: "Immediate spine surgery consultation: neurological worsening (\(list)).")
            return
        }
        guard !state.issuedInEpisode(.urgentSurgicalReferral) || worsening else { return }
        guard let rec = issue(
            .urgentSurgicalReferral, priority: .stat, indicator: .critical, summary: summary,
            detail: """
                The exam shows a **neurological deficit** (\(list)). Refer immediately to spine surgery: delay can lead \
                to permanent neurological damage. The consult must be accepted within \(ruleset.referralAcceptanceHours) h \
                and completed within \(ruleset.referralCompletionHours) h of the stat request.
                """,
            rationale: deficitRationale(exam, eventId),
            evidence: [EvidenceCatalog.neuroReferral, EvidenceCatalog.doNotDelayReferral, EvidenceCatalog.surgeryIndications])
        else { return }
        requestTask(.spineSurgeryConsult, priority: .stat, basedOn: rec,
                    description: "Immediate spine surgery consultation for a neurological deficit (\(list)).")
    }

    // MARK: Spinal cord injury and MAP

    private mutating func sciBundle(_ exam: NeuroExam, time: Timestamp, eventId: String) {
        let windowEnd = time + .days(ruleset.mapWindowDays)
        let named = Self.findings(exam).joined(separator: ", ")
        let facts = sciFacts(exam, eventId)
        guard let rec = issue(
            .sciCriticalCareBundle, priority: .stat, indicator: .critical,
            summary: "Spinal cord injury (\(named)): ICU, arterial and central lines, airway, MAP > \(Self.mmHg(ruleset.mapGoalMmHg)) for \(ruleset.mapWindowDays) days.",
            detail: """
                The neurological exam shows a **spinal cord injury** (\(named)). Start the critical care bundle: ICU \
                admission, arterial and central lines, airway assessment, spinal precautions, and vasopressors \
                (norepinephrine or dopamine) to keep the mean arterial pressure above \(Self.mmHg(ruleset.mapGoalMmHg)) \
                mmHg until \(windowEnd.rfc3339).
                """,
            rationale: facts,
            evidence: [EvidenceCatalog.sciBundle, EvidenceCatalog.mapGoal])
        else { return }
        for code: TaskCode in [.icuAdmission, .arterialLine, .centralLine, .airwayAssessment] {
            requestTask(code, priority: .stat, basedOn: rec, description: "\(code.display): spinal cord injury critical care bundle.")
        }
        requestTask(.mapGoalVasopressors, priority: .stat, basedOn: rec,
                    description: "Norepinephrine or dopamine to keep MAP above \(Self.mmHg(ruleset.mapGoalMmHg)) mmHg for \(ruleset.mapWindowDays) days after the injury.",
                    window: CareTask.Period(start: time, end: windowEnd))
        requestTask(.spinalPrecautions, priority: .stat, basedOn: rec,
                    description: "Maintain cervical and thoracolumbar spinal precautions until both are clinically cleared.")
        cancelTimers([.mapWindowEnd], reason: "a new spinal cord injury bundle restarts the MAP window")
        schedule(.mapWindowEnd, at: windowEnd)
        meanArterialPressure(eventId: eventId)
    }

    /// The MAP window of the active bundle.
    private var mapWindow: CareTask.Period? {
        guard state.activeRecommendation[.sciCriticalCareBundle] != nil else { return nil }
        return state.latestTask(.mapGoalVasopressors)?.executionPeriod
    }

    mutating func vitalsRecorded(_ vitals: Vitals, eventId: String) {
        if vitals.meanArterialPressure != nil { meanArterialPressure(eventId: eventId) }
        pulmonaryDysfunction(vitals, eventId: eventId)
    }

    /// `MAP_BELOW_GOAL`: the latest MAP (clinical time) within the window.
    private mutating func meanArterialPressure(eventId: String) {
        guard let window = mapWindow,
              let latest = state.maps.last(where: { $0.time >= window.start && $0.time <= window.end })
        else { return }
        if latest.value <= ruleset.mapGoalMmHg {
            guard latest.eventId == eventId || state.active(.sciCriticalCareBundle)?.causationEventId == eventId,
                  let sci = state.active(.sciCriticalCareBundle)
            else { return }
            issue(
                .mapBelowGoal, priority: .stat, indicator: .critical,
                summary: "MAP \(Self.mmHg(latest.value)) mmHg is at or below the goal of > \(Self.mmHg(ruleset.mapGoalMmHg)) after spinal cord injury: titrate vasopressors.",
                detail: """
                    The latest mean arterial pressure is **\(Self.mmHg(latest.value)) mmHg**, at or below the goal of more \
                    than \(Self.mmHg(ruleset.mapGoalMmHg)) mmHg that applies until \(window.end.rfc3339). Titrate \
                    norepinephrine or dopamine. Withdrawn when a later MAP is above goal.
                    """,
                rationale: [RationaleFact("meanArterialPressure", latest.value, latest.eventId),
                            RationaleFact("spinalCordInjury", true, sci.causationEventId)],
                evidence: [EvidenceCatalog.mapGoal])
        } else if state.activeRecommendation[.mapBelowGoal] != nil {
            end(.mapAboveGoal, reason: "MAP \(Self.mmHg(latest.value)) mmHg is above goal (\(latest.eventId))")
        }
    }

    mutating func mapWindowEnded(_ timer: ScheduledTimer) {
        let reason = "the \(ruleset.mapWindowDays)-day MAP goal window ended (\(timer.id))"
        if let task = state.open(.mapGoalVasopressors) { changeTask(task, status: .cancelled, reason: "MAP window ended") }
        end(.mapWindowEnded, reason: reason)
        closeTrack(.criticalCare, reason: reason)
    }

    // MARK: Spinal precautions

    mutating func spinalPrecautions(trigger: String, facts: [RationaleFact]) {
        guard let rec = issue(
            .spinalPrecautions, priority: .urgent, indicator: .warning,
            summary: "Spinal precautions (\(trigger)): keep cervical and thoracolumbar precautions until both are cleared.",
            detail: """
                **\(trigger.prefix(1).uppercased() + trigger.dropFirst())**: keep the patient in both cervical and \
                thoracolumbar spinal precautions until each is clinically cleared. Physical therapy waits for clearance.
                """,
            rationale: facts,
            evidence: [EvidenceCatalog.precautions])
        else { return }
        requestTask(.spinalPrecautions, priority: .urgent, basedOn: rec,
                    description: "Maintain cervical and thoracolumbar spinal precautions until both are clinically cleared.")
    }

    mutating func spineCleared() {
        guard state.cervicalCleared, state.thoracolumbarCleared else { return }
        if let task = state.open(.spinalPrecautions) { changeTask(task, status: .completed) }
        end(.spineCleared, reason: "cervical and thoracolumbar spine cleared (\(cause))")
        physicalTherapyAfterClearance()
    }

    // MARK: Instability

    /// TLICS at the operative threshold issues the consult on the event that first brings it there.
    mutating func instabilityByTLICS(eventId: String, before: Before) {
        // Only the event that first brings the score to the threshold in the episode.
        guard let peak = state.highestTLICS, peak.eventId == eventId, peak.value >= ruleset.tlicsOperativeMin,
              (before.tlicsPeak ?? 0) < ruleset.tlicsOperativeMin
        else { return }
        spinalPrecautions(trigger: "TLICS \(peak.value)", facts: tlicsFacts())
        surgicalConsult(facts: tlicsFacts(), reasons: ["TLICS \(peak.value)"])
    }

    func tlicsFacts() -> [RationaleFact] {
        guard let score = state.tlicsScore, let exam = state.latestExam,
              let m = state.imaging.last(where: { $0.value.findings.morphology != nil }),
              let plc = state.imaging.last(where: { $0.value.findings.posteriorLigamentousComplex != nil })
        else { return [] }
        return [RationaleFact("tlics", score, exam.eventId),
                RationaleFact("morphology", m.value.findings.morphology!.rawValue, m.eventId),
                RationaleFact("posteriorLigamentousComplex", plc.value.findings.posteriorLigamentousComplex!.rawValue, plc.eventId),
                RationaleFact("neuroStatus", exam.value.neuroStatus?.rawValue ?? "intact", exam.eventId)]
    }

    /// `SURGICAL_CONSULT_INSTABILITY`: stat with an SCI or a deficit.
    mutating func surgicalConsult(facts: [RationaleFact], reasons: [String]) {
        let stat = state.deficitInEpisode != nil
        let compressionOnly = reasons == ["significant cord compression"]
        let what = compressionOnly ? "Significant spinal cord compression" : "Spinal instability (\(reasons.joined(separator: ", ")))"
        guard let rec = issue(
            .surgicalConsultInstability, priority: stat ? .stat : .urgent, indicator: stat ? .critical : .warning,
            summary: "\(what): \(stat ? "immediate" : "urgent") spine surgery consultation.",
            detail: """
                Imaging and exam show **\(reasons.joined(separator: ", "))**. Request \(stat ? "an immediate" : "an urgent") \
                spine surgery consultation: surgical decompression and stabilisation is indicated for fractures \
                complicated by instability or significant cord compression. TLICS: \(state.tlicsScore.map(String.init) ?? "not yet scorable") \
                (≤ 3 non-operative, 4 either, ≥ \(ruleset.tlicsOperativeMin) operative).
                """,
            rationale: facts.isEmpty ? [RationaleFact("instability", true, cause)] : facts,
            evidence: [compressionOnly ? EvidenceCatalog.surgeryIndications : EvidenceCatalog.instability,
                       EvidenceCatalog.surgeryIndications, EvidenceCatalog.tlics, EvidenceCatalog.stabilityGoals].uniqued())
        else { return }
        requestTask(.spineSurgeryConsult, priority: rec.priority, basedOn: rec,
                    description: "\(stat ? "Immediate" : "Urgent") spine surgery consultation: \(reasons.joined(separator: ", ")).")
    }

    /// Progressive deformity against the first imaging of the level in clinical time:
    /// augmentation for a fragility fracture, the surgeon for any other.
    mutating func progressiveDeformity(_ imaging: ImagingResult, time: Timestamp, eventId: String) {
        for level in imaging.levels ?? [] {
            let ofLevel = state.imaging.filter { ($0.value.levels ?? []).contains(level) }
            guard let first = ofLevel.first, first.eventId != eventId, let latest = ofLevel.last, latest.eventId == eventId else { continue }
            var facts: [RationaleFact] = []
            let f = imaging.findings, g = first.value.findings
            if let h = f.heightLossPercent, let h0 = g.heightLossPercent, h - h0 >= ruleset.deformityHeightLossPoints {
                facts = [RationaleFact("heightLossPercent", h, eventId), RationaleFact("firstHeightLossPercent", h0, first.eventId)]
            } else if let k = f.kyphosisDegrees, let k0 = g.kyphosisDegrees, k - k0 >= ruleset.deformityKyphosisDegrees {
                facts = [RationaleFact("kyphosisDegrees", k, eventId), RationaleFact("firstKyphosisDegrees", k0, first.eventId)]
            }
            guard !facts.isEmpty else { continue }
            facts.append(RationaleFact("level", level, eventId))
            if state.isFragilityFracture {
                augmentation(trigger: "progressive deformity at \(level)", kind: .deformity, facts: facts)
            } else {
                surgicalConsult(facts: facts, reasons: ["progressive deformity at \(level) of a fracture that is not a fragility fracture"])
            }
            return
        }
    }

    // MARK: REFERRAL_OVERDUE

    mutating func referralOverdue(_ timer: ScheduledTimer) {
        guard let consult = state.open(.spineSurgeryConsult) ?? state.latestTask(.spineSurgeryConsult), consult.status != .completed,
              let clock = state.referralClock
        else { return }
        let accepted: Set<TaskStatus> = [.accepted, .inProgress, .completed]
        let acceptance = timer.code == .referralAcceptance
        if acceptance, accepted.contains(consult.status) { return }
        let stat = clock.priority == .stat
        let hours = acceptance ? (stat ? ruleset.referralAcceptanceHours : ruleset.urgentReferralAcceptanceHours)
            : (stat ? ruleset.referralCompletionHours : ruleset.urgentReferralCompletionHours)
        let what = acceptance ? "accepted" : "completed"
        let kind = stat ? "stat" : "urgent"
        referralOverdueCard(
            stat: stat,
            summary: "\(kind.prefix(1).uppercased() + kind.dropFirst()) spine surgery consult not \(what) within \(hours) h of the \(kind) request: escalate now.",
            rationale: [RationaleFact("consultStatus", consult.status.rawValue, timer.id),
                        RationaleFact("hoursSince\(stat ? "Stat" : "Urgent")Request", hours, timer.id)])
    }

    /// Issues `REFERRAL_OVERDUE`, or revises the active one with the current breach.
    @discardableResult
    mutating func referralOverdueCard(stat: Bool, summary: String, rationale: [RationaleFact]) -> Recommendation? {
        let priority: Priority = stat ? .stat : .urgent
        if let active = state.active(.referralOverdue) {
            revise(active, priority: max(priority, active.priority), indicator: stat ? .critical : active.indicator,
                   summary: summary, addingRationale: rationale)
            return state.active(.referralOverdue)
        }
        return issue(
            .referralOverdue, priority: priority, indicator: stat ? .critical : .warning, summary: summary,
            detail: """
                The spine surgery consultation is past its deadline: \(summary) Escalate the referral: delay can lead to \
                permanent neurological damage. Completed when a consult is completed.
                """,
            rationale: rationale,
            evidence: [EvidenceCatalog.doNotDelayReferral])
    }

    /// A late acceptance of the consult an active `REFERRAL_OVERDUE` is about revises it with the current state.
    mutating func referralAccepted(_ consult: CareTask) {
        guard let active = state.active(.referralOverdue), let clock = state.referralClock else { return }
        let minutes = Int((now - clock.start).milliseconds / 60_000)
        let kind = clock.priority == .stat ? "stat" : "urgent"
        revise(active, summary: "Spine surgery consult accepted \(minutes / 60) h \(minutes % 60) min after the \(kind) request; not yet completed.",
               addingRationale: [RationaleFact("consultStatus", consult.status.rawValue, cause)])
    }

    /// A consult rejected, cancelled or failed downstream: `REFERRAL_OVERDUE` and a new consult of the same priority.
    mutating func consultEndedUncompleted(_ consult: CareTask, status: TaskStatus) {
        let stat = consult.priority == .stat
        guard let rec = referralOverdueCard(
            stat: stat,
            summary: "\(stat ? "Stat" : "Urgent") spine surgery consult \(status.rawValue) downstream: a new consult is requested; do not delay.",
            rationale: [RationaleFact("consultStatus", status.rawValue, cause)])
        else { return }
        requestTask(.spineSurgeryConsult, priority: consult.priority, basedOn: rec,
                    description: "Spine surgery consultation requested again: the previous request was \(status.rawValue) downstream.")
    }
}

extension Array where Element: Hashable {
    /// The elements in order, each once.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
