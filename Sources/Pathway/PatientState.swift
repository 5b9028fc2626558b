/// A patient's pathway aggregate: nothing but the fold of its domain events.
///
/// ``initial(patientId:)`` and ``evolve(_:_:)`` are the two halves of the
/// Decider that do not decide; ``Pathway/decide(_:_:ruleset:)`` is the third.
///
/// Clinical facts are kept in clinical time (PATHWAY.md section 2, "Latest in
/// clinical time"): exams, imaging, MAPs and NRS are ordered by their own
/// `time`, arrival order breaking ties, so a late-charted older result never
/// replaces a newer one.
public struct PatientState: Sendable, Hashable {
    public let patientId: String
    /// The number of domain events folded so far.
    public private(set) var version = 0
    /// The patient's clock: the latest acting time applied so far.
    public private(set) var clock: Timestamp?
    /// `nil` before the patient's first event.
    public private(set) var state: PathwayState?
    public private(set) var openTracks = TrackSet()

    /// Accepted inputs: their `source` and `id` → fingerprint, and for a
    /// clinical result its data (to name the fields a conflicting re-send changes).
    /// One table, so an input costs one hash.
    public private(set) var received: [InputReceipt: Received] = [:]

    /// What is kept of an accepted input.
    public struct Received: Sendable, Hashable {
        public var fingerprint: String
        /// A clinical result's `time` and data (`nil` for other inputs): what a
        /// conflicting re-send is compared with. The data only, not the whole
        /// event, which held the state a third larger (measured).
        public var result: (time: Timestamp, data: InputData)? {
            get { resultData.map { (resultTime, $0) } }
            set {
                resultTime = newValue?.time ?? Timestamp(millisecondsSinceEpoch: 0)
                resultData = newValue?.data
            }
        }
        private var resultTime: Timestamp
        private var resultData: InputData?

        init(fingerprint: String, result: (time: Timestamp, data: InputData)?) {
            self.fingerprint = fingerprint
            self.resultTime = result?.time ?? Timestamp(millisecondsSinceEpoch: 0)
            self.resultData = result?.data
        }
    }
    /// Conflicting versions of a result already recorded: their fingerprints.
    public private(set) var conflictsRecorded: [InputReceipt: [String]] = [:]

    // MARK: Episode

    /// The current episode of care: 1 from the first event, then one more for
    /// each new acute fracture after the pathway resolved.
    public private(set) var episode = 0
    /// When the current episode started (the acting time of its first event).
    public private(set) var episodeStartedAt: Timestamp?
    /// When `PATHWAY_RESOLVED` was issued in this episode.
    public private(set) var resolvedAt: Timestamp?

    // MARK: Presentation

    /// The merged presentations: age, sex, levels and history are the patient's.
    public private(set) var presentation: Presentation?
    public private(set) var presentationEventId: String?
    /// The mechanism and fever of this episode's presentation (unknown in a new
    /// episode until a `patient.presented` brings them).
    public private(set) var mechanism: Sourced<Mechanism>?
    public private(set) var fever: Sourced<Bool>?

    // MARK: Imaging (this episode)

    /// Fracture identification: the first (clinical time) imaging of the
    /// episode with a compression fracture, else the presentation naming levels.
    public private(set) var fractureIdentified: Sourced<Timestamp>?
    public private(set) var fractureIdentifiedByImaging = false
    public private(set) var compressionFractureEventId: String?
    /// Every imaging result of the episode, in clinical time.
    public private(set) var imaging: [Timed<ImagingResult>] = []
    /// The vertebral levels of this episode.
    public private(set) var levels: [String] = []

    // MARK: Neurology, vitals, pain

    /// Every exam, in clinical time.
    public private(set) var exams: [Timed<NeuroExam>] = []
    /// The first exam with a deficit in this episode.
    public private(set) var deficitInEpisode: String?
    /// Every MAP, in clinical time.
    public private(set) var maps: [Timed<Double>] = []
    /// This episode's NRS readings, in clinical time.
    public private(set) var painScores: [Timed<PainAssessment>] = []
    public private(set) var highestTLICS: Sourced<Int>?

    // MARK: Biopsies and cultures (this episode)

    public private(set) var bloodCultures: [Timed<BiopsyResult>] = []
    public private(set) var spineBiopsies: [Timed<BiopsyResult>] = []
    /// Why the fracture is no longer a fragility fracture (a malignant biopsy,
    /// infection shown at the spine), and the event that showed it.
    public private(set) var notFragility: Sourced<String>?

    // MARK: Spine clearance

