/// A patient's pathway aggregate: nothing but the fold of its domain events.
///
/// ``initial(patientId:)`` and ``evolve(_:_:)`` are the two halves of the
/// Decider that do not decide; ``Pathway/decide(_:_:ruleset:)`` is the third.
public struct PatientState: Sendable, Hashable {
    public let patientId: String
    /// The number of domain events folded so far.
    public private(set) var version = 0
    /// The patient's clock: the latest acting time applied so far.
    public private(set) var clock: Timestamp?
    /// `nil` before the patient's first event.
    public private(set) var state: PathwayState?
    public private(set) var openTracks = TrackSet()

    /// Accepted inputs: their `source` and `id` → fingerprint.
    public private(set) var received: [InputReceipt: String] = [:]

    // Presentation (the latest `patient.presented` updates it).
    public private(set) var presentation: Presentation?
    public private(set) var presentationEventId: String?
    public private(set) var firstPresentedAt: Timestamp?

    // Imaging.
    /// The first imaging that showed a compression fracture, else the presentation.
    public private(set) var fractureIdentifiedAt: Timestamp?
    public private(set) var fractureIdentifiedByImaging = false
    public private(set) var compressionFractureEventId: String?
    public private(set) var mriEventId: String?
    public private(set) var latestMRIAcuity: Acuity?
    public private(set) var latestAcuity: Acuity?
    public private(set) var morphology: Sourced<Morphology>?
    public private(set) var ligaments: Sourced<LigamentStatus>?
    /// The first measurements seen for each vertebral level.
    public private(set) var firstMeasurements: [String: LevelMeasurement] = [:]

    // Neurology.
    public private(set) var latestExam: Sourced<NeuroExam>?
    public private(set) var tlics: Int?

    // Pain.
    public private(set) var baselineNRS: Sourced<Int>?
    public private(set) var latestNRS: PainReading?

    // Spine clearance.
    public private(set) var cervicalCleared = false
    public private(set) var thoracolumbarCleared = false

    /// Threshold-free red flags known so far, in the order they became known;
    /// ``redFlags(_:)`` adds those that depend on the ruleset.
    public private(set) var observedRedFlags: [RedFlag] = []
    /// The highest TLICS reached so far, and the event that reached it.
    public private(set) var highestTLICS: Sourced<Int>?

    // Resources.
    public private(set) var recommendations: [String: Recommendation] = [:]
    public private(set) var activeRecommendation: [RecommendationCode: String] = [:]
    public private(set) var issuances: [RecommendationCode: Int] = [:]
    public private(set) var tasks: [String: CareTask] = [:]
    public private(set) var openTask: [TaskCode: String] = [:]
    public private(set) var taskRequests: [TaskCode: Int] = [:]

    // Timers.
    /// Timers not yet fired or cancelled, by id, with the version that scheduled them.
    public private(set) var pendingTimers: [String: PendingTimer] = [:]
    public private(set) var timersScheduled: [TimerCode: Int] = [:]

    // Clocks derived from recommendations.
    /// When the latest `CONSERVATIVE_MANAGEMENT` was issued ("day 0" of conservative care).
    public private(set) var conservativeCareStart: Timestamp?
    /// When the current stat spine surgery consult was requested.
    public private(set) var statConsultRequestedAt: Timestamp?

    /// The measurements of one vertebral level on its first imaging.
    public struct LevelMeasurement: Sendable, Hashable {
        public var heightLossPercent: Double?
        public var kyphosisDegrees: Double?
        public var eventId: String
    }

    /// A value and the event that established it.
    public struct Sourced<Value: Sendable & Hashable>: Sendable, Hashable {
        public var value: Value
        public var eventId: String
    }

    /// An NRS reading and when it acted.
    public struct PainReading: Sendable, Hashable {
        public var nrs: Int
        public var onAnalgesics: Bool
        public var at: Timestamp
        public var eventId: String
    }

    /// A fact that makes the MRI urgent.
    public struct RedFlag: Sendable, Hashable {
        public var fact: String
        public var value: String
        public var eventId: String
    }

    /// A timer waiting to fire.
    public struct PendingTimer: Sendable, Hashable {
        public var timer: ScheduledTimer
        /// The stream version of its `TimerScheduled` event: timers due together fire in this order.
        public var scheduledAtVersion: Int
    }

    /// The state of a patient with no events.
    public static func initial(patientId: String) -> PatientState { PatientState(patientId: patientId) }

    private init(patientId: String) { self.patientId = patientId }

    /// Folds one more domain event into a state.
    public static func evolve(_ state: PatientState, _ event: DomainEvent) -> PatientState {
        var next = state
        next.apply(event)
        return next
    }

    /// Folds a stream.
    public static func fold(patientId: String, _ events: some Sequence<DomainEvent>) -> PatientState {
        var state = PatientState.initial(patientId: patientId)
        for event in events { state.apply(event) }
        return state
    }

