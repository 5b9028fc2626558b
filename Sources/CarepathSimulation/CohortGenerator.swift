public import Pathway
import CarepathJSON

/// A deterministic synthetic cohort of patients with vertebral compression
/// fractures, as the stream of CloudEvents (PATHWAY.md section 2) a hospital
/// would put on `clinical.events`: one JSON object a line, patients
/// interleaved in time order.
///
/// The same `seed`, `patients`, `eventsPerPatient` and `start` always give
/// the same bytes: all randomness comes from ``SplitMix64``, one independent
/// stream per patient, so patient `n` is the same whatever the cohort size.
///
/// The clinical mix (see ``Archetype``):
/// - about 52% osteoporotic low-energy fractures through conservative care:
///   presentation, x-ray, MRI, an intact exam, an NRS series over weeks that
///   resolves for most, stays high past day 90 for some, worsens or meets
///   another augmentation criterion (progressive deformity on follow-up
///   x-ray, low FVC) for a few, and `task.updated` events completing (on time,
///   late or never) the reassessment visit;
/// - neurological deficits with the stat spine surgery consult accepted and
///   completed downstream (sometimes late, sometimes rejected), then
///   post-operative conservative care;
/// - spinal cord injuries after high-energy trauma, with a MAP series over the
///   7-day window and vasopressors;
/// - high-energy trauma without cord injury, with `spine.cleared` events and,
///   for TLICS ≥ 5, an instability consult;
/// - pathologic fractures (known malignancy, weight loss, or age < 50 with a
///   fragility fracture) with contrast MRI, biopsy and multidisciplinary review;
/// - discitis-osteomyelitis with blood cultures and biopsy naming an organism,
///   then targeted IV antibiotics;
/// - the stories of contract version 3, a few percent each: a deficit that
///   recurs, worse, after a completed consult; a suspected spinal infection
///   excluded (no growth, contrast MRI without discitis); a spinal infection
///   shown by imaging with S. aureus bacteremia (no biopsy), by a vertebral
///   biopsy growing M. tuberculosis, or confirmed by a second blood culture
///   with the same possible contaminant (S. epidermidis); a stat consult
///   rejected downstream, then the second consult accepted and completed; a
///   history that resolves and a new acute fracture at another level about
///   four months later (a second episode); and a clinical result re-sent under
///   its `source` and `id` with other content (a conflicting duplicate);
/// - medication changes throughout, and about 1% malformed events (an NRS out
///   of range or not an integer, an unknown `type`, invalid JSON). Only filler
///   events (NRS, medication, vitals) are malformed, so the stories still hold;
///   with few `eventsPerPatient` there are few fillers and fewer malformed events.
///
/// Patients present uniformly over the ``arrivalWindowDays`` after `start`;
/// each patient's times are written in the UTC offset of their hospital (`Z`
/// for three patients in four, else e.g. `+01:00` or `-05:00`).
///
/// Every patient has exactly `eventsPerPatient` events (the earliest events of
/// the patient's story when it is longer). `task.updated` events name real
/// task ids, derived with ``Identifiers/task(patientId:code:request:)``.
///
/// ```swift
/// let cohort = CohortGenerator(seed: 1, patients: 1000, start: Timestamp(rfc3339: "2026-01-01T00:00:00Z")!)
/// let lines = cohort.lines()   // one CloudEvent per element
/// ```
public struct CohortGenerator: Sendable, Hashable {
    /// Fixes every random choice.
    public let seed: UInt64
    /// How many patients (`SYN-000001` …).
    public let patients: Int
    /// How many input events each patient has.
    public let eventsPerPatient: Int
    /// The earliest possible presentation; arrivals spread over the following ``arrivalWindowDays``.
    public let start: Timestamp

    /// Patients present uniformly over this many days after ``start``.
    public static let arrivalWindowDays = 365

    /// A cohort.
    /// - Parameters:
    ///   - seed: fixes every random choice; the same seed gives the same bytes.
    ///   - patients: how many patients (zero or more).
    ///   - eventsPerPatient: how many input events each patient has (at least 1).
    ///   - start: the earliest possible presentation.
    public init(seed: UInt64, patients: Int, eventsPerPatient: Int = 20, start: Timestamp) {
        precondition(patients >= 0, "patients must not be negative")
        precondition(eventsPerPatient >= 1, "eventsPerPatient must be at least 1")
        self.seed = seed
        self.patients = patients
        self.eventsPerPatient = eventsPerPatient
        self.start = start
    }

    /// The id of the patient at 0-based `index`: `SYN-000001` for index 0.
    public static func patientId(_ index: Int) -> String {
        let digits = String(index + 1)
        return "SYN-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// Every event of the cohort, in stream order: by `time`, then patient, then
    /// the patient's own order.
    public func events() -> [SyntheticEvent] {
        var all: [SyntheticEvent] = []
        all.reserveCapacity(patients * eventsPerPatient)
        for index in 0..<patients {
            all.append(contentsOf: patient(index))
        }
        all.sort { a, b in
            if a.time != b.time { return a.time < b.time }
            if a.patientIndex != b.patientIndex { return a.patientIndex < b.patientIndex }
            return a.sequence < b.sequence
        }
        return all
    }

    /// The events of one patient, in the patient's order.
    /// - Parameter index: 0-based; the patient id is ``patientId(_:)``.
    public func patient(_ index: Int) -> [SyntheticEvent] {
        var builder = PatientBuilder(
            index: index, rng: SplitMix64.stream(seed: seed, UInt64(index)), start: start, count: eventsPerPatient)
        return builder.build()
    }

    /// The input lines, one CloudEvent each (without the `\n`), in stream order.
    public func lines() -> [[UInt8]] { events().map(\.bytes) }

    /// The whole cohort as JSONL: every line followed by `\n`.
    public func jsonl() -> [UInt8] {
        let events = events()
        var out: [UInt8] = []
        out.reserveCapacity(events.reduce(0) { $0 + $1.bytes.count + 1 })
        for event in events {
            out.append(contentsOf: event.bytes)
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }
}

/// The clinical story a synthetic patient follows.
///
/// The cases after ``infection`` are the stories contract version 3 added;
/// their order (and every weight) fixes which story each seed gives a patient.
public enum Archetype: String, Sendable, Hashable, CaseIterable {
    /// Osteoporotic low-energy fracture, neurologically intact, conservative care.
    case osteoporoticConservative = "osteoporotic-conservative"
    /// A neurological deficit: stat spine surgery referral, then conservative care.
    case neurologicalDeficit = "neurological-deficit"
    /// Spinal cord injury after high-energy trauma: critical care bundle and MAP goal.
    case spinalCordInjury = "spinal-cord-injury"
    /// High-energy trauma without cord injury: spinal precautions until cleared.
    case highEnergyTrauma = "high-energy-trauma"
    /// Suspected pathologic fracture: known malignancy, weight loss, or age < 50.
    case pathologic
    /// Discitis-osteomyelitis: workup, organism, targeted IV antibiotics.
    case infection
    /// Intact, conservative care; a first deficit, its consult completed; days later a new, worse
    /// deficit (cauda equina): a second stat referral.
    case recurrentDeficit = "recurrent-deficit"
    /// Fever with injection drug use or immunosuppression: a blood culture with no growth, then a
    /// contrast MRI without discitis-osteomyelitis: infection excluded, conservative care.
    case infectionExcluded = "infection-excluded"
    /// Spinal infection treated: S. aureus bacteremia with discitis-osteomyelitis on MRI (no biopsy),
    /// M. tuberculosis on a vertebral-body biopsy, or S. epidermidis on two blood cultures.
    case infectionTreated = "infection-treated"
    /// A deficit whose stat consult is rejected downstream 3 hours after the exam; the second
    /// consult accepted and completed, then conservative care.
    case rejectedConsult = "rejected-consult"
    /// An osteoporotic history that resolves (visit on day 30, NRS 2), then an acute fracture at a
    /// new level about four months later: a second episode.
    case secondEpisode = "second-episode"
    /// An osteoporotic history whose MRI or baseline NRS is re-sent with the same `source` and
    /// `id` but other content: a conflicting duplicate.
    case conflictingCorrection = "conflicting-correction"

    /// The share of the cohort, in percent.
    public var weight: Int {
        switch self {
        case .osteoporoticConservative: 52
        case .neurologicalDeficit: 7
        case .spinalCordInjury: 4
        case .highEnergyTrauma: 10
        case .pathologic: 8
        case .infection: 5
        case .recurrentDeficit: 3
        case .infectionExcluded: 2
        case .infectionTreated: 3
        case .rejectedConsult: 2
        case .secondEpisode: 2
        case .conflictingCorrection: 2
        }
    }
}

/// One generated input event with what the generator knows about it.
public struct SyntheticEvent: Sendable, Hashable {
    /// The CloudEvent as it goes on the wire (one line, no `\n`).
    public var bytes: [UInt8]
    /// The patient (`subject`).
    public var patientId: String
    /// The patient's 0-based index in the cohort.
    public var patientIndex: Int
    /// The event's 0-based position among the patient's events.
    public var sequence: Int
    /// The event's clinical `time`.
    public var time: Timestamp
    /// The patient's story.
    public var archetype: Archetype
    /// The CloudEvent `type` written (for a malformed event, what it claims, if anything).
    public var type: String
    /// `true` when the event is deliberately malformed and must be dead-lettered.
    public var isMalformed: Bool
    /// `true` when the event re-sends an earlier event's `source` and `id` with other content: it is
    /// well-formed, but dead-lettered as a conflicting duplicate (and, from contract version 3,
    /// brought to a clinician's review).
    public var isConflictingDuplicate = false
}

// MARK: - Building one patient

extension Timestamp {
    fileprivate static func - (lhs: Timestamp, rhs: Span) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: lhs.millisecondsSinceEpoch - rhs.milliseconds)
    }
}