    /// Clearances counted since ``clearanceSince``.
    public private(set) var cervicalCleared = false
    public private(set) var thoracolumbarCleared = false
    /// Clearances count from here: the issue of the active `SPINAL_PRECAUTIONS`
    /// card, else the request of the open `spinal-precautions` task.
    public private(set) var clearanceSince: Timestamp?

    /// Threshold-free red flags known in this episode, in the order they became known.
    public private(set) var observedRedFlags: [RedFlag] = []

    // MARK: Resources

    public private(set) var recommendations: [String: Recommendation] = [:]
    /// Active cards an earlier ruleset issued (PATHWAY.md version 3, "Upgrading").
    public private(set) var activeCardsOfEarlierRuleset: Set<String> = []
    public private(set) var activeRecommendation = CodeTable<RecommendationCode, String>()
    public private(set) var issuances = CodeTable<RecommendationCode, Int>()
    /// The episode of the latest card of each code.
    public private(set) var lastIssuedEpisode = CodeTable<RecommendationCode, Int>()
    public private(set) var tasks: [String: CareTask] = [:]
    public private(set) var openTask = CodeTable<TaskCode, String>()
    public private(set) var taskRequests = CodeTable<TaskCode, Int>()
    /// The id of the most recent task of each code, open or not.
    public private(set) var latestTaskId = CodeTable<TaskCode, String>()

    // MARK: Timers

    /// Timers not yet fired or cancelled, by id, with the version that scheduled them.
    public private(set) var pendingTimers: [String: PendingTimer] = [:]
    public private(set) var timersScheduled = CodeTable<TimerCode, Int>()
    /// The earliest due time of the pending timers: no timer fires before it.
    public private(set) var earliestTimerDue: Timestamp?

    // MARK: Clocks derived from recommendations and tasks

    /// When the latest `CONSERVATIVE_MANAGEMENT` was issued ("day 0" of conservative care).
    public private(set) var conservativeCareStart: Timestamp?
    /// When the referral clocks of the current spine surgery consult started
    /// (its request, or its raise to stat), and at which priority.
    public private(set) var referralClock: (start: Timestamp, priority: Priority)? {
        get { referralClockStart.map { ($0, referralClockPriority) } }
        set {
            referralClockStart = newValue?.start
            referralClockPriority = newValue?.priority ?? .routine
        }
    }
    private var referralClockStart: Timestamp?
    private var referralClockPriority: Priority = .routine
    /// An MRI result at or after this time completes the active `MRI_SPINE_WITHOUT_CONTRAST`.
    public private(set) var mriNeededFrom: Timestamp?

    /// A value and the event that established it.
    public struct Sourced<Value: Sendable & Hashable>: Sendable, Hashable {
        public var value: Value
        public var eventId: String
    }

    /// A clinical fact at its own clinical `time`; `sequence` (the stream
    /// version that recorded it) breaks ties: the later to arrive wins.
    public struct Timed<Value: Sendable & Hashable>: Sendable, Hashable {
        public var value: Value
        public var time: Timestamp
        public var sequence: Int
        public var eventId: String

        /// Clinical order: time, then arrival.
        public func precedes(_ other: Timed) -> Bool { (time, sequence) < (other.time, other.sequence) }
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

