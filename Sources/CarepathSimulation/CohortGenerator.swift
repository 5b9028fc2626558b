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
/// The generator writes the input format through the pathway's own input
/// types: every event that is not deliberately malformed is an ``InputEvent``
/// written by ``InputEvent/writeCloudEvent(to:timeOffsetMinutes:)``, so it is
/// what ``InputDecoder/decode(_:)`` accepts and writing the decoded event again
/// gives the same bytes. The malformed events, which no valid `InputEvent` can
/// hold, are raw bytes built on purpose.
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
    /// The UTC offset `time` is written in, in minutes east of UTC (the patient's hospital's; 0 writes `Z`).
    public var timeOffsetMinutes: Int
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
    static func - (lhs: Timestamp, rhs: Span) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: lhs.millisecondsSinceEpoch - rhs.milliseconds)
    }
}

/// A generated event before it is written.
struct Planned {
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

/// How a deliberately malformed event is broken (written as raw bytes by
/// ``PatientBuilder/writeMalformed(_:_:id:sequence:to:)``, not as an ``InputEvent``).
enum Malformation: CaseIterable {
    case nrsOutOfRange, nrsNotInteger, unknownType, invalidJSON
}

struct Findings {
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

struct Exam {
    var motorDeficit: Bool?
    var sensoryDeficit: Bool?
    var bowelBladderDysfunction: Bool?
    var spinalCordInjury: Bool?
    var asiaGrade: String?
    var neuroStatus: String?
}

enum Payload {
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

    /// The producing system that sends it.
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
struct PainTrajectory {
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

    /// The NRS at `time` (0-10); `noise` adds ±1 now and then without crossing the story's thresholds.
    func nrs(at time: Timestamp, noise rng: inout SplitMix64) -> Int {
        let day = Int((time - anchor).milliseconds / 86_400_000)
        let jitter = rng.weighted([(-1, 2), (0, 6), (1, 2)])
        switch kind {
        case .resolve(let resolveDay, let final):
            if day >= resolveDay { return max(0, min(3, final + (jitter < 0 ? -1 : 0))) }
            let span = max(1, resolveDay)
            let declined = baseline - (baseline - final) * max(0, day) / span
            return max(4, min(baseline + 1, 10, declined + jitter))
        case .persistent:
            return max(4, min(10, baseline + jitter))
        case .worsening(let worseDay, let peak, let reliefDay, let final):
            if let reliefDay, day >= reliefDay { return max(0, min(3, final)) }
            if day >= worseDay { return peak }
            return max(4, min(baseline + 1, 10, baseline + jitter))
        case .relapse(let resolveDay, let final, let relapseDay, let relapseBaseline):
            if day >= relapseDay { return max(4, min(10, relapseBaseline + jitter)) }
            if day >= resolveDay { return max(0, min(3, final + (jitter < 0 ? -1 : 0))) }
            let declined = baseline - (baseline - final) * max(0, day) / max(1, resolveDay)
            return max(4, min(baseline + 1, 10, declined + jitter))
        }
    }
}

/// Builds one patient: the helpers the stories share, the patient loop
/// (``build()``, ``finish()``) and the writing are here; each story (one per
/// ``Archetype``) and conservative care are extensions in `Stories/`.
struct PatientBuilder {
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

    // MARK: Writing

    /// Writes one event. A well-formed event is an ``InputEvent`` written by the pathway's own
    /// encoder, ``InputEvent/writeCloudEvent(to:timeOffsetMinutes:)``, with its time in the
    /// patient's UTC offset; a malformed one is raw bytes built on purpose (``writeMalformed(_:_:id:sequence:to:)``).
    /// - Parameters:
    ///   - planned: the event.
    ///   - sequence: its 0-based position among the patient's events.
    ///   - idSequence: the sequence whose id the event carries (its own, but for a re-send).
    func write(_ planned: Planned, sequence: Int, idSequence: Int) -> SyntheticEvent {
        let id = patientId + "-e" + Self.padded(idSequence + 1, 3)
        var w = JSONWriter(capacity: 512)
        let type: String
        if let malformation = planned.malformation {
            type = writeMalformed(malformation, planned, id: id, sequence: sequence, to: &w)
        } else {
            let event = inputEvent(planned, id: id)
            event.writeCloudEvent(to: &w, timeOffsetMinutes: utcOffsetMinutes)
            type = event.type.rawValue
        }
        return SyntheticEvent(bytes: w.bytes, patientId: patientId, patientIndex: index, sequence: sequence, time: planned.at,
                              timeOffsetMinutes: utcOffsetMinutes, archetype: archetype, type: type,
                              isMalformed: planned.malformation != nil, isConflictingDuplicate: idSequence != sequence)
    }

    /// The input event a planned event is when it is not malformed.
    /// - Parameters:
    ///   - planned: the event.
    ///   - id: its CloudEvents `id`.
    func inputEvent(_ planned: Planned, id: String) -> InputEvent {
        // The fingerprint is what a consumer computes from the bytes it receives: writing does not read it.
        InputEvent(id: id, source: planned.payload.source, subject: patientId, time: planned.at, data: planned.payload.data,
                   fingerprint: "")
    }

    // MARK: Deliberately malformed events: raw bytes