    /// Folds one domain event in place.
    public mutating func apply(_ event: DomainEvent) {
        version = event.version
        switch event.payload {
        case .clinicalEventRecorded(let input, let actingAt):
            if received.isEmpty { received.reserveCapacity(16) }  // grown once, not rehashed at 1, 2, 4, 8
            received[InputReceipt(input)] = input.fingerprint
            clock = max(clock ?? actingAt, actingAt)
            record(input, actingAt: actingAt)
        case .stateChanged(_, let to, _):
            state = to
        case .trackOpened(let track, _):
            openTracks.insert(track)
        case .trackClosed(let track, _):
            openTracks.remove(track)
        case .recommendationIssued(let rec), .recommendationRevised(let rec):
            recommendations[rec.id] = rec
            if rec.status == .active {
                activeRecommendation[rec.code] = rec.id
            } else if activeRecommendation[rec.code] == rec.id {
                activeRecommendation[rec.code] = nil
            }
            if rec.revision == 1 {
                issuances[rec.code, default: 0] += 1
                if rec.code == .conservativeManagement { conservativeCareStart = rec.issuedAt }
            }
        case .taskRequested(let task), .taskChanged(let task):
            let previous = tasks.updateValue(task, forKey: task.id)
            if task.version == 1 { taskRequests[task.code, default: 0] += 1 }
            if task.isOpen {
                openTask[task.code] = task.id
            } else if openTask[task.code] == task.id {
                openTask[task.code] = nil
            }
            if task.code == .spineSurgeryConsult, task.priority == .stat, previous?.priority != .stat {
                statConsultRequestedAt = task.lastModified
            }
        case .timerScheduled(let timer):
            pendingTimers[timer.id] = PendingTimer(timer: timer, scheduledAtVersion: event.version)
            timersScheduled[timer.code, default: 0] += 1
        case .timerFired(let timer):
            pendingTimers[timer.id] = nil
            clock = max(clock ?? timer.dueAt, timer.dueAt)
        case .timerCancelled(let timer, _):
            pendingTimers[timer.id] = nil
        }
    }

    /// What identifies an input for deduplication: its `source` and its `id`
    /// (PATHWAY.md section 2). Kept as the input's own two strings, so a
    /// receipt costs no new string.
    public struct InputReceipt: Sendable, Hashable {
        public var source: String
        public var id: String

        public init(source: String, id: String) {
            self.source = source
            self.id = id
        }

        init(_ input: InputEvent) { self.init(source: input.source, id: input.id) }
    }

    private mutating func record(_ input: InputEvent, actingAt: Timestamp) {
        let id = input.id
        switch input.data {
        case .patientPresented(let p):
            presentation = Self.merge(presentation, p)
            presentationEventId = id
            if firstPresentedAt == nil { firstPresentedAt = actingAt }
            if fractureIdentifiedAt == nil { fractureIdentifiedAt = actingAt }
            let h = p.history
            if h?.knownMalignancy == true { flag("knownMalignancy", "true", id) }
            if h?.unexplainedWeightLoss == true { flag("unexplainedWeightLoss", "true", id) }
            if h?.constitutionalSymptoms == true { flag("constitutionalSymptoms", "true", id) }
            if p.fever == true { flag("fever", "true", id) }
            if h?.injectionDrugUse == true { flag("injectionDrugUse", "true", id) }
            if h?.immunosuppressed == true { flag("immunosuppressed", "true", id) }
        case .imagingResulted(let i):
            let f = i.findings
            if f.compressionFracture == true {
                if compressionFractureEventId == nil { compressionFractureEventId = id }
                if !fractureIdentifiedByImaging {
                    fractureIdentifiedByImaging = true
                    fractureIdentifiedAt = actingAt
                }
            }
            if i.modality == .mri {
                mriEventId = id
                if let acuity = f.acuity { latestMRIAcuity = acuity }
            }
            if let acuity = f.acuity { latestAcuity = acuity }
            if let m = f.morphology { morphology = Sourced(value: m, eventId: id) }
            if let plc = f.posteriorLigamentousComplex { ligaments = Sourced(value: plc, eventId: id) }
            for level in i.levels ?? presentation?.fractureLevels ?? [] {
                var first = firstMeasurements[level] ?? LevelMeasurement(eventId: id)
                if first.heightLossPercent == nil { first.heightLossPercent = f.heightLossPercent }
                if first.kyphosisDegrees == nil { first.kyphosisDegrees = f.kyphosisDegrees }
                firstMeasurements[level] = first
            }
            if f.suspiciousForMalignancy == true { flag("suspiciousForMalignancy", "true", id) }
            if f.unstable == true { flag("unstable", "true", id) }
            if f.cordCompression == .significant { flag("cordCompression", "significant", id) }
            if f.discitisOsteomyelitis == true { flag("discitisOsteomyelitis", "true", id) }
            updateTLICS(eventId: id)
        case .neuroExamined(let exam):
            latestExam = Sourced(value: exam, eventId: id)
            if exam.finding == .deficit { flag("neuroExam", "deficit", id) }
            updateTLICS(eventId: id)
        case .painAssessed(let pain):
            if baselineNRS == nil { baselineNRS = Sourced(value: pain.nrs, eventId: id) }
            latestNRS = PainReading(nrs: pain.nrs, onAnalgesics: pain.onAnalgesics == true, at: actingAt, eventId: id)
        case .spineCleared(let clearance):
            if clearance.cervical == true { cervicalCleared = true }
            if clearance.thoracolumbar == true { thoracolumbarCleared = true }
        case .biopsyResulted, .vitalsRecorded, .medicationChanged, .taskUpdated, .timerFired:
            break
        }
    }

