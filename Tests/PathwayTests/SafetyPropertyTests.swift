import CarepathJSON
import CarepathSimulation
import Pathway
import Testing

/// Clinical safety properties of contract version 3 over many small random
/// histories: exams that worsen and improve, imaging with any finding, biopsies
/// and cultures with any organism, MAPs and pain scores, downstream task
/// updates (completed, rejected, failed) and clearances, some charted late.
///
/// Each history is decided event by event on the pure Decider (no JSON), and
/// every property is checked after every event. A failing history is shrunk
/// (events removed one at a time while it still fails) and printed.
@Suite("Safety properties over random histories")
struct SafetyPropertyTests {
    /// 100,000 histories in the default run, in 8 slices that run in parallel.
    static let slices = Array(0..<8)
    static let historiesPerSlice = 12_500

    @Test("every property holds after every event of 100,000 random histories", arguments: slices)
    func safety(slice: Int) async {
        // Minutes of CPU in a debug build: off Swift's shared pool (see CPUBoundWork).
        let problem = await CPUBoundWork.run { () -> String? in
            for n in 0..<Self.historiesPerSlice {
                let seed = UInt64(slice * Self.historiesPerSlice + n) &* 0x9E37_79B9_7F4A_7C15 &+ 1
                let history = RandomHistory.generate(seed: seed)
                guard let failure = SafetyCheck.firstViolation(history) else { continue }
                let shrunk = SafetyCheck.shrink(history)
                let violation = SafetyCheck.firstViolation(shrunk) ?? failure
                return """
                    safety property violated (seed \(seed)): \(violation)
                    shrunk history (\(shrunk.count) of \(history.count) events):
                    \(shrunk.map(RandomHistory.describe).joined(separator: "\n"))
                    """
            }
            return nil
        }
        if let problem { Issue.record(Comment(rawValue: problem)) }
    }

    @Test("the random histories reach the stories the properties are about")
    func generatorCoverage() async {
        let reached = await CPUBoundWork.run(Self.storiesReached)
        print("safety generator coverage over 2,000 histories:", reached.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        for story in ["worsening", "conflict", "CONSERVATIVE_MANAGEMENT", "INFECTION_WORKUP", "EMPIRIC_IV_ANTIBIOTICS",
                      "TARGETED_IV_ANTIBIOTICS", "SPECIALIST_ANTIMICROBIAL_THERAPY", "BLOOD_CULTURE_CONFIRMATION",
                      "SCI_CRITICAL_CARE_BUNDLE", "PATHOLOGIC_FRACTURE_WORKUP", "REFERRAL_OVERDUE", "CONFLICTING_RESULT_REVIEW",
                      "VERTEBRAL_AUGMENTATION_EVALUATION", "ended completed", "ended superseded", "ended withdrawn"] {
            #expect(reached[story, default: 0] >= 10, "only \(reached[story, default: 0]) of 2,000 histories reach \(story)")
        }
    }

    /// How many of 2,000 random histories reach each story (a code issued,
    /// a card ended, a worsening exam, a conflict).
    @Sendable static func storiesReached() -> [String: Int] {
        var reached: [String: Int] = [:]
        for n in 0..<2_000 {
            let history = RandomHistory.generate(seed: UInt64(n) &* 0x9E37_79B9_7F4A_7C15 &+ 1)
            var state = PatientState.initial(patientId: "R")
            var seen = Set<String>()
            for e in history {
                let previous = state.latestExam
                let decision = Pathway.decide(.apply(e), evolving: &state)
                if case .accepted = decision, case .neuroExamined(let exam) = e.data, state.latestExam?.eventId == e.id,
                   DecisionContextProbe.isWorsening(exam, against: previous?.value) { seen.insert("worsening") }
                if case .conflicting = decision { seen.insert("conflict") }
                for d in decision.events {
                    if case .recommendationIssued(let r) = d.payload { seen.insert(r.code.rawValue) }
                    if case .recommendationRevised(let r) = d.payload, r.status != .active { seen.insert("ended \(r.status.rawValue)") }
                }
            }
            for s in seen { reached[s, default: 0] += 1 }
        }
        return reached
    }

    @Test("the checker finds a planted violation and shrinks it to the events that matter")
    func checkerCatchesPlantedViolation() {
        // A history whose deficit is followed by no referral cannot be produced by
        // the pathway, so plant one in the checker's view: a state that says
        // "deficit in the episode" with the referral card removed.
        let history = [
            RandomHistory.event(0, .patientPresented(Presentation(ageYears: 70, mechanism: .lowEnergy, fractureLevels: ["L1"]))),
            RandomHistory.event(1, .painAssessed(PainAssessment(nrs: 5))),
            RandomHistory.event(2, .neuroExamined(NeuroExam(motorDeficit: true))),
        ]
        let violation = SafetyCheck.firstViolation(history, dropping: .urgentSurgicalReferral)
        #expect(violation?.contains("no active or completed URGENT_SURGICAL_REFERRAL") == true)
        let shrunk = SafetyCheck.shrink(history, dropping: .urgentSurgicalReferral)
        #expect(shrunk.count == 1)
        #expect(shrunk.first?.type == .neuroExamined)
    }
}

/// Random histories of one patient, one event at a time.
enum RandomHistory {
    static let t0 = Timestamp(rfc3339: "2026-03-02T08:00:00Z")!