    /// What stands in a state's place while a decision works on it (built once, shared).
    static let placeholder = PatientState(patientId: "")

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
            received[InputReceipt(input)] = Received(fingerprint: input.fingerprint,
                                                     result: InputType.clinicalResults.contains(input.type) ? (input.time, input.data) : nil)
            clock = max(clock ?? actingAt, actingAt)
            if episode == 0 {
                episode = 1
                episodeStartedAt = actingAt
            }
            record(input, actingAt: actingAt, sequence: event.version)
        case .stateChanged(_, let to, _):
            state = to
        case .trackOpened(let track, _):
            openTracks.insert(track)
        case .trackClosed(let track, _):
            openTracks.remove(track)
        case .recommendationIssued(let rec), .recommendationRevised(let rec):
            recommendations[rec.id] = rec
            if rec.status == .active, !rec.rulesetVersion.utf8.starts(with: Ruleset.baseVersion.utf8) {
                activeCardsOfEarlierRuleset.insert(rec.id)
            } else if !activeCardsOfEarlierRuleset.isEmpty {
                activeCardsOfEarlierRuleset.remove(rec.id)
            }
            if rec.status == .active {
                activeRecommendation[rec.code] = rec.id
            } else if activeRecommendation[rec.code] == rec.id {
                activeRecommendation[rec.code] = nil
            }
            if rec.code == .mriSpineWithoutContrast {
                // The time an MRI must be at or after to answer the card: its rationale's `noMRIResultedSince`.
                mriNeededFrom = rec.status == .active
                    ? rec.rationale.compactMap { $0.fact == "noMRIResultedSince" ? $0.value.stringValue.flatMap(Timestamp.init(rfc3339:)) : nil }.max()
                    : nil
            }
            if rec.revision == 1 {
                issuances[rec.code, default: 0] += 1
                lastIssuedEpisode[rec.code] = rec.episode
                switch rec.code {
                case .conservativeManagement: conservativeCareStart = rec.issuedAt
                case .pathwayResolved: resolvedAt = rec.issuedAt
                case .spinalPrecautions:
                    cervicalCleared = false
                    thoracolumbarCleared = false
                    clearanceSince = rec.issuedAt
                default: break
                }
            }
        case .taskRequested(let task), .taskChanged(let task):
            let previous = tasks.updateValue(task, forKey: task.id)
            if task.version == 1 {
                taskRequests[task.code, default: 0] += 1
                latestTaskId[task.code] = task.id
            }
            if task.isOpen {
                openTask[task.code] = task.id
            } else if openTask[task.code] == task.id {
                openTask[task.code] = nil
            }
            if task.code == .spineSurgeryConsult, task.isOpen, previous == nil || task.priority > previous!.priority {
                referralClock = (task.lastModified, task.priority)
            }
            if task.code == .spinalPrecautions, task.version == 1, activeRecommendation[.spinalPrecautions] == nil {
                cervicalCleared = false
                thoracolumbarCleared = false
                clearanceSince = task.authoredOn
            }
        case .timerScheduled(let timer):
            pendingTimers[timer.id] = PendingTimer(timer: timer, scheduledAtVersion: event.version)
            timersScheduled[timer.code, default: 0] += 1
            earliestTimerDue = min(earliestTimerDue ?? timer.dueAt, timer.dueAt)
        case .timerFired(let timer):
            pendingTimers[timer.id] = nil
            clock = max(clock ?? timer.dueAt, timer.dueAt)
            if timer.dueAt == earliestTimerDue { earliestTimerDue = pendingTimers.values.map(\.timer.dueAt).min() }
        case .timerCancelled(let timer, _):
            pendingTimers[timer.id] = nil
            if timer.dueAt == earliestTimerDue { earliestTimerDue = pendingTimers.values.map(\.timer.dueAt).min() }
        case .episodeStarted(let n, _):
            startEpisode(n, at: event.occurredAt)
        case .resultConflictRecorded(let conflict):
            conflictsRecorded[InputReceipt(source: conflict.source, id: conflict.id), default: []].append(conflict.fingerprint)
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

    /// Every episode-scoped fact starts afresh; history, its red flags and open tasks carry over.
    private mutating func startEpisode(_ n: Int, at time: Timestamp) {
        episode = n
        episodeStartedAt = time
        resolvedAt = nil
        mechanism = nil
        fever = nil
        fractureIdentified = nil
        fractureIdentifiedByImaging = false
        compressionFractureEventId = nil
        imaging = []
        levels = []
        deficitInEpisode = nil
        painScores = []
        highestTLICS = nil
        bloodCultures = []
        spineBiopsies = []
        conservativeCareStart = nil
        mriNeededFrom = nil
        observedRedFlags = []
        if let p = presentation, let id = presentationEventId { flagHistory(p.history, id) }
    }