/// A generated event before it is written.
private struct Planned {
    var at: Timestamp
    var payload: Payload
    /// Core events tell the story; fillers (NRS, medication, vitals) pad it to the size asked.
    var isFiller = false
    var malformation: Malformation?
    /// Its position among the story's events (``PatientBuilder/core``); nil for fillers.
    var coreIndex: Int?
    /// A re-send under the `id` of the story's event at this position (with other content).
    var resendOf: Int?
}

private enum Malformation: CaseIterable {
    case nrsOutOfRange, nrsNotInteger, unknownType, invalidJSON
}

private struct Findings {
    var compressionFracture: Bool?
    var acuity: String?
    var heightLossPercent: Int?
    var kyphosisDegrees: Int?
    var morphology: String?
    var posteriorLigamentousComplex: String?
    var unstable: Bool?
    var cordCompression: String?
    var suspiciousForMalignancy: Bool?
    var discitisOsteomyelitis: Bool?
}

private struct Exam {
    var motorDeficit: Bool?
    var sensoryDeficit: Bool?
    var bowelBladderDysfunction: Bool?
    var spinalCordInjury: Bool?
    var asiaGrade: String?
    var neuroStatus: String?
}

private enum Payload {
    case presented(age: Int, sex: String, mechanism: String, levels: [String], history: [(String, Bool)]?, fever: Bool?)
    case imaging(modality: String, contrast: String, region: String, levels: [String], findings: Findings)
    case neuro(Exam)
    case biopsy(specimen: String, histology: String?, metastatic: Bool?, organism: String?)
    case pain(nrs: Int, onAnalgesics: Bool)
    case vitals(map: Int?, spo2: Int?, fvc: Int?, pulmonaryDysfunction: Bool?)
    /// `action` nil: decided in time order (started if not running, else stopped).
    case medication(String, action: String?)
    case taskUpdated(taskId: String, status: String)
    case cleared(cervical: Bool?, thoracolumbar: Bool?)

    var type: String {
        switch self {
        case .presented: "patient.presented"
        case .imaging: "imaging.resulted"
        case .neuro: "neuro.examined"
        case .biopsy: "biopsy.resulted"
        case .pain: "pain.assessed"
        case .vitals: "vitals.recorded"
        case .medication: "medication.changed"
        case .taskUpdated: "task.updated"
        case .cleared: "spine.cleared"
        }
    }

    var source: String {
        switch self {
        case .presented: "urn:hospital:adt"
        case .imaging: "urn:hospital:ris"
        case .neuro, .pain, .cleared: "urn:hospital:emr"
        case .biopsy: "urn:hospital:lis"
        case .vitals: "urn:hospital:monitoring"
        case .medication: "urn:hospital:pharmacy"
        case .taskUpdated: "urn:hospital:task-system"
        }
    }
}

/// A patient's pain over time, in days from an anchor (the start of conservative care).
private struct PainTrajectory {
    enum Kind {
        /// Declines from the baseline, staying above 3 until `day`, then `final` (≤ 3).
        case resolve(day: Int, final: Int)
        /// Stays around the baseline (never below 4).
        case persistent
        /// Baseline, then `peak` from `day`; relieved to `final` from `reliefDay`, if any.
        case worsening(day: Int, peak: Int, reliefDay: Int?, final: Int)
        /// As `resolve` until `relapseDay`, then around `relapseBaseline` (never below 4): a new fracture.
        case relapse(day: Int, final: Int, relapseDay: Int, relapseBaseline: Int)
    }

    var anchor: Timestamp
    var baseline: Int
    var kind: Kind

    /// The NRS at `time`; `noise` adds ±1 now and then without crossing the story's thresholds.
    func nrs(at time: Timestamp, noise rng: inout SplitMix64) -> Int {
        let day = Int((time - anchor).milliseconds / 86_400_000)
        let jitter = rng.weighted([(-1, 2), (0, 6), (1, 2)])
        switch kind {
        case .resolve(let resolveDay, let final):
            if day >= resolveDay { return max(0, min(3, final + (jitter < 0 ? -1 : 0))) }
            let span = max(1, resolveDay)
            let declined = baseline - (baseline - final) * max(0, day) / span
            return max(4, min(baseline + 1, declined + jitter))
        case .persistent:
            return max(4, min(10, baseline + jitter))
        case .worsening(let worseDay, let peak, let reliefDay, let final):
            if let reliefDay, day >= reliefDay { return max(0, min(3, final)) }
            if day >= worseDay { return peak }
            return max(4, min(baseline + 1, baseline + jitter))
        case .relapse(let resolveDay, let final, let relapseDay, let relapseBaseline):
            if day >= relapseDay { return max(4, min(10, relapseBaseline + jitter)) }
            if day >= resolveDay { return max(0, min(3, final + (jitter < 0 ? -1 : 0))) }
            let declined = baseline - (baseline - final) * max(0, day) / max(1, resolveDay)
            return max(4, min(baseline + 1, declined + jitter))
        }
    }
}

private enum ConservativeOutcome {
    case resolve, persistent, worsening, deformity, pulmonary
}

private enum VisitMode {
    case onTime, late, never
}

private struct PatientBuilder {
    let index: Int
    let patientId: String
    var rng: SplitMix64
    let count: Int
    let t0: Timestamp
    var archetype: Archetype = .osteoporoticConservative
    var core: [Planned] = []
    var trajectory: PainTrajectory
    var fillerMedications = ["acetaminophen", "opioid", "nsaid"]
    /// Start of fillers: after the baseline NRS.
    var fillerFrom: Timestamp
    /// Vitals fillers carry MAP in this window (spinal cord injury).
    var mapWindow: Range<Timestamp>?
    /// The first imaging's measurements, for progressive deformity.
    var heightLoss = 20
    var kyphosis = 8
    var levels: [String] = ["L1"]
    /// Minutes east of UTC the patient's hospital writes times in.
    var utcOffsetMinutes = 0

    init(index: Int, rng: SplitMix64, start: Timestamp, count: Int) {
        var rng = rng
        let arrival = Int64(rng.int(in: 0...(CohortGenerator.arrivalWindowDays * 24 * 60 - 1)))
        let t0 = start + Span(milliseconds: arrival * 60_000)
        self.index = index
        self.patientId = CohortGenerator.patientId(index)
        self.rng = rng
        self.count = count
        self.t0 = t0
        self.trajectory = PainTrajectory(anchor: t0, baseline: 7, kind: .resolve(day: 42, final: 2))
        self.fillerFrom = t0
    }

    // MARK: Helpers

    func minutes(_ n: Int) -> Span { Span(milliseconds: Int64(n) * 60_000) }

    /// `base` plus a random number of minutes in `range`.
    mutating func after(_ base: Timestamp, minutes range: ClosedRange<Int>) -> Timestamp {
        base + minutes(rng.int(in: range))
    }

    /// `base` plus a random number of days in `range` and a random time of day offset of up to `hours`.
    mutating func after(_ base: Timestamp, days range: ClosedRange<Int>, hours: Int = 10) -> Timestamp {
        base + .days(rng.int(in: range)) + minutes(rng.int(in: 0...(hours * 60)))
    }

    mutating func add(_ at: Timestamp, _ payload: Payload) {
        core.append(Planned(at: at, payload: payload, coreIndex: core.count))
    }

    /// The id of the `request`th task of `code` for the patient (1-based, across episodes).
    func task(_ code: TaskCode, request: Int = 1) -> String {
        Identifiers.task(patientId: patientId, code: code, request: request)
    }

    mutating func update(_ code: TaskCode, _ status: String, at time: Timestamp, request: Int = 1) {
        add(time, .taskUpdated(taskId: task(code, request: request), status: status))
    }

    mutating func pain(_ at: Timestamp, _ nrs: Int, onAnalgesics: Bool = true) {
        add(at, .pain(nrs: nrs, onAnalgesics: onAnalgesics))
    }

    static func region(of level: String) -> String {
        switch level {
        case "T12", "L1": "thoracolumbar"
        case _ where level.hasPrefix("C"): "cervical"
        case _ where level.hasPrefix("T"): "thoracic"
        default: "lumbar"
        }
    }