    static func event(_ hour: Int, _ data: InputData, id: String? = nil) -> InputEvent {
        let id = id ?? "R-\(hour)-\(data.type.rawValue)"
        return InputEvent(id: id, source: "urn:test", subject: "R", time: t0 + .hours(hour), data: data, fingerprint: id)
    }

    static func generate(seed: UInt64) -> [InputEvent] {
        var rng = SplitMix64(seed: seed)
        var state = PatientState.initial(patientId: "R")
        var events: [InputEvent] = []
        var hour = 0
        let count = rng.int(in: 3...12)
        // One history in three is a calm osteoporotic course (intact exams, stable
        // imaging, no biopsies), so conservative care, augmentation and resolution are reached.
        let calm = rng.chance(0.33)
        let organisms = ["Staphylococcus aureus", "Staphylococcus epidermidis", "coagulase-negative staphylococcus",
                         "Mycobacterium tuberculosis", "Brucella melitensis", "Escherichia coli", "no growth",
                         "Cutibacterium acnes", "Gram-negative rods", "Candida albicans"]
        for i in 0..<count {
            hour += rng.weighted([(1, 4), (6, 3), (30, 2), (24 * 20, 1)])
            // One event in eight is charted late: its clinical time is earlier than the last.
            let at = rng.chance(0.125) && hour > 3 ? hour - rng.int(in: 1...3) : hour
            let data: InputData
            switch rng.weighted([(0, 2), (1, 4), (2, calm ? 2 : 5), (3, calm ? 5 : 3), (4, 3), (5, calm ? 0 : 2), (6, 4), (7, 1)]) {
            case 0:
                data = .patientPresented(Presentation(
                    ageYears: calm ? rng.pick([70, 82]) : rng.pick([35, 45, 70, 82]),
                    mechanism: calm ? .lowEnergy : rng.pick(Mechanism.allCases), fractureLevels: ["L1"],
                    history: MedicalHistory(knownMalignancy: !calm && rng.chance(0.1), osteoporosis: rng.chance(0.3),
                                            immunosuppressed: !calm && rng.chance(0.1), injectionDrugUse: !calm && rng.chance(0.1)),
                    fever: !calm && rng.chance(0.2)))
            case 1:
                data = .imagingResulted(ImagingResult(
                    modality: rng.pick(Modality.allCases), contrast: rng.chance(0.3) ? .with : .none,
                    region: rng.chance(0.2) ? .wholeSpine : .lumbar, levels: [rng.chance(0.8) ? "L1" : "T12"],
                    findings: ImagingFindings(
                        compressionFracture: rng.chance(0.8), acuity: rng.pick(Acuity.allCases),
                        heightLossPercent: Double(rng.int(in: 10...50)), kyphosisDegrees: Double(rng.int(in: 0...25)),
                        morphology: calm ? .compression : rng.pick(Morphology.allCases),
                        posteriorLigamentousComplex: calm ? .intact : rng.pick(LigamentStatus.allCases),
                        unstable: !calm && rng.chance(0.15), cordCompression: calm ? CordCompression.none : rng.pick(CordCompression.allCases),
                        suspiciousForMalignancy: !calm && rng.chance(0.1), discitisOsteomyelitis: !calm && rng.chance(0.1))))
            case 2:
                data = .neuroExamined(calm || rng.chance(0.45)
                    ? NeuroExam(motorDeficit: false, sensoryDeficit: false, bowelBladderDysfunction: false, spinalCordInjury: false,
                                asiaGrade: .E, neuroStatus: .intact)
                    : NeuroExam(motorDeficit: rng.chance(0.5), sensoryDeficit: rng.chance(0.4), bowelBladderDysfunction: rng.chance(0.2),
                                spinalCordInjury: rng.chance(0.1), asiaGrade: rng.chance(0.5) ? rng.pick(ASIAGrade.allCases) : nil,
                                neuroStatus: rng.chance(0.6) ? rng.pick(NeuroStatus.allCases) : nil))
            case 3:
                data = .painAssessed(PainAssessment(nrs: rng.int(in: 0...10), onAnalgesics: rng.chance(0.7)))
            case 4:
                data = .vitalsRecorded(Vitals(meanArterialPressure: Double(rng.pick([60, 64, 65, 80, 85, 86, 95])),
                                              fvcPercentPredicted: rng.chance(0.2) ? 60 : nil))
            case 5:
                data = .biopsyResulted(BiopsyResult(
                    specimen: rng.pick(Specimen.allCases), histology: rng.chance(0.6) ? rng.pick(Histology.allCases) : nil,
                    metastatic: rng.chance(0.1), organism: rng.chance(0.6) ? rng.pick(organisms) : nil))
            case 6:
                let open = state.openTask.values.sorted()
                guard let taskId = open.isEmpty ? nil : rng.pick(open) else { continue }
                data = .taskUpdated(TaskUpdate(taskId: taskId, status: rng.pick([.completed, .completed, .accepted, .rejected, .failed, .cancelled])))
            default:
                data = .spineCleared(SpineClearance(cervical: rng.chance(0.7), thoracolumbar: rng.chance(0.7)))
            }
            var e = event(at, data, id: "R-\(i)")
            // One event in twenty is a conflicting re-send of an earlier result: same id, other content.
            if rng.chance(0.05), InputType.clinicalResults.contains(e.type),
               let earlier = events.last(where: { $0.type == e.type && $0.fingerprint == $0.id }) {
                e.id = earlier.id
                e.fingerprint = earlier.id + "#conflict-\(i)"
            }
            events.append(e)
            _ = Pathway.decide(.apply(e), evolving: &state)
        }
        return events
    }