    private mutating func record(_ input: InputEvent, actingAt: Timestamp, sequence: Int) {
        let id = input.id
        let time = input.time
        switch input.data {
        case .patientPresented(let p):
            presentation = Self.merge(presentation, p)
            if pendingKnownMalignancy {
                // A malignant biopsy came before any presentation: the history now says so.
                presentation!.history = presentation!.history ?? MedicalHistory()
                presentation!.history!.knownMalignancy = true
                pendingKnownMalignancy = false
            }
            presentationEventId = id
            mechanism = Sourced(value: p.mechanism, eventId: id)
            if let f = p.fever { fever = Sourced(value: f, eventId: id) }
            if let named = p.fractureLevels, !named.isEmpty {
                addLevels(named)
                if fractureIdentified == nil { fractureIdentified = Sourced(value: time, eventId: id) }
            }
            flagHistory(p.history, id)
            if p.fever == true { flag("fever", "true", id) }
            if p.mechanism == .highEnergyTrauma { flag("mechanism", Mechanism.highEnergyTrauma.rawValue, id) }
        case .imagingResulted(let i):
            let entry = Timed(value: i, time: time, sequence: sequence, eventId: id)
            Self.insert(entry, into: &imaging)
            let f = i.findings
            if f.compressionFracture == true {
                if compressionFractureEventId == nil { compressionFractureEventId = id }
                if !fractureIdentifiedByImaging || time < fractureIdentified!.value {
                    fractureIdentifiedByImaging = true
                    fractureIdentified = Sourced(value: time, eventId: id)
                }
                addLevels(i.levels ?? [])
            }
            if f.suspiciousForMalignancy == true { flag("suspiciousForMalignancy", "true", id) }
            if f.unstable == true { flag("unstable", "true", id) }
            if f.cordCompression == .significant { flag("cordCompression", "significant", id) }
            if f.discitisOsteomyelitis == true {
                flag("discitisOsteomyelitis", "true", id)
                if notFragility == nil { notFragility = Sourced(value: "infection shown at the spine (discitis-osteomyelitis on imaging)", eventId: id) }
            }
            updateTLICS(eventId: id)
        case .neuroExamined(let exam):
            Self.insert(Timed(value: exam, time: time, sequence: sequence, eventId: id), into: &exams)
            if exam.finding == .deficit {
                flag("neuroExam", "deficit", id)
                if deficitInEpisode == nil { deficitInEpisode = id }
            }
            if exam.spinalCordInjury == true {
                flag("spinalCordInjury", "true", id)
            } else if exam.isSpinalCordInjury, let status = exam.neuroStatus {
                flag("neuroStatus", status.rawValue, id)  // a cord injury read from the exam's status
            }
            updateTLICS(eventId: id)
        case .painAssessed(let pain):
            Self.insert(Timed(value: pain, time: time, sequence: sequence, eventId: id), into: &painScores)
        case .vitalsRecorded(let v):
            if let map = v.meanArterialPressure { Self.insert(Timed(value: map, time: time, sequence: sequence, eventId: id), into: &maps) }
        case .biopsyResulted(let b):
            let entry = Timed(value: b, time: time, sequence: sequence, eventId: id)
            if b.specimen == .bloodCulture {
                Self.insert(entry, into: &bloodCultures)
            } else {
                Self.insert(entry, into: &spineBiopsies)
                if notFragility == nil {
                    if b.histology == .malignant || b.metastatic == true {
                        notFragility = Sourced(value: b.metastatic == true ? "biopsy shows metastatic disease" : "biopsy shows malignancy", eventId: id)
                    } else if b.histology == .infection || OrganismReading(b.organism).named != nil {
                        notFragility = Sourced(value: "infection shown at the spine (biopsy)", eventId: id)
                    }
                }
            }
            if b.histology == .malignant || b.metastatic == true {
                // Sets `knownMalignancy` in the history: a pathologic workup again in a later episode.
                var p = presentation ?? Presentation(ageYears: 0, mechanism: .unknown)
                var h = p.history ?? MedicalHistory()
                h.knownMalignancy = true
                p.history = h
                if presentation != nil { presentation = p } else { pendingKnownMalignancy = true }
                // Known from now on in this episode (so no workup here), and again in the next.
                flag("knownMalignancy", "true", id)
            }
        case .spineCleared(let clearance):
            guard let since = clearanceSince, time >= since else { break }
            if clearance.cervical == true { cervicalCleared = true }
            if clearance.thoracolumbar == true { thoracolumbarCleared = true }
        case .medicationChanged, .taskUpdated, .timerFired:
            break
        }
    }

    /// A malignant biopsy before any presentation: applied to the first presentation.
    private var pendingKnownMalignancy = false

    private mutating func addLevels(_ named: [String]) {
        for level in named where !levels.contains(level) { levels.append(level) }
    }

    private mutating func flagHistory(_ h: MedicalHistory?, _ id: String) {
        if h?.knownMalignancy == true || presentation?.history?.knownMalignancy == true { flag("knownMalignancy", "true", id) }
        if h?.unexplainedWeightLoss == true { flag("unexplainedWeightLoss", "true", id) }
        if h?.constitutionalSymptoms == true { flag("constitutionalSymptoms", "true", id) }
        if h?.injectionDrugUse == true { flag("injectionDrugUse", "true", id) }
        if h?.immunosuppressed == true { flag("immunosuppressed", "true", id) }
    }

    private mutating func flag(_ fact: String, _ value: String, _ eventId: String) {
        guard !observedRedFlags.contains(where: { $0.fact == fact }) else { return }
        observedRedFlags.append(RedFlag(fact: fact, value: value, eventId: eventId))
    }