    static let thoracolumbarLevels = ["T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5"]

    /// One or two adjacent levels, most often at the thoracolumbar junction.
    mutating func chooseLevels() -> [String] {
        let first = rng.weighted([("T7", 4), ("T8", 6), ("T9", 6), ("T10", 7), ("T11", 10), ("T12", 18), ("L1", 20),
                                  ("L2", 12), ("L3", 8), ("L4", 6), ("L5", 3)])
        guard rng.chance(0.15), let i = Self.thoracolumbarLevels.firstIndex(of: first), i + 1 < Self.thoracolumbarLevels.count
        else { return [first] }
        return [first, Self.thoracolumbarLevels[i + 1]]
    }

    mutating func intactExam() -> Exam {
        switch rng.int(in: 0...9) {
        case 0...4:
            Exam(motorDeficit: false, sensoryDeficit: false, bowelBladderDysfunction: false, spinalCordInjury: false,
                 asiaGrade: "E", neuroStatus: "intact")
        case 5...7: Exam(asiaGrade: "E")
        default: Exam(motorDeficit: false, sensoryDeficit: false, bowelBladderDysfunction: false, neuroStatus: "intact")
        }
    }

    func stableFindings(acuity: String?) -> Findings {
        Findings(compressionFracture: true, acuity: acuity, heightLossPercent: heightLoss, kyphosisDegrees: kyphosis,
                 morphology: "compression", posteriorLigamentousComplex: "intact", unstable: false, cordCompression: "none",
                 suspiciousForMalignancy: false, discitisOsteomyelitis: false)
    }

    mutating func imaging(_ at: Timestamp, _ modality: String, contrast: String = "none", region: String? = nil,
                          _ findings: Findings) {
        add(at, .imaging(modality: modality, contrast: contrast, region: region ?? Self.region(of: levels[0]),
                         levels: levels, findings: findings))
    }

    // MARK: Build

    mutating func build() -> [SyntheticEvent] {
        archetype = rng.weighted(Archetype.allCases.map { ($0, $0.weight) })
        if rng.chance(0.25) { utcOffsetMinutes = rng.pick([60, 120, -300, -240, 330, 600]) }
        levels = chooseLevels()
        heightLoss = rng.int(in: 10...40)
        kyphosis = rng.int(in: 3...20)
        switch archetype {
        case .osteoporoticConservative: osteoporotic()
        case .neurologicalDeficit: neurologicalDeficit()
        case .spinalCordInjury: spinalCordInjury()
        case .highEnergyTrauma: highEnergyTrauma()
        case .pathologic: pathologic()
        case .infection: infection()
        case .recurrentDeficit: recurrentDeficit()
        case .infectionExcluded: infectionExcluded()
        case .infectionTreated: infectionTreated()
        case .rejectedConsult: rejectedConsult()
        case .secondEpisode: secondEpisode()
        case .conflictingCorrection: conflictingCorrection()
        }
        return finish()
    }

    /// Sorts the story, pads it with fillers, malforms ~1%, and writes the bytes.
    mutating func finish() -> [SyntheticEvent] {
        // The story, earliest first (ties keep the order they were told in).
        var story = core.enumerated().sorted { a, b in
            a.element.at != b.element.at ? a.element.at < b.element.at : a.offset < b.offset
        }.map(\.element)
        if story.count > count { story.removeLast(story.count - count) }
        let lastCore = story.last?.at ?? t0
        let fillerTo = max(after(lastCore, days: 2...14), fillerFrom + .days(1))
        var fillers: [Planned] = []
        for _ in 0..<(count - story.count) {
            let at = fillerFrom + Span(milliseconds: Int64(rng.int(in: 0...Int((fillerTo - fillerFrom).milliseconds / 60_000))) * 60_000)
            fillers.append(Planned(at: at, payload: filler(at: at), isFiller: true))
        }
        var all = (story + fillers).enumerated().sorted { a, b in
            a.element.at != b.element.at ? a.element.at < b.element.at : a.offset < b.offset
        }.map(\.element)

        // Medication actions in time order: start what is not running, stop what is.
        var running = Set<String>()
        for i in all.indices {
            guard case .medication(let name, let action) = all[i].payload else { continue }
            let decided = action ?? (running.contains(name) ? "stopped" : "started")
            if decided == "started" { running.insert(name) } else { running.remove(name) }
            all[i].payload = .medication(name, action: decided)
        }

        // About 1% of events are malformed; only fillers, so the story still holds.
        let fillerIndices = all.indices.filter { all[$0].isFiller }
        for _ in all.indices where rng.chance(0.01) && !fillerIndices.isEmpty {
            let i = rng.pick(fillerIndices)
            all[i].malformation = rng.pick(Malformation.allCases)
        }

        // A re-send carries the id of the event it re-sends (which sorts before it: same time, told first).
        var sequenceOfCore: [Int: Int] = [:]
        for (sequence, planned) in all.enumerated() {
            if let i = planned.coreIndex, planned.resendOf == nil { sequenceOfCore[i] = sequence }
        }
        return all.enumerated().map { sequence, planned in
            write(planned, sequence: sequence, idSequence: planned.resendOf.flatMap { sequenceOfCore[$0] } ?? sequence)
        }
    }

    /// A filler event at `at`: an NRS on the pain trajectory, a medication change, or vitals.
    mutating func filler(at: Timestamp) -> Payload {
        let mapInWindow = mapWindow?.contains(at) ?? false
        let kind = mapInWindow
            ? rng.weighted([("vitals", 50), ("pain", 30), ("medication", 20)])
            : rng.weighted([("pain", 55), ("medication", 25), ("vitals", 20)])
        switch kind {
        case "pain":
            return .pain(nrs: trajectory.nrs(at: at, noise: &rng), onAnalgesics: rng.chance(0.85))
        case "medication":
            return .medication(rng.pick(fillerMedications), action: nil)
        default:
            let map = mapInWindow ? rng.int(in: 74...98) : (rng.chance(0.4) ? rng.int(in: 78...105) : nil)
            let fvc = archetype == .osteoporoticConservative && rng.chance(0.2) ? rng.int(in: 75...110) : nil
            return .vitals(map: map, spo2: rng.int(in: 92...99), fvc: fvc, pulmonaryDysfunction: nil)
        }
    }

    // MARK: Conservative care

    /// The rest of a conservative course that starts at `cm` (when carepath
    /// issues CONSERVATIVE_MANAGEMENT): the NRS story, the reassessment visit and
    /// whatever leads to an augmentation evaluation.
    /// - Parameter augmentable: a fragility fracture, not chronic: carepath can request an
    ///   interventional spine consult, which the task system then accepts and completes.
    mutating func conservativeCourse(cm: Timestamp, baseline: Int, outcome: ConservativeOutcome, augmentable: Bool,
                                     visits: Bool = true) {
        var visitMode = VisitMode.never
        if visits { visitMode = rng.weighted([(VisitMode.onTime, 70), (.late, 10), (.never, 20)]) }
        var visitDay: Int?
        switch visitMode {
        case .onTime: visitDay = rng.int(in: 28...41)
        case .late: visitDay = rng.int(in: 43...55)
        case .never: break
        }
        var augmentationAt: Timestamp?
        switch outcome {
        case .resolve, .deformity, .pulmonary:
            var day = rng.int(in: 21...70)
            if let visitDay { day = max(day, visitDay) }
            trajectory = PainTrajectory(anchor: cm, baseline: baseline, kind: .resolve(day: day, final: rng.int(in: 0...3)))
            let resolvedAt = cm + .days(max(day, 28)) + minutes(rng.int(in: 0...(7 * 24 * 60)))
            pain(resolvedAt, trajectory.nrs(at: resolvedAt, noise: &rng))
            if outcome == .deformity {
                let xrayAt = after(cm, days: 14...26)
                let worse = Findings(compressionFracture: true, acuity: "subacute",
                                     heightLossPercent: min(100, heightLoss + rng.int(in: 11...25)),
                                     kyphosisDegrees: min(90, kyphosis + rng.int(in: 0...8)), morphology: "compression",
                                     posteriorLigamentousComplex: "intact", unstable: false, cordCompression: "none",
                                     suspiciousForMalignancy: false, discitisOsteomyelitis: false)
                imaging(xrayAt, "xray", worse)
                augmentationAt = xrayAt
            } else if outcome == .pulmonary {
                let at = after(cm, days: 3...25)
                let low = rng.chance(0.6)
                add(at, .vitals(map: nil, spo2: rng.int(in: 88...95), fvc: low ? rng.int(in: 48...68) : nil,
                                pulmonaryDysfunction: low ? nil : true))
                augmentationAt = at
            }
        case .persistent:
            trajectory = PainTrajectory(anchor: cm, baseline: baseline, kind: .persistent)
            if rng.chance(0.7) {
                let at = after(cm, days: 77...88)
                pain(at, trajectory.nrs(at: at, noise: &rng))
                augmentationAt = cm + .days(90)
            }
            let later = after(cm, days: 91...104)
            pain(later, trajectory.nrs(at: later, noise: &rng))
            augmentationAt = augmentationAt ?? later
        case .worsening:
            let day = rng.int(in: 7...30)
            let peak = min(10, baseline + rng.int(in: 2...3))
            let relief = rng.chance(0.6) ? day + rng.int(in: 25...50) : nil
            trajectory = PainTrajectory(anchor: cm, baseline: baseline,
                                        kind: .worsening(day: day, peak: peak, reliefDay: relief, final: rng.int(in: 1...3)))
            let at = cm + .days(day) + minutes(rng.int(in: 0...600))
            pain(at, peak, onAnalgesics: true)
            augmentationAt = at
            if let relief {
                let reliefAt = cm + .days(max(relief, visitDay ?? 0, 28)) + minutes(rng.int(in: 60...600))
                pain(reliefAt, trajectory.nrs(at: reliefAt, noise: &rng))
            }
        }
        if let visitDay {
            let visitAt = cm + .days(visitDay) + minutes(rng.int(in: 0...480))
            if rng.chance(0.3) { update(.reassessmentVisit, "accepted", at: visitAt - .days(rng.int(in: 2...10))) }
            update(.reassessmentVisit, "completed", at: visitAt)
            let nrsAt = visitAt + minutes(rng.int(in: 5...40))
            pain(nrsAt, trajectory.nrs(at: nrsAt, noise: &rng))
        }
        if augmentable, let augmentationAt, rng.chance(0.65) {
            let accepted = after(augmentationAt, days: 2...7)
            update(.interventionalSpineConsult, "accepted", at: accepted)
            if rng.chance(0.8) { update(.interventionalSpineConsult, "completed", at: after(accepted, days: 3...14)) }
        }
    }