    static func describe(_ e: InputEvent) -> String {
        var w = JSONWriter()
        e.data.write(to: &w)
        return "\(e.id) \(e.time.rfc3339) \(e.type.rawValue) \(String(decoding: w.bytes, as: UTF8.self))"
    }
}

/// The properties of the issue, checked after every event.
enum SafetyCheck {
    static let acuteTracks: [Track] = [.criticalCare, .surgicalReferral, .infectionWorkup, .antibioticTherapy, .pathologicWorkup]

    /// The first violated property, or `nil`. `dropping` removes a code's cards
    /// from the checker's view (to test the checker itself).
    static func firstViolation(_ history: [InputEvent], dropping: RecommendationCode? = nil) -> String? {
        var state = PatientState.initial(patientId: "R")
        var cards: [String: Recommendation] = [:]
        for e in history {
            let previousExam = state.latestExam
            let decision = Pathway.decide(.apply(e), evolving: &state)
            for event in decision.events {
                switch event.payload {
                case .recommendationIssued(let r), .recommendationRevised(let r):
                    if r.code != dropping { cards[r.id] = r }
                case .taskRequested(let t) where state.notFragility != nil && e.id != state.notFragility?.eventId:
                    if t.code == .calcitoninCourse { return "\(e.id): calcitonin requested for a fracture shown \(state.notFragility!.value)" }
                    if t.code == .osteoporosisTreatment, !state.historyCallsForOsteoporosisCare {
                        return "\(e.id): bisphosphonate requested for a fracture shown \(state.notFragility!.value)"
                    }
                default: break
                }
            }
            let active = cards.values.filter { $0.status == .active }
            let applied = decision.events.contains { if case .clinicalEventRecorded = $0.payload { true } else { false } }
            // 1. Any deficit is followed by an active or completed referral in the same episode.
            if state.deficitInEpisode != nil,
               !cards.values.contains(where: { $0.code == .urgentSurgicalReferral && $0.episode == state.episode && ($0.status == .active || $0.status == .completed) }) {
                return "\(e.id): a deficit in episode \(state.episode) with no active or completed URGENT_SURGICAL_REFERRAL"
            }
            // 2. A worsening gets, at once, an active referral and an MRI (card, result, or the contrast MRI raised to stat).
            if applied, case .neuroExamined(let exam) = e.data, state.latestExam?.eventId == e.id,
               DecisionContextProbe.isWorsening(exam, against: previousExam?.value) {
                if !active.contains(where: { $0.code == .urgentSurgicalReferral }) {
                    return "\(e.id): a neurological worsening without an active URGENT_SURGICAL_REFERRAL"
                }
                let since = previousExam?.time ?? state.episodeStartedAt!
                let mri = active.contains { $0.code == .mriSpineWithoutContrast } || state.mriResulted(atOrAfter: since)
                    || state.open(.mriSpineWithContrast)?.priority == .stat
                if !mri { return "\(e.id): a neurological worsening without an MRI card or an MRI result since \(since.rfc3339)" }
            }
            // 3. Conservative care never beside an acute track.
            if active.contains(where: { $0.code == .conservativeManagement }), let open = acuteTracks.first(where: state.openTracks.contains) {
                return "\(e.id): CONSERVATIVE_MANAGEMENT active beside an open \(open.rawValue)"
            }
            // 4. No calcitonin or augmentation for a fracture shown malignant or infected.
            if let why = state.notFragility {
                if state.open(.calcitoninCourse) != nil { return "\(e.id): calcitonin-course open for a fracture shown \(why.value)" }
                if active.contains(where: { $0.code == .vertebralAugmentationEvaluation }) {
                    return "\(e.id): VERTEBRAL_AUGMENTATION_EVALUATION active for a fracture shown \(why.value)"
                }
            }
            // 5. Every open task is based on a recommendation.
            for id in state.openTask.values where state.recommendations[state.tasks[id]!.basedOn] == nil {
                return "\(e.id): open task \(id) is based on no recommendation"
            }
            // 6. Every ended card has a statusReason, and every card an episode.
            if let bad = cards.values.first(where: { $0.status != .active && ($0.statusReason ?? "").isEmpty }) {
                return "\(e.id): \(bad.code.rawValue) \(bad.status.rawValue) without a statusReason"
            }
        }
        return nil
    }