    private mutating func updateTLICS(eventId: String) {
        guard let score = tlicsScore else { return }
        if score > (highestTLICS?.value ?? -1) { highestTLICS = Sourced(value: score, eventId: eventId) }
    }

    /// Inserts in clinical order; most results arrive in order, so this is an append.
    static func insert<V>(_ entry: Timed<V>, into list: inout [Timed<V>]) {
        var i = list.endIndex
        while i > list.startIndex, entry.precedes(list[i - 1]) { i -= 1 }
        list.insert(entry, at: i)
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
        if old.history?.knownMalignancy == true {
            // A malignancy once shown stays known.
            var h = merged.history ?? MedicalHistory()
            h.knownMalignancy = true
            merged.history = h
        }
        return merged
    }
}

// MARK: - Derived facts

extension PatientState {
    /// The most acute open track, or `intake`.
    public var derivedState: PathwayState { openTracks.min() ?? .intake }

    /// The latest exam in clinical time.
    public var latestExam: Timed<NeuroExam>? { exams.last }

    /// The latest MAP in clinical time.
    public var latestMAP: Timed<Double>? { maps.last }

    /// The latest NRS of the episode in clinical time.
    public var latestNRS: Timed<PainAssessment>? { painScores.last }

    /// The baseline NRS: the first of the episode in clinical time.
    public var baselineNRS: Timed<PainAssessment>? { painScores.first }

    /// A fragility fracture (PATHWAY.md section 2): the mechanism is not
    /// high-energy trauma, and the fracture has not been shown malignant or infected.
    public var isFragilityFracture: Bool { mechanism?.value != .highEnergyTrauma && notFragility == nil }

    /// The fracture is chronic: on the latest MRI that gives an acuity, else on the latest imaging that does.
    public var isChronic: Bool {
        let mri = imaging.last { $0.value.modality == .mri && $0.value.findings.acuity != nil }
        let any = imaging.last { $0.value.findings.acuity != nil }
        return (mri ?? any)?.value.findings.acuity == .chronic
    }

    /// "Chronic on MRI": the latest MRI giving an acuity calls the fracture chronic.
    public var isChronicOnMRI: Bool {
        imaging.last { $0.value.modality == .mri && $0.value.findings.acuity != nil }?.value.findings.acuity == .chronic
    }

    /// The latest MRI of the episode (clinical time).
    public var latestMRI: Timed<ImagingResult>? { imaging.last { $0.value.modality == .mri } }

    /// An MRI has resulted in the episode.
    public var mriResulted: Bool { imaging.contains { $0.value.modality == .mri } }

    /// An MRI resulted at or after `time` in this episode.
    public func mriResulted(atOrAfter time: Timestamp) -> Bool {
        imaging.contains { $0.value.modality == .mri && $0.time >= time }
    }

    /// Osteoporosis care follows the history: `osteoporosis` or `glucocorticoidUse`.
    public var historyCallsForOsteoporosisCare: Bool {
        presentation?.history?.osteoporosis == true || presentation?.history?.glucocorticoidUse == true
    }

    /// TLICS (PATHWAY.md section 8) from the latest imaging giving morphology
    /// and ligaments and the latest exam, in clinical time.
    public var tlicsScore: Int? {
        guard let morphology = imaging.last(where: { $0.value.findings.morphology != nil })?.value.findings.morphology,
              let ligaments = imaging.last(where: { $0.value.findings.posteriorLigamentousComplex != nil })?.value.findings.posteriorLigamentousComplex,
              let exam = latestExam?.value
        else { return nil }
        let m = switch morphology {
        case .compression: 1
        case .burst: 2
        case .translationRotation: 3
        case .distraction: 4
        }
        let p = switch ligaments {
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

    /// Every red flag known in this episode (PATHWAY.md section 4, "a red
    /// flag"): the observed ones, age below the pathologic threshold with a
    /// fracture not from high-energy trauma, and a TLICS at the operative threshold.
    public func redFlags(_ ruleset: Ruleset) -> [RedFlag] {
        var flags = observedRedFlags
        if let p = presentation, let presented = presentationEventId, p.ageYears < ruleset.pathologicAgeBelow,
           mechanism?.value != .highEnergyTrauma {
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

    /// The most recent task of a code, open or not.
    public func latestTask(_ code: TaskCode) -> CareTask? {
        latestTaskId[code].flatMap { tasks[$0] }
    }

    /// A card of this code has been issued in the current episode.
    public func issuedInEpisode(_ code: RecommendationCode) -> Bool { lastIssuedEpisode[code] == episode }
}