    /// How conservative care ends; only a fragility fracture that is not chronic can meet an
    /// augmentation criterion, and pain can only worsen by 2 points from a baseline of at most 8.
    mutating func chooseOutcome(augmentable: Bool, baseline: Int) -> ConservativeOutcome {
        augmentable
            ? rng.weighted([(ConservativeOutcome.resolve, 60), (.persistent, 22), (.worsening, baseline <= 8 ? 6 : 0),
                            (.deformity, 6), (.pulmonary, 6)])
            : rng.weighted([(ConservativeOutcome.resolve, 78), (.persistent, 22)])
    }

    // MARK: Archetypes

    mutating func osteoporotic() {
        let age = max(rng.int(in: 60...95), rng.int(in: 60...95))
        let mechanism = rng.weighted([("low-energy", 70), ("atraumatic", 20), ("unknown", 10)])
        var history: [(String, Bool)] = [("osteoporosis", rng.chance(0.6))]
        if rng.chance(0.15) { history.append(("glucocorticoidUse", true)) }
        if rng.chance(0.2) { history.append(("knownMalignancy", false)) }
        let presented = Payload.presented(age: age, sex: rng.chance(0.75) ? "female" : "male", mechanism: mechanism,
                                          levels: levels, history: history, fever: rng.chance(0.7) ? false : nil)
        add(t0, presented)
        let baseline = rng.int(in: 4...9)
        let outcome = chooseOutcome(augmentable: true, baseline: baseline)
        var acuity = rng.weighted([("acute", 70), ("subacute", 15), ("chronic", 8), ("indeterminate", 7)])
        if outcome != .resolve, acuity == "chronic" { acuity = "acute" }
        let xrayAt = after(t0, minutes: 45...240)
        imaging(xrayAt, "xray", stableFindings(acuity: rng.chance(0.5) ? nil : "indeterminate"))
        let examAt = after(t0, minutes: 60...360)
        add(examAt, .neuro(intactExam()))
        let baselineAt = after(t0, minutes: 90...480)
        pain(baselineAt, baseline, onAnalgesics: rng.chance(0.5))
        fillerFrom = baselineAt + minutes(30)
        add(after(t0, minutes: 120...360), .medication("acetaminophen", action: "started"))
        if rng.chance(0.6) { add(after(t0, days: 1...3), .medication("calcium-vitamin-d", action: "started")) }
        let mriAt = after(t0, minutes: (6 * 60)...(14 * 24 * 60))
        imaging(mriAt, "mri", stableFindings(acuity: acuity))
        if rng.chance(0.05) { add(after(t0, days: 1...5), presented) }  // a re-presentation: same facts, new id
        fillerMedications = ["acetaminophen", "opioid", "nsaid", "bisphosphonate", "calcitonin", "calcium-vitamin-d"]
        conservativeCourse(cm: max(xrayAt, examAt, mriAt), baseline: baseline, outcome: outcome, augmentable: true)
    }

    mutating func neurologicalDeficit() {
        let age = rng.int(in: 55...90)
        add(t0, .presented(age: age, sex: rng.chance(0.65) ? "female" : "male",
                           mechanism: rng.weighted([("low-energy", 75), ("atraumatic", 15), ("unknown", 10)]),
                           levels: levels, history: [("osteoporosis", rng.chance(0.5))], fever: false))
        imaging(after(t0, minutes: 45...180), "xray", stableFindings(acuity: nil))
        let examAt = after(t0, minutes: 60...240)
        let deficit: Exam = switch rng.int(in: 0...3) {
        case 0: Exam(motorDeficit: true, sensoryDeficit: false, bowelBladderDysfunction: false, spinalCordInjury: false,
                     asiaGrade: "D", neuroStatus: "nerve-root")
        case 1: Exam(motorDeficit: false, sensoryDeficit: true, bowelBladderDysfunction: false)
        case 2: Exam(motorDeficit: true, sensoryDeficit: true, bowelBladderDysfunction: true, spinalCordInjury: false,
                     neuroStatus: "cauda-equina")
        default: Exam(motorDeficit: true, sensoryDeficit: true, spinalCordInjury: false, asiaGrade: "C",
                      neuroStatus: "cord-incomplete")
        }
        add(examAt, .neuro(deficit))
        let baseline = rng.int(in: 6...10)
        let baselineAt = after(t0, minutes: 30...300)
        pain(baselineAt, baseline)
        fillerFrom = baselineAt + minutes(30)
        add(after(examAt, minutes: 30...180), .medication("opioid", action: "started"))
        let mriAt = after(examAt, minutes: 30...240)
        var mri = stableFindings(acuity: "acute")
        mri.cordCompression = rng.chance(0.4) ? "significant" : "mild"
        imaging(mriAt, "mri", mri)
        // The stat consult, downstream.
        let acceptedAt = rng.chance(0.8) ? after(examAt, minutes: 20...110) : after(examAt, minutes: 130...300)
        if rng.chance(0.06) {
            update(.spineSurgeryConsult, "rejected", at: after(examAt, minutes: 60...400))
            trajectory = PainTrajectory(anchor: examAt, baseline: baseline, kind: .persistent)
            return
        }
        update(.spineSurgeryConsult, "accepted", at: acceptedAt)
        guard rng.chance(0.92) else {
            trajectory = PainTrajectory(anchor: examAt, baseline: baseline, kind: .persistent)
            return
        }
        let completedAt = rng.chance(0.8) ? after(examAt, minutes: 300...1200) : after(examAt, minutes: 1500...2400)
        update(.spineSurgeryConsult, "in-progress", at: max(acceptedAt, completedAt - minutes(rng.int(in: 60...180))) + minutes(1))
        update(.spineSurgeryConsult, "completed", at: max(acceptedAt, completedAt) + minutes(2))
        let postOpAt = after(max(acceptedAt, completedAt), days: 1...5)
        add(postOpAt, .neuro(intactExam()))
        fillerMedications = ["acetaminophen", "opioid", "nsaid", "bisphosphonate"]
        // A deficit in the episode rules augmentation out (contract version 3).
        conservativeCourse(cm: postOpAt, baseline: baseline, outcome: rng.chance(0.8) ? .resolve : .persistent, augmentable: false)
    }