    /// Removes events one at a time while the history still fails.
    static func shrink(_ history: [InputEvent], dropping: RecommendationCode? = nil) -> [InputEvent] {
        var current = history
        var i = current.count - 1
        while i >= 0 {
            var candidate = current
            candidate.remove(at: i)
            if !candidate.isEmpty, firstViolation(candidate, dropping: dropping) != nil { current = candidate }
            i -= 1
        }
        return current
    }
}

/// The contract's definition of a worsening, written again here from PATHWAY.md
/// section 2 so the property does not trust the code it checks.
enum DecisionContextProbe {
    static func isWorsening(_ exam: NeuroExam, against previous: NeuroExam?) -> Bool {
        guard exam.finding == .deficit else { return false }
        guard let previous, previous.finding == .deficit else { return true }
        func newly(_ now: Bool?, _ then: Bool?) -> Bool { now == true && then != true }
        if newly(exam.motorDeficit, previous.motorDeficit) || newly(exam.sensoryDeficit, previous.sensoryDeficit)
            || newly(exam.bowelBladderDysfunction, previous.bowelBladderDysfunction)
            || newly(exam.spinalCordInjury, previous.spinalCordInjury) {
            return true
        }
        let grades: [ASIAGrade] = [.A, .B, .C, .D, .E]
        if let g = exam.asiaGrade, grades.firstIndex(of: g)! < grades.firstIndex(of: previous.asiaGrade ?? .E)! { return true }
        let rank: [NeuroStatus: Int] = [.intact: 0, .nerveRoot: 1, .caudaEquina: 2, .cordIncomplete: 2, .cordComplete: 3]
        if let s = exam.neuroStatus, rank[s]! > rank[previous.neuroStatus ?? .intact]! { return true }
        return false
    }
}