    /// Writes a deliberately malformed event, which carepath must dead-letter.
    ///
    /// These are raw bytes, built on purpose: no valid ``InputEvent`` can hold an NRS out of
    /// range or not an integer, a `type` the contract does not have, or a truncated message, so
    /// they do not go through the pathway's encoder. Their envelope has the members a
    /// well-formed event has, in the same order, so that only the flaw differs.
    /// - Parameters:
    ///   - malformation: the flaw.
    ///   - planned: the filler event the malformed one replaces (its time; for a truncated message, its content).
    ///   - id: the CloudEvents `id`.
    ///   - sequence: the event's position among the patient's events (picks between two variants of a flaw).
    ///   - w: the writer the line is appended to.
    /// - Returns: the `type` the line claims.
    func writeMalformed(_ malformation: Malformation, _ planned: Planned, id: String, sequence: Int,
                        to w: inout JSONWriter) -> String {
        let time = planned.at.rfc3339(offsetMinutes: utcOffsetMinutes)
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
        switch malformation {
        case .nrsOutOfRange:
            envelope("pain.assessed", source: "urn:hospital:emr") { w in
                w.object { o in
                    o.field("nrs", sequence % 2 == 0 ? 11 : -1)
                    o.field("onAnalgesics", true)
                }
            }
            return "pain.assessed"
        case .nrsNotInteger:
            envelope("pain.assessed", source: "urn:hospital:emr") { w in
                w.object { o in
                    if sequence % 2 == 0 { o.field("nrs", "seven") } else { o.field("nrs", 6.5) }
                }
            }
            return "pain.assessed"
        case .unknownType:
            envelope("lab.resulted", source: "urn:hospital:lis") { w in
                w.object { o in
                    o.field("test", "calcium")
                    o.field("value", 2.31)
                    o.field("unit", "mmol/L")
                }
            }
            return "lab.resulted"
        case .invalidJSON:
            // The well-formed event, cut short: a truncated message.
            let event = inputEvent(planned, id: id)
            event.writeCloudEvent(to: &w, timeOffsetMinutes: utcOffsetMinutes)
            w.bytes.removeLast(w.bytes.count / 3)
            return event.type.rawValue
        }
    }

    static func padded(_ n: Int, _ width: Int) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

extension Payload {
    /// The event as the pathway's input data. The stories name values as the contract spells
    /// them (`"mri"`, `"cauda-equina"`); one the contract does not have is a bug in the
    /// generator, and stops it.
    var data: InputData {
        switch self {
        case .presented(let age, let sex, let mechanism, let levels, let history, let fever):
            .patientPresented(Presentation(ageYears: age, sex: contract(sex), mechanism: contract(mechanism),
                                           fractureLevels: levels, history: history.map(Self.medicalHistory), fever: fever))
        case .imaging(let modality, let contrast, let region, let levels, let f):
            .imagingResulted(ImagingResult(
                modality: contract(modality), contrast: contract(contrast), region: contract(region), levels: levels,
                findings: ImagingFindings(
                    compressionFracture: f.compressionFracture, acuity: f.acuity.map { contract($0) },
                    heightLossPercent: f.heightLossPercent.map(Double.init), kyphosisDegrees: f.kyphosisDegrees.map(Double.init),
                    morphology: f.morphology.map { contract($0) },
                    posteriorLigamentousComplex: f.posteriorLigamentousComplex.map { contract($0) }, unstable: f.unstable,
                    cordCompression: f.cordCompression.map { contract($0) }, suspiciousForMalignancy: f.suspiciousForMalignancy,
                    discitisOsteomyelitis: f.discitisOsteomyelitis)))
        case .neuro(let e):
            .neuroExamined(NeuroExam(motorDeficit: e.motorDeficit, sensoryDeficit: e.sensoryDeficit,
                                     bowelBladderDysfunction: e.bowelBladderDysfunction, spinalCordInjury: e.spinalCordInjury,
                                     asiaGrade: e.asiaGrade.map { contract($0) }, neuroStatus: e.neuroStatus.map { contract($0) }))
        case .biopsy(let specimen, let histology, let metastatic, let organism):
            .biopsyResulted(BiopsyResult(specimen: contract(specimen), histology: histology.map { contract($0) },
                                         metastatic: metastatic, organism: organism))
        case .pain(let nrs, let onAnalgesics):
            .painAssessed(PainAssessment(nrs: nrs, onAnalgesics: onAnalgesics))
        case .vitals(let map, let spo2, let fvc, let pulmonary):
            .vitalsRecorded(Vitals(meanArterialPressure: map.map(Double.init), spo2: spo2.map(Double.init),
                                   fvcPercentPredicted: fvc.map(Double.init), pulmonaryDysfunction: pulmonary))
        case .medication(let medication, let action):
            .medicationChanged(MedicationChange(medication: contract(medication), action: contract(action ?? "started")))
        case .taskUpdated(let taskId, let status):
            .taskUpdated(TaskUpdate(taskId: taskId, status: contract(status)))
        case .cleared(let cervical, let thoracolumbar):
            .spineCleared(SpineClearance(cervical: cervical, thoracolumbar: thoracolumbar))
        }
    }

    /// The history flags a story lists, by their names in the contract (written in the
    /// contract's order, whatever the story's).
    static func medicalHistory(_ flags: [(String, Bool)]) -> MedicalHistory {
        var history = MedicalHistory()
        for (name, value) in flags {
            switch name {
            case "knownMalignancy": history.knownMalignancy = value
            case "unexplainedWeightLoss": history.unexplainedWeightLoss = value
            case "constitutionalSymptoms": history.constitutionalSymptoms = value
            case "osteoporosis": history.osteoporosis = value
            case "glucocorticoidUse": history.glucocorticoidUse = value
            case "immunosuppressed": history.immunosuppressed = value
            case "injectionDrugUse": history.injectionDrugUse = value
            default: preconditionFailure("\(name) is not a history flag of the contract")
            }
        }
        return history
    }
}

/// The contract's value spelled `raw`; a story that names a value the contract does not have stops the generator.
private func contract<Value: RawRepresentable>(_ raw: String) -> Value where Value.RawValue == String {
    guard let value = Value(rawValue: raw) else { preconditionFailure("\"\(raw)\" is not a \(Value.self) of the contract") }
    return value
}