    mutating func spinalCordInjury() {
        levels = [rng.pick(["T10", "T11", "T12", "L1", "L2"])]
        heightLoss = rng.int(in: 30...60)
        kyphosis = rng.int(in: 15...35)
        add(t0, .presented(age: rng.int(in: 18...70), sex: rng.chance(0.75) ? "male" : "female", mechanism: "high-energy-trauma",
                           levels: levels, history: rng.chance(0.5) ? [] : nil, fever: false))
        let ctAt = after(t0, minutes: 30...90)
        imaging(ctAt, "ct", Findings(compressionFracture: true, acuity: "acute", heightLossPercent: heightLoss,
                                     kyphosisDegrees: kyphosis, morphology: rng.chance(0.7) ? "burst" : "translation-rotation",
                                     posteriorLigamentousComplex: "injured", unstable: true, cordCompression: "significant",
                                     suspiciousForMalignancy: false, discitisOsteomyelitis: false))
        let examAt = after(ctAt, minutes: 10...60)
        let grade = rng.pick(["A", "B", "C"])
        add(examAt, .neuro(Exam(motorDeficit: true, sensoryDeficit: grade != "B" || rng.chance(0.5),
                                bowelBladderDysfunction: rng.chance(0.5), spinalCordInjury: true, asiaGrade: grade,
                                neuroStatus: grade == "A" ? "cord-complete" : "cord-incomplete")))
        let baseline = rng.int(in: 6...10)
        let baselineAt = after(t0, minutes: 20...240)
        pain(baselineAt, baseline)
        fillerFrom = baselineAt + minutes(30)
        let pressor = rng.chance(0.85) ? "norepinephrine" : "dopamine"
        add(after(examAt, minutes: 20...120), .medication(pressor, action: "started"))
        imaging(after(examAt, minutes: 120...600), "mri", Findings(compressionFracture: true, acuity: "acute", heightLossPercent: heightLoss,
                                                                  kyphosisDegrees: kyphosis, morphology: "burst",
                                                                  posteriorLigamentousComplex: "injured", unstable: true,
                                                                  cordCompression: "significant"))
        // MAP over the first days of the 7-day window.
        var mapAt = examAt
        for _ in 0..<rng.int(in: 3...6) {
            mapAt = after(mapAt, minutes: 240...720)
            add(mapAt, .vitals(map: rng.int(in: 72...96), spo2: rng.int(in: 90...99), fvc: nil, pulmonaryDysfunction: nil))
        }
        mapWindow = examAt..<(examAt + .days(7))
        add(after(examAt, days: 5...7), .medication(pressor, action: "stopped"))
        if rng.chance(0.7) { update(.icuAdmission, "completed", at: after(examAt, minutes: 30...240)) }
        if rng.chance(0.5) { update(.arterialLine, "completed", at: after(examAt, minutes: 40...240)) }
        if rng.chance(0.85) {
            let accepted = after(examAt, minutes: 20...100)
            update(.spineSurgeryConsult, "accepted", at: accepted)
            if rng.chance(0.85) { update(.spineSurgeryConsult, "completed", at: after(accepted, minutes: 180...1200)) }
        }
        if rng.chance(0.4) { add(after(t0, days: 2...6), .cleared(cervical: true, thoracolumbar: nil)) }
        let followUp = after(examAt, days: 5...12)
        let improved = ["A": "A", "B": "C", "C": "D"][grade] ?? grade
        add(followUp, .neuro(Exam(motorDeficit: true, spinalCordInjury: true, asiaGrade: improved)))
        trajectory = PainTrajectory(anchor: examAt, baseline: baseline, kind: .persistent)
        fillerMedications = ["opioid", "acetaminophen", "calcium-vitamin-d"]
    }

    mutating func highEnergyTrauma() {
        add(t0, .presented(age: rng.int(in: 18...80), sex: rng.chance(0.65) ? "male" : "female", mechanism: "high-energy-trauma",
                           levels: levels, history: rng.chance(0.7) ? [] : nil, fever: false))
        let burst = rng.chance(0.25)
        let plc = rng.weighted([("intact", 75), ("indeterminate", 15), ("injured", 10)])
        let ctAt = after(t0, minutes: 30...120)
        let findings = Findings(compressionFracture: true, acuity: "acute", heightLossPercent: heightLoss, kyphosisDegrees: kyphosis,
                                morphology: burst ? "burst" : "compression", posteriorLigamentousComplex: plc, unstable: false,
                                cordCompression: rng.chance(0.8) ? "none" : "mild", suspiciousForMalignancy: false,
                                discitisOsteomyelitis: false)
        imaging(ctAt, "ct", findings)
        let examAt = after(t0, minutes: 40...180)
        add(examAt, .neuro(intactExam()))
        let baseline = rng.int(in: 5...9)
        let baselineAt = after(t0, minutes: 30...300)
        pain(baselineAt, baseline)
        fillerFrom = baselineAt + minutes(30)
        add(after(t0, minutes: 60...300), .medication("opioid", action: "started"))
        let mriAt = after(t0, minutes: 240...(3 * 24 * 60))
        imaging(mriAt, "mri", findings)
        if rng.chance(0.3) {
            add(after(t0, minutes: 180...1440), .cleared(cervical: true, thoracolumbar: true))
        } else {
            if rng.chance(0.9) { add(after(t0, minutes: 180...1440), .cleared(cervical: true, thoracolumbar: nil)) }
            if rng.chance(0.75) { add(after(t0, days: 1...4), .cleared(cervical: nil, thoracolumbar: true)) }
        }
        var cm = max(ctAt, examAt, mriAt)
        // TLICS: burst 2 + injured ligaments 3 + intact 0 = 5: an instability consult.
        if burst, plc == "injured" {
            let accepted = after(ctAt, minutes: 240...1440)
            update(.spineSurgeryConsult, "accepted", at: accepted)
            guard rng.chance(0.85) else {
                trajectory = PainTrajectory(anchor: cm, baseline: baseline, kind: .persistent)
                return
            }
            let completed = after(accepted, days: 1...3)
            update(.spineSurgeryConsult, "completed", at: completed)
            cm = max(cm, completed)
        }
        fillerMedications = ["opioid", "acetaminophen", "nsaid"]
        conservativeCourse(cm: cm, baseline: baseline, outcome: chooseOutcome(augmentable: false, baseline: baseline),
                           augmentable: false)
    }

    mutating func pathologic() {
        enum Variant { case malignancy, weightLoss, young }
        let variant = rng.weighted([(Variant.malignancy, 50), (.weightLoss, 25), (.young, 25)])
        let age: Int
        var history: [(String, Bool)] = []
        switch variant {
        case .malignancy:
            age = rng.int(in: 50...85)
            history = [("knownMalignancy", true)]
        case .weightLoss:
            age = rng.int(in: 55...85)
            history = [("unexplainedWeightLoss", true), ("constitutionalSymptoms", rng.chance(0.5))]
        case .young:
            age = rng.int(in: 30...49)
            history = [("osteoporosis", rng.chance(0.3)), ("glucocorticoidUse", rng.chance(0.3))]
        }
        add(t0, .presented(age: age, sex: rng.chance(0.55) ? "female" : "male",
                           mechanism: rng.weighted([("low-energy", 50), ("atraumatic", 40), ("unknown", 10)]),
                           levels: levels, history: history, fever: false))
        imaging(after(t0, minutes: 60...240), "xray", stableFindings(acuity: nil))
        add(after(t0, minutes: 60...300), .neuro(intactExam()))
        let baseline = rng.int(in: 4...9)
        let baselineAt = after(t0, minutes: 30...360)
        pain(baselineAt, baseline)
        fillerFrom = baselineAt + minutes(30)
        let suspicious = rng.chance(variant == .malignancy ? 0.7 : variant == .weightLoss ? 0.5 : 0.15)
        var mri = stableFindings(acuity: rng.pick(["acute", "subacute"]))
        mri.suspiciousForMalignancy = suspicious
        let mriAt = after(t0, minutes: 360...(3 * 24 * 60))
        imaging(mriAt, "mri", mri)
        imaging(after(mriAt, days: 1...3), "mri", contrast: "with", region: "whole-spine", mri)
        let malignant = rng.chance(variant == .malignancy ? 0.75 : variant == .weightLoss ? 0.5 : 0.15)
        let biopsyAt = after(mriAt, days: 3...9)
        var benign = false
        if malignant {
            add(biopsyAt, .biopsy(specimen: "vertebral-body", histology: "malignant", metastatic: rng.chance(0.7), organism: nil))
            let accepted = after(biopsyAt, days: 1...4)
            update(.oncologyReferral, "accepted", at: accepted)
            if rng.chance(0.7) { update(.oncologyReferral, "completed", at: after(accepted, days: 2...10)) }
        } else {
            benign = rng.chance(0.85)
            add(biopsyAt, .biopsy(specimen: "vertebral-body", histology: benign ? "benign" : "nondiagnostic",
                                  metastatic: false, organism: nil))
        }
        var cm: Timestamp? = benign ? biopsyAt : nil
        if rng.chance(0.8) {
            let mdt = after(biopsyAt, days: 1...4)
            update(.multidisciplinaryEvaluation, "completed", at: mdt)
            cm = cm ?? mdt
        }
        fillerMedications = ["acetaminophen", "opioid", "nsaid", "calcium-vitamin-d"]
        if let cm {
            let augmentable = variant == .young
            conservativeCourse(cm: cm, baseline: baseline, outcome: chooseOutcome(augmentable: augmentable, baseline: baseline),
                               augmentable: augmentable)
        } else {
            trajectory = PainTrajectory(anchor: t0, baseline: baseline, kind: .persistent)
        }
    }