    private mutating func flag(_ fact: String, _ value: String, _ eventId: String) {
        guard !observedRedFlags.contains(where: { $0.fact == fact }) else { return }
        observedRedFlags.append(RedFlag(fact: fact, value: value, eventId: eventId))
    }

    private mutating func updateTLICS(eventId: String) {
        guard let score = tlicsScore else { return }
        tlics = score
        if score > (highestTLICS?.value ?? -1) { highestTLICS = Sourced(value: score, eventId: eventId) }
    }

    private static func merge(_ old: Presentation?, _ new: Presentation) -> Presentation {
        guard let old else { return new }
        var merged = new
        merged.sex = new.sex ?? old.sex
        merged.fractureLevels = new.fractureLevels ?? old.fractureLevels
        merged.fever = new.fever ?? old.fever
        if let oh = old.history {
            let nh = new.history ?? MedicalHistory()
            merged.history = MedicalHistory(
                knownMalignancy: nh.knownMalignancy ?? oh.knownMalignancy,
                unexplainedWeightLoss: nh.unexplainedWeightLoss ?? oh.unexplainedWeightLoss,
                constitutionalSymptoms: nh.constitutionalSymptoms ?? oh.constitutionalSymptoms,
                osteoporosis: nh.osteoporosis ?? oh.osteoporosis,
                glucocorticoidUse: nh.glucocorticoidUse ?? oh.glucocorticoidUse,
                immunosuppressed: nh.immunosuppressed ?? oh.immunosuppressed,
                injectionDrugUse: nh.injectionDrugUse ?? oh.injectionDrugUse)
        }
        return merged
    }
}

// MARK: - Derived facts

extension PatientState {
    /// The most acute open track, or `intake`.
    public var derivedState: PathwayState { openTracks.min() ?? .intake }

    /// The fracture is a fragility fracture: the presentation's mechanism is not high-energy trauma.
    public var isFragilityFracture: Bool { presentation?.mechanism.isFragility ?? false }

    /// The fracture is chronic: on the latest MRI that gives an acuity, else on the latest imaging that does.
    public var isChronic: Bool { (latestMRIAcuity ?? latestAcuity) == .chronic }

    /// "Not chronic on MRI": no MRI called the fracture chronic.
    public var isChronicOnMRI: Bool { latestMRIAcuity == .chronic }

    /// TLICS (PATHWAY.md section 8), when morphology, ligaments and neurology are all known.
    public var tlicsScore: Int? {
        guard let morphology, let ligaments, let exam = latestExam?.value else { return nil }
        let m = switch morphology.value {
        case .compression: 1
        case .burst: 2
        case .translationRotation: 3
        case .distraction: 4
        }
        let p = switch ligaments.value {
        case .intact: 0
        case .indeterminate: 2
        case .injured: 3
        }
        let n: Int
        switch exam.neuroStatus {
        case .intact: n = 0
        case .nerveRoot, .cordComplete: n = 2
        case .cordIncomplete, .caudaEquina: n = 3
        case nil:
            guard exam.finding == .intact else { return nil }
            n = 0
        }
        return m + p + n
    }

    /// Every red flag known so far (PATHWAY.md section 4, "a red flag"): the
    /// observed ones, age below the pathologic threshold with a fragility
    /// fracture, and a TLICS that reached the operative threshold.
    public func redFlags(_ ruleset: Ruleset) -> [RedFlag] {
        var flags = observedRedFlags
        if let p = presentation, let presented = presentationEventId, p.ageYears < ruleset.pathologicAgeBelow, p.mechanism.isFragility {
            flags.append(RedFlag(fact: "ageYears", value: String(p.ageYears), eventId: presented))
        }
        if let peak = highestTLICS, peak.value >= ruleset.tlicsOperativeMin {
            flags.append(RedFlag(fact: "tlics", value: String(peak.value), eventId: peak.eventId))
        }
        return flags
    }

    /// The active recommendation of a code.
    public func active(_ code: RecommendationCode) -> Recommendation? {
        activeRecommendation[code].flatMap { recommendations[$0] }
    }

    /// The open task of a code.
    public func open(_ code: TaskCode) -> CareTask? {
        openTask[code].flatMap { tasks[$0] }
    }

    /// Day `n` of conservative care, when it has started.
    func conservativeDay(_ n: Int) -> Timestamp? { conservativeCareStart.map { $0 + .days(n) } }
}