    mutating func infection() {
        add(t0, .presented(age: rng.int(in: 50...85), sex: rng.chance(0.6) ? "male" : "female",
                           mechanism: rng.weighted([("atraumatic", 80), ("unknown", 20)]), levels: levels,
                           history: [("injectionDrugUse", rng.chance(0.2)), ("immunosuppressed", rng.chance(0.25))],
                           fever: rng.chance(0.6)))
        let examAt = after(t0, minutes: 60...360)
        add(examAt, .neuro(rng.chance(0.9) ? intactExam() : Exam(motorDeficit: false, sensoryDeficit: true)))
        let baseline = rng.int(in: 5...9)
        let baselineAt = after(t0, minutes: 30...300)
        pain(baselineAt, baseline)
        fillerFrom = baselineAt + minutes(30)
        let mriAt = after(t0, minutes: 180...1440)
        var mri = Findings(compressionFracture: rng.chance(0.5), discitisOsteomyelitis: true)
        mri.cordCompression = "none"
        imaging(mriAt, "mri", contrast: rng.chance(0.5) ? "with" : "none", mri)
        update(.inflammatoryMarkers, "completed", at: after(mriAt, minutes: 60...720))
        let organisms = [("Staphylococcus aureus", 40), ("Methicillin-resistant Staphylococcus aureus", 10), ("Escherichia coli", 15),
                         ("Streptococcus agalactiae", 10), ("Pseudomonas aeruginosa", 8), ("Mycobacterium tuberculosis", 7),
                         ("Coagulase-negative staphylococci", 10)]
        let cultureAt = after(mriAt, minutes: 1440...3600)
        let cultureOrganism: String? = rng.chance(0.45) ? rng.weighted(organisms) : nil
        add(cultureAt, .biopsy(specimen: "blood-culture", histology: nil, metastatic: nil, organism: cultureOrganism))
        let biopsyAt = after(mriAt, days: 2...5)
        var biopsyOrganism: String?
        if rng.chance(0.65) {
            let fresh = rng.weighted(organisms)
            biopsyOrganism = cultureOrganism ?? fresh
        }
        add(biopsyAt, .biopsy(specimen: rng.chance(0.7) ? "vertebral-body" : "disc",
                              histology: biopsyOrganism == nil ? "nondiagnostic" : "infection", metastatic: false,
                              organism: biopsyOrganism))
        // Therapy starts with the first qualifying organism (the imaging already shows the spine
        // infected): a culture unless it grew a possible contaminant, else the biopsy.
        let cultureQualifies = cultureOrganism.map { !$0.lowercased().contains("coagulase-negative") } ?? false
        var treated: (organism: String, at: Timestamp)? = cultureQualifies ? (cultureOrganism!, cultureAt)
            : biopsyOrganism.map { ($0, biopsyAt) }
        if treated == nil, rng.chance(0.5) {
            let repeatAt = after(biopsyAt, days: 7...14)
            let organism = rng.weighted(organisms)
            add(repeatAt, .biopsy(specimen: "vertebral-body", histology: "infection", metastatic: false, organism: organism))
            treated = (organism, repeatAt)
        }
        trajectory = PainTrajectory(anchor: t0, baseline: baseline, kind: .resolve(day: rng.int(in: 40...80), final: rng.int(in: 1...3)))
        fillerMedications = ["acetaminophen", "opioid"]
        guard let (organism, organismAt) = treated else { return }
        if organism.contains("tuberculosis") {
            // Specialist therapy, led by infectious diseases: no IV antibiotic course.
            update(.infectiousDiseasesConsult, "completed", at: after(organismAt, days: 1...3))
            return
        }
        ivAntibioticCourse(from: organismAt, startsMedication: true)
    }

    /// The targeted IV antibiotic course from the organism result: the antibiotic started
    /// (unless already running), the task accepted, follow-up markers and completion for most.
    mutating func ivAntibioticCourse(from organismAt: Timestamp, startsMedication: Bool) {
        if startsMedication { add(after(organismAt, minutes: 60...480), .medication("iv-antibiotic", action: "started")) }
        update(.ivAntibiotics, "accepted", at: after(organismAt, minutes: 30...240))
        if rng.chance(0.5) { update(.inflammatoryMarkersFollowup, "completed", at: after(organismAt, days: 28...34)) }
        if rng.chance(0.6) {
            let done = after(organismAt, days: 42...56)
            update(.ivAntibiotics, "completed", at: done)
            add(done + minutes(30), .medication("iv-antibiotic", action: "stopped"))
        }
    }

    // MARK: Stories of contract version 3

    /// A nerve-root deficit during conservative care, its stat consult accepted and completed;
    /// days later a new, worse exam (bowel/bladder dysfunction, cauda equina): a neurological
    /// worsening after a completed consult, which must reach a surgeon (the second consult) again.
    mutating func recurrentDeficit() {
        add(t0, .presented(age: rng.int(in: 60...90), sex: rng.chance(0.65) ? "female" : "male",
                           mechanism: rng.weighted([("low-energy", 75), ("atraumatic", 15), ("unknown", 10)]),
                           levels: levels, history: [("osteoporosis", rng.chance(0.6))], fever: false))
        let xrayAt = after(t0, minutes: 45...240)
        imaging(xrayAt, "xray", stableFindings(acuity: nil))
        let examAt = after(t0, minutes: 60...360)
        add(examAt, .neuro(intactExam()))
        let baseline = rng.int(in: 5...8)
        let baselineAt = after(t0, minutes: 30...300)
        pain(baselineAt, baseline)
        fillerFrom = baselineAt + minutes(30)
        let mriAt = after(t0, minutes: (6 * 60)...(3 * 24 * 60))
        imaging(mriAt, "mri", stableFindings(acuity: "acute"))
        let cm = max(xrayAt, examAt, mriAt)  // conservative care
        trajectory = PainTrajectory(anchor: cm, baseline: baseline, kind: .persistent)
        // The first deficit, during conservative care: a stat referral (consult 1).
        let firstAt = after(cm, days: 3...20)
        let first = rng.chance(0.6)
            ? Exam(motorDeficit: true, sensoryDeficit: false, bowelBladderDysfunction: false, spinalCordInjury: false,
                   neuroStatus: "nerve-root")
            : Exam(motorDeficit: false, sensoryDeficit: true, bowelBladderDysfunction: false, neuroStatus: "nerve-root")
        add(firstAt, .neuro(first))
        var mri = stableFindings(acuity: "subacute")
        mri.cordCompression = rng.chance(0.5) ? "mild" : "none"
        if rng.chance(0.5) { imaging(after(firstAt, minutes: 60...240), "mri", mri) }  // else the worse exam asks for the MRI
        let accepted = after(firstAt, minutes: 20...100)
        update(.spineSurgeryConsult, "accepted", at: accepted)
        let completed = after(firstAt, minutes: 300...1200)
        update(.spineSurgeryConsult, "completed", at: completed)
        // Days later, worse: newly bowel/bladder dysfunction, cauda equina.
        let worseAt = after(completed, days: 2...10)
        add(worseAt, .neuro(Exam(motorDeficit: true, sensoryDeficit: true, bowelBladderDysfunction: true, spinalCordInjury: false,
                                 neuroStatus: "cauda-equina")))
        imaging(after(worseAt, minutes: 45...240), "mri", mri)
        add(after(worseAt, minutes: 30...180), .medication("opioid", action: "started"))
        fillerMedications = ["acetaminophen", "opioid", "nsaid", "bisphosphonate"]
        // The second consult (request 2), accepted and completed downstream, mostly.
        guard rng.chance(0.75) else { return }
        let accepted2 = after(worseAt, minutes: 20...100)
        update(.spineSurgeryConsult, "accepted", at: accepted2, request: 2)
        guard rng.chance(0.9) else { return }
        let completed2 = after(worseAt, minutes: 300...1200)
        update(.spineSurgeryConsult, "completed", at: completed2, request: 2)
        add(after(completed2, days: 1...5), .neuro(intactExam()))
    }

    /// Fever with injection drug use or immunosuppression: infection suspected at presentation. A
    /// blood culture with no growth, then a contrast MRI showing the fracture and no
    /// discitis-osteomyelitis: infection excluded; conservative care.
    mutating func infectionExcluded() {
        let risk = rng.weighted([("injectionDrugUse", 50), ("immunosuppressed", 50)])
        var history: [(String, Bool)] = [(risk, true)]
        if risk == "immunosuppressed", rng.chance(0.4) { history.append(("glucocorticoidUse", true)) }
        if rng.chance(0.5) { history.append(("osteoporosis", rng.chance(0.5))) }
        // 50 or older: younger, a fragility fracture would also start a pathologic workup.
        add(t0, .presented(age: rng.int(in: 50...80), sex: rng.chance(0.55) ? "male" : "female",
                           mechanism: rng.weighted([("low-energy", 50), ("atraumatic", 40), ("unknown", 10)]),
                           levels: levels, history: history, fever: true))
        let xrayAt = after(t0, minutes: 45...240)
        imaging(xrayAt, "xray", stableFindings(acuity: rng.chance(0.5) ? nil : "indeterminate"))
        add(after(t0, minutes: 60...360), .neuro(intactExam()))
        let baseline = rng.int(in: 4...8)
        let baselineAt = after(t0, minutes: 30...300)
        pain(baselineAt, baseline)
        fillerFrom = baselineAt + minutes(30)
        add(after(t0, minutes: 120...360), .medication("acetaminophen", action: "started"))
        let cultureAt = after(t0, minutes: (44 * 60)...(56 * 60))
        add(cultureAt, .biopsy(specimen: "blood-culture", histology: nil, metastatic: nil,
                               organism: rng.weighted([("no growth", 70), ("No growth at 48 hours", 30)])))
        let mriAt = after(cultureAt, minutes: 60...1440)
        imaging(mriAt, "mri", contrast: "with", stableFindings(acuity: rng.weighted([("acute", 80), ("subacute", 20)])))
        fillerMedications = ["acetaminophen", "opioid", "nsaid", "calcium-vitamin-d"]
        conservativeCourse(cm: mriAt, baseline: baseline, outcome: chooseOutcome(augmentable: true, baseline: baseline),
                           augmentable: true)
    }

    /// A spinal infection treated, three ways: S. aureus bacteremia with discitis-osteomyelitis on
    /// MRI (no biopsy needed; septic for some, so empiric antibiotics first); M. tuberculosis on a
    /// vertebral-body biopsy (specialist therapy); or S. epidermidis, a possible contaminant, on one
    /// blood culture, confirmed by a second.
    mutating func infectionTreated() {
        enum Variant { case aureusBacteremia, tuberculosis, contaminantConfirmed }
        let variant = rng.weighted([(Variant.aureusBacteremia, 45), (.tuberculosis, 25), (.contaminantConfirmed, 30)])
        let history: [(String, Bool)] = variant == .tuberculosis
            ? [("immunosuppressed", rng.chance(0.4))]
            : [(rng.chance(0.5) ? "injectionDrugUse" : "immunosuppressed", true)]
        add(t0, .presented(age: rng.int(in: 50...85), sex: rng.chance(0.6) ? "male" : "female",
                           mechanism: rng.weighted([("atraumatic", 80), ("unknown", 20)]), levels: levels,
                           history: history, fever: variant == .tuberculosis ? rng.chance(0.4) : rng.chance(0.85)))
        add(after(t0, minutes: 60...360), .neuro(intactExam()))
        let baseline = rng.int(in: 5...9)
        let baselineAt = after(t0, minutes: 30...300)
        pain(baselineAt, baseline)
        fillerFrom = baselineAt + minutes(30)
        trajectory = PainTrajectory(anchor: t0, baseline: baseline, kind: .resolve(day: rng.int(in: 40...80), final: rng.int(in: 1...3)))
        fillerMedications = ["acetaminophen", "opioid"]
        var septicAt: Timestamp?
        if variant == .aureusBacteremia, rng.chance(0.35) {
            let at = after(t0, minutes: 30...180)
            add(at, .vitals(map: rng.int(in: 52...64), spo2: rng.int(in: 90...97), fvc: nil, pulmonaryDysfunction: nil))
            add(after(at, minutes: 30...120), .medication("iv-antibiotic", action: "started"))  // empiric, once cultures are drawn
            septicAt = at
        }
        let mriAt = after(t0, minutes: 180...1440)
        let fractured = rng.chance(0.6)
        let mri = Findings(compressionFracture: fractured, acuity: fractured ? rng.pick(["acute", "subacute"]) : nil,
                           cordCompression: "none", suspiciousForMalignancy: false, discitisOsteomyelitis: true)
        imaging(mriAt, "mri", contrast: "with", mri)
        update(.inflammatoryMarkers, "completed", at: after(mriAt, minutes: 60...720))
        let organismAt: Timestamp
        switch variant {
        case .aureusBacteremia:
            organismAt = after(t0, minutes: (24 * 60)...(60 * 60))
            add(organismAt, .biopsy(specimen: "blood-culture", histology: nil, metastatic: nil,
                                    organism: rng.weighted([("Staphylococcus aureus", 75),
                                                            ("Methicillin-resistant Staphylococcus aureus", 25)])))
        case .tuberculosis:
            add(after(t0, minutes: (24 * 60)...(60 * 60)), .biopsy(specimen: "blood-culture", histology: nil, metastatic: nil,
                                                                organism: "no growth"))
            let biopsyAt = after(mriAt, days: 3...10)
            add(biopsyAt, .biopsy(specimen: "vertebral-body", histology: "infection", metastatic: false,
                                  organism: "Mycobacterium tuberculosis"))
            // Specialist therapy (infectious diseases); no 6-8-week IV course.
            trajectory = PainTrajectory(anchor: t0, baseline: baseline, kind: .resolve(day: rng.int(in: 60...100), final: rng.int(in: 1...3)))
            return
        case .contaminantConfirmed:
            let first = after(t0, minutes: (24 * 60)...(60 * 60))
            add(first, .biopsy(specimen: "blood-culture", histology: nil, metastatic: nil, organism: "Staphylococcus epidermidis"))
            organismAt = after(first, days: 1...3)
            add(organismAt, .biopsy(specimen: "blood-culture", histology: nil, metastatic: nil, organism: "Staphylococcus epidermidis"))
            if rng.chance(0.4) {
                add(after(organismAt, days: 1...4), .biopsy(specimen: rng.chance(0.7) ? "vertebral-body" : "disc",
                                                            histology: "infection", metastatic: false,
                                                            organism: "Staphylococcus epidermidis"))
            }
        }
        ivAntibioticCourse(from: max(organismAt, mriAt), startsMedication: septicAt == nil)
    }

    /// A deficit; the stat spine surgery consult is rejected downstream 3 hours after the exam (after
    /// its 2-hour acceptance deadline); the consult requested again (request 2) is accepted and
    /// completed; then post-operative conservative care.
    mutating func rejectedConsult() {
        add(t0, .presented(age: rng.int(in: 55...90), sex: rng.chance(0.65) ? "female" : "male",
                           mechanism: rng.weighted([("low-energy", 75), ("atraumatic", 15), ("unknown", 10)]),
                           levels: levels, history: [("osteoporosis", rng.chance(0.5))], fever: false))
        imaging(after(t0, minutes: 45...180), "xray", stableFindings(acuity: nil))
        let examAt = after(t0, minutes: 60...240)
        let deficit: Exam = switch rng.int(in: 0...2) {
        case 0: Exam(motorDeficit: true, sensoryDeficit: false, bowelBladderDysfunction: false, spinalCordInjury: false,
                     neuroStatus: "nerve-root")
        case 1: Exam(motorDeficit: false, sensoryDeficit: true, bowelBladderDysfunction: false)
        default: Exam(motorDeficit: true, sensoryDeficit: true, bowelBladderDysfunction: true, spinalCordInjury: false,
                      neuroStatus: "cauda-equina")
        }
        add(examAt, .neuro(deficit))
        let baseline = rng.int(in: 6...9)
        let baselineAt = after(t0, minutes: 30...300)
        pain(baselineAt, baseline)
        fillerFrom = baselineAt + minutes(30)
        var mri = stableFindings(acuity: "acute")
        mri.cordCompression = rng.chance(0.5) ? "mild" : "none"
        imaging(after(examAt, minutes: 30...150), "mri", mri)
        let rejectedAt = examAt + minutes(180)
        update(.spineSurgeryConsult, "rejected", at: rejectedAt)
        let accepted = after(rejectedAt, minutes: 20...100)
        update(.spineSurgeryConsult, "accepted", at: accepted, request: 2)
        let completed = after(rejectedAt, minutes: 300...1200)
        update(.spineSurgeryConsult, "completed", at: completed, request: 2)
        let postOpAt = after(completed, days: 1...5)
        add(postOpAt, .neuro(intactExam()))
        fillerMedications = ["acetaminophen", "opioid", "nsaid", "bisphosphonate"]
        // A deficit in the episode: no augmentation evaluation.
        conservativeCourse(cm: postOpAt, baseline: baseline, outcome: rng.chance(0.8) ? .resolve : .persistent, augmentable: false)
    }

    /// An osteoporotic history that resolves (MRI, intact exam, the reassessment visit completed on
    /// day 30 of conservative care, NRS 2 after day 28); about four months later an acute
    /// compression fracture at a new level: a second episode.
    mutating func secondEpisode() {
        add(t0, .presented(age: max(rng.int(in: 60...95), rng.int(in: 60...95)), sex: rng.chance(0.75) ? "female" : "male",
                           mechanism: rng.weighted([("low-energy", 75), ("atraumatic", 15), ("unknown", 10)]),
                           levels: levels, history: [("osteoporosis", rng.chance(0.7))], fever: false))
        let xrayAt = after(t0, minutes: 45...240)
        imaging(xrayAt, "xray", stableFindings(acuity: nil))
        let examAt = after(t0, minutes: 60...360)
        add(examAt, .neuro(intactExam()))
        let baseline = rng.int(in: 5...8)
        let baselineAt = after(t0, minutes: 90...480)
        pain(baselineAt, baseline)
        fillerFrom = baselineAt + minutes(30)
        let mriAt = after(t0, minutes: (6 * 60)...(5 * 24 * 60))
        imaging(mriAt, "mri", stableFindings(acuity: "acute"))
        let cm = max(xrayAt, examAt, mriAt)
        // Resolution: NRS 2 after day 28, the visit completed on day 30.
        pain(cm + .days(28) + minutes(rng.int(in: 60...1200)), 2)
        let visitAt = cm + .days(30) + minutes(rng.int(in: 0...480))
        update(.reassessmentVisit, "completed", at: visitAt)
        // About four months later, an acute fracture at a new level (above the first: T12 after L1).
        let newAt = after(visitAt, days: 100...140)
        let first = Self.thoracolumbarLevels.firstIndex(of: levels[0]) ?? 9
        let newLevel = Self.thoracolumbarLevels[max(0, first - (rng.chance(0.7) ? 1 : 2))]
        let relapseBaseline = rng.int(in: 5...8)
        trajectory = PainTrajectory(anchor: cm, baseline: baseline,
                                    kind: .relapse(day: rng.int(in: 14...28), final: rng.int(in: 0...2),
                                                   relapseDay: Int((newAt - cm).milliseconds / 86_400_000),
                                                   relapseBaseline: relapseBaseline))
        levels = [newLevel]
        heightLoss = rng.int(in: 10...35)
        kyphosis = rng.int(in: 3...15)
        let xray = rng.chance(0.7)
        imaging(newAt, xray ? "xray" : "mri", stableFindings(acuity: "acute"))
        pain(after(newAt, minutes: 20...240), relapseBaseline)
        add(after(newAt, minutes: 30...300), .neuro(intactExam()))
        if xray { imaging(after(newAt, days: 1...5), "mri", stableFindings(acuity: "acute")) }
        fillerMedications = ["acetaminophen", "opioid", "nsaid", "bisphosphonate", "calcium-vitamin-d"]
    }

    /// An osteoporotic history whose MRI or baseline NRS is re-sent with the same `source` and `id`
    /// but other content (a correction under the old id), at the same `time`, right after it.
    mutating func conflictingCorrection() {
        osteoporotic()
        let mri = core.firstIndex { if case .imaging(let modality, _, _, _, _) = $0.payload { modality == "mri" } else { false } }
        let nrs = core.firstIndex { if case .pain = $0.payload { true } else { false } }
        guard let target = rng.chance(0.5) ? mri ?? nrs : nrs ?? mri else { return }
        let original = core[target]
        let corrected: Payload
        switch original.payload {
        case .imaging(let modality, let contrast, let region, let levels, var findings):
            findings.heightLossPercent = min(100, (findings.heightLossPercent ?? heightLoss) + rng.int(in: 5...15))
            if rng.chance(0.5) { findings.kyphosisDegrees = min(90, (findings.kyphosisDegrees ?? kyphosis) + rng.int(in: 3...8)) }
            corrected = .imaging(modality: modality, contrast: contrast, region: region, levels: levels, findings: findings)
        case .pain(let value, let onAnalgesics):
            corrected = .pain(nrs: value >= 6 ? value - rng.int(in: 2...4) : value + rng.int(in: 2...4), onAnalgesics: onAnalgesics)
        default:
            return
        }
        core.append(Planned(at: original.at, payload: corrected, coreIndex: core.count, resendOf: target))
    }

    // MARK: Writing

    /// - Parameter idSequence: the sequence whose id the event carries (its own, but for a re-send).
    func write(_ planned: Planned, sequence: Int, idSequence: Int) -> SyntheticEvent {
        let id = patientId + "-e" + Self.padded(idSequence + 1, 3)
        let time = Self.format(planned.at, offsetMinutes: utcOffsetMinutes)
        var type = planned.payload.type
        var w = JSONWriter(capacity: 512)
        func envelope(_ type: String, source: String, _ data: (inout JSONWriter) -> Void) {
            w.object { o in
                o.field("specversion", "1.0")
                o.field("id", id)
                o.field("source", source)
                o.field("type", type)
                o.field("subject", patientId)
                o.field("time", time)
                o.field("datacontenttype", "application/json")
                o.field("data", data)
            }
        }
        switch planned.malformation {
        case nil:
            envelope(type, source: planned.payload.source) { planned.payload.write(to: &$0) }
        case .nrsOutOfRange?:
            type = "pain.assessed"
            envelope(type, source: "urn:hospital:emr") { w in
                w.object { o in
                    o.field("nrs", sequence % 2 == 0 ? 11 : -1)
                    o.field("onAnalgesics", true)
                }
            }
        case .nrsNotInteger?:
            type = "pain.assessed"
            envelope(type, source: "urn:hospital:emr") { w in
                w.object { o in
                    if sequence % 2 == 0 { o.field("nrs", "seven") } else { o.field("nrs", 6.5) }
                }
            }
        case .unknownType?:
            type = "lab.resulted"
            envelope(type, source: "urn:hospital:lis") { w in
                w.object { o in
                    o.field("test", "calcium")
                    o.field("value", 2.31)
                    o.field("unit", "mmol/L")
                }
            }
        case .invalidJSON?:
            envelope(type, source: planned.payload.source) { planned.payload.write(to: &$0) }
            w.bytes.removeLast(w.bytes.count / 3)  // a truncated message
        }
        return SyntheticEvent(bytes: w.bytes, patientId: patientId, patientIndex: index, sequence: sequence, time: planned.at,
                              archetype: archetype, type: type, isMalformed: planned.malformation != nil,
                              isConflictingDuplicate: idSequence != sequence)
    }

    static func padded(_ n: Int, _ width: Int) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// RFC 3339 in the patient's local offset (`Z` when it is UTC).
    static func format(_ t: Timestamp, offsetMinutes: Int) -> String {
        guard offsetMinutes != 0 else { return t.rfc3339 }
        var local = (t + Span(milliseconds: Int64(offsetMinutes) * 60_000)).rfc3339
        local.removeLast()  // "Z"
        let m = abs(offsetMinutes)
        return local + (offsetMinutes < 0 ? "-" : "+") + padded(m / 60, 2) + ":" + padded(m % 60, 2)
    }
}

extension Payload {
    func write(to w: inout JSONWriter) {
        w.object { o in
            switch self {
            case .presented(let age, let sex, let mechanism, let levels, let history, let fever):
                o.field("ageYears", age)
                o.field("sex", sex)
                o.field("mechanism", mechanism)
                o.field("fractureLevels", strings: levels)
                if let history {
                    o.field("history") { w in
                        w.object { h in
                            for (key, value) in history { h.field(key, value) }
                        }
                    }
                }
                o.optional("fever", fever)
            case .imaging(let modality, let contrast, let region, let levels, let f):
                o.field("modality", modality)
                o.field("contrast", contrast)
                o.field("region", region)
                o.field("levels", strings: levels)
                o.field("findings") { w in
                    w.object { o in
                        o.optional("compressionFracture", f.compressionFracture)
                        o.optional("acuity", f.acuity)
                        o.optional("heightLossPercent", f.heightLossPercent)
                        o.optional("kyphosisDegrees", f.kyphosisDegrees)
                        o.optional("morphology", f.morphology)
                        o.optional("posteriorLigamentousComplex", f.posteriorLigamentousComplex)
                        o.optional("unstable", f.unstable)
                        o.optional("cordCompression", f.cordCompression)
                        o.optional("suspiciousForMalignancy", f.suspiciousForMalignancy)
                        o.optional("discitisOsteomyelitis", f.discitisOsteomyelitis)
                    }
                }
            case .neuro(let e):
                o.optional("motorDeficit", e.motorDeficit)
                o.optional("sensoryDeficit", e.sensoryDeficit)
                o.optional("bowelBladderDysfunction", e.bowelBladderDysfunction)
                o.optional("spinalCordInjury", e.spinalCordInjury)
                o.optional("asiaGrade", e.asiaGrade)
                o.optional("neuroStatus", e.neuroStatus)
            case .biopsy(let specimen, let histology, let metastatic, let organism):
                o.field("specimen", specimen)
                o.optional("histology", histology)
                o.optional("metastatic", metastatic)
                o.nullable("organism", organism)
            case .pain(let nrs, let onAnalgesics):
                o.field("nrs", nrs)
                o.field("onAnalgesics", onAnalgesics)
            case .vitals(let map, let spo2, let fvc, let pulmonary):
                o.optional("meanArterialPressure", map)
                o.optional("spo2", spo2)
                o.optional("fvcPercentPredicted", fvc)
                o.optional("pulmonaryDysfunction", pulmonary)
            case .medication(let medication, let action):
                o.field("medication", medication)
                o.field("action", action ?? "started")
            case .taskUpdated(let taskId, let status):
                o.field("taskId", taskId)
                o.field("status", status)
            case .cleared(let cervical, let thoracolumbar):
                o.optional("cervical", cervical)
                o.optional("thoracolumbar", thoracolumbar)
            }
        }
    }
}
