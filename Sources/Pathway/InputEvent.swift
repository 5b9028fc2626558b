public import CarepathJSON

/// One clinical input event (a CloudEvents 1.0 envelope and its typed data),
/// after decoding and validation (PATHWAY.md section 2).
public struct InputEvent: Sendable, Hashable {
    /// The producer's id; with ``source`` it identifies the event.
    public var id: String
    /// The producing system, e.g. `urn:hospital:ris`.
    public var source: String
    /// The patient id (CloudEvents `subject`).
    public var subject: String
    /// When it happened clinically.
    public var time: Timestamp
    /// The typed data.
    public var data: InputData
    /// SHA-256 (hex) of the event's canonical JSON: two deliveries with the same
    /// `source` and `id` are the same content when their fingerprints match.
    public var fingerprint: String

    public init(id: String, source: String, subject: String, time: Timestamp, data: InputData, fingerprint: String) {
        self.id = id
        self.source = source
        self.subject = subject
        self.time = time
        self.data = data
        self.fingerprint = fingerprint
    }

    /// The CloudEvents `type`.
    public var type: InputType { data.type }
}

/// The ten input event types.
public enum InputType: String, Sendable, Hashable, CaseIterable {
    case patientPresented = "patient.presented"
    case imagingResulted = "imaging.resulted"
    case neuroExamined = "neuro.examined"
    case biopsyResulted = "biopsy.resulted"
    case painAssessed = "pain.assessed"
    case vitalsRecorded = "vitals.recorded"
    case medicationChanged = "medication.changed"
    case taskUpdated = "task.updated"
    case spineCleared = "spine.cleared"
    case timerFired = "timer.fired"

    /// The clinical results (PATHWAY.md section 2): a conflicting duplicate of
    /// one of these reaches a clinician (`CONFLICTING_RESULT_REVIEW`).
    public static let clinicalResults: Set<InputType> = [.neuroExamined, .imagingResulted, .biopsyResulted, .vitalsRecorded, .painAssessed]
}

/// The data of an input event, one case a type.
public enum InputData: Sendable, Hashable {
    case patientPresented(Presentation)
    case imagingResulted(ImagingResult)
    case neuroExamined(NeuroExam)
    case biopsyResulted(BiopsyResult)
    case painAssessed(PainAssessment)
    case vitalsRecorded(Vitals)
    case medicationChanged(MedicationChange)
    case taskUpdated(TaskUpdate)
    case spineCleared(SpineClearance)
    case timerFired(TimerFiring)

    public var type: InputType {
        switch self {
        case .patientPresented: .patientPresented
        case .imagingResulted: .imagingResulted
        case .neuroExamined: .neuroExamined
        case .biopsyResulted: .biopsyResulted
        case .painAssessed: .painAssessed
        case .vitalsRecorded: .vitalsRecorded
        case .medicationChanged: .medicationChanged
        case .taskUpdated: .taskUpdated
        case .spineCleared: .spineCleared
        case .timerFired: .timerFired
        }
    }
}

// MARK: - patient.presented

public enum Sex: String, Sendable, Hashable, CaseIterable { case female, male, other, unknown }

public enum Mechanism: String, Sendable, Hashable, CaseIterable {
    case lowEnergy = "low-energy"
    case highEnergyTrauma = "high-energy-trauma"
    case atraumatic
    case unknown

    /// A fragility fracture is one whose mechanism is not high-energy trauma.
    public var isFragility: Bool { self != .highEnergyTrauma }
}

/// The history flags of a presentation; `nil` when not stated.
public struct MedicalHistory: Sendable, Hashable {
    public var knownMalignancy: Bool?
    public var unexplainedWeightLoss: Bool?
    public var constitutionalSymptoms: Bool?
    public var osteoporosis: Bool?
    public var glucocorticoidUse: Bool?
    public var immunosuppressed: Bool?
    public var injectionDrugUse: Bool?

    public init(
        knownMalignancy: Bool? = nil, unexplainedWeightLoss: Bool? = nil, constitutionalSymptoms: Bool? = nil,
        osteoporosis: Bool? = nil, glucocorticoidUse: Bool? = nil, immunosuppressed: Bool? = nil,
        injectionDrugUse: Bool? = nil
    ) {
        self.knownMalignancy = knownMalignancy
        self.unexplainedWeightLoss = unexplainedWeightLoss
        self.constitutionalSymptoms = constitutionalSymptoms
        self.osteoporosis = osteoporosis
        self.glucocorticoidUse = glucocorticoidUse
        self.immunosuppressed = immunosuppressed
        self.injectionDrugUse = injectionDrugUse
    }
}

public struct Presentation: Sendable, Hashable {
    public var ageYears: Int
    public var sex: Sex?
    public var mechanism: Mechanism
    public var fractureLevels: [String]?
    public var history: MedicalHistory?
    public var fever: Bool?

    public init(ageYears: Int, sex: Sex? = nil, mechanism: Mechanism, fractureLevels: [String]? = nil,
                history: MedicalHistory? = nil, fever: Bool? = nil) {
        self.ageYears = ageYears
        self.sex = sex
        self.mechanism = mechanism
        self.fractureLevels = fractureLevels
        self.history = history
        self.fever = fever
    }
}

// MARK: - imaging.resulted

public enum Modality: String, Sendable, Hashable, CaseIterable { case xray, mri, ct }
public enum Contrast: String, Sendable, Hashable, CaseIterable {
    case none
    case with
    case withAndWithout = "with-and-without"
}
public enum SpineRegion: String, Sendable, Hashable, CaseIterable {
    case cervical, thoracic, lumbar, thoracolumbar
    case wholeSpine = "whole-spine"
}
public enum Acuity: String, Sendable, Hashable, CaseIterable { case acute, subacute, chronic, indeterminate }
public enum Morphology: String, Sendable, Hashable, CaseIterable {
    case compression, burst
    case translationRotation = "translation-rotation"
    case distraction
}
public enum LigamentStatus: String, Sendable, Hashable, CaseIterable { case intact, indeterminate, injured }
public enum CordCompression: String, Sendable, Hashable, CaseIterable { case none, mild, significant }

public struct ImagingFindings: Sendable, Hashable {
    public var compressionFracture: Bool?
    public var acuity: Acuity?
    public var heightLossPercent: Double?
    public var kyphosisDegrees: Double?
    public var morphology: Morphology?
    public var posteriorLigamentousComplex: LigamentStatus?
    public var unstable: Bool?
    public var cordCompression: CordCompression?
    public var suspiciousForMalignancy: Bool?
    public var discitisOsteomyelitis: Bool?

    public init(
        compressionFracture: Bool? = nil, acuity: Acuity? = nil, heightLossPercent: Double? = nil,
        kyphosisDegrees: Double? = nil, morphology: Morphology? = nil,
        posteriorLigamentousComplex: LigamentStatus? = nil, unstable: Bool? = nil,
        cordCompression: CordCompression? = nil, suspiciousForMalignancy: Bool? = nil,
        discitisOsteomyelitis: Bool? = nil
    ) {
        self.compressionFracture = compressionFracture
        self.acuity = acuity
        self.heightLossPercent = heightLossPercent
        self.kyphosisDegrees = kyphosisDegrees
        self.morphology = morphology
        self.posteriorLigamentousComplex = posteriorLigamentousComplex
        self.unstable = unstable
        self.cordCompression = cordCompression
        self.suspiciousForMalignancy = suspiciousForMalignancy
        self.discitisOsteomyelitis = discitisOsteomyelitis
    }
}

public struct ImagingResult: Sendable, Hashable {
    public var modality: Modality
    /// `none` when the producer did not say.
    public var contrast: Contrast
    public var region: SpineRegion?
    public var levels: [String]?
    public var findings: ImagingFindings

    public init(modality: Modality, contrast: Contrast = .none, region: SpineRegion? = nil, levels: [String]? = nil,
                findings: ImagingFindings) {
        self.modality = modality
        self.contrast = contrast
        self.region = region
        self.levels = levels
        self.findings = findings
    }

    /// An MRI with IV contrast (the complete-spine study the pathologic workup asks for).
    public var isContrastMRI: Bool { modality == .mri && contrast != .none }
}

// MARK: - neuro.examined

public enum ASIAGrade: String, Sendable, Hashable, CaseIterable { case A, B, C, D, E }
public enum NeuroStatus: String, Sendable, Hashable, CaseIterable {
    case intact
    case nerveRoot = "nerve-root"
    case cordComplete = "cord-complete"
    case cordIncomplete = "cord-incomplete"
    case caudaEquina = "cauda-equina"
}

public struct NeuroExam: Sendable, Hashable {
    public var motorDeficit: Bool?
    public var sensoryDeficit: Bool?
    public var bowelBladderDysfunction: Bool?
    public var spinalCordInjury: Bool?
    public var asiaGrade: ASIAGrade?
    public var neuroStatus: NeuroStatus?

    public init(motorDeficit: Bool? = nil, sensoryDeficit: Bool? = nil, bowelBladderDysfunction: Bool? = nil,
                spinalCordInjury: Bool? = nil, asiaGrade: ASIAGrade? = nil, neuroStatus: NeuroStatus? = nil) {
        self.motorDeficit = motorDeficit
        self.sensoryDeficit = sensoryDeficit
        self.bowelBladderDysfunction = bowelBladderDysfunction
        self.spinalCordInjury = spinalCordInjury
        self.asiaGrade = asiaGrade
        self.neuroStatus = neuroStatus
    }

    /// How PATHWAY.md section 2 reads an exam.
    public enum Finding: String, Sendable, Hashable { case deficit, intact, indeterminate }

    public var finding: Finding {
        if motorDeficit == true || sensoryDeficit == true || bowelBladderDysfunction == true || spinalCordInjury == true {
            return .deficit
        }
        if let asiaGrade, asiaGrade != .E { return .deficit }
        if let neuroStatus, neuroStatus != .intact { return .deficit }
        if asiaGrade == .E || neuroStatus == .intact
            || (motorDeficit == false && sensoryDeficit == false && bowelBladderDysfunction == false) {
            return .intact
        }
        return .indeterminate
    }

    /// The facts that make this exam show a deficit, for a rationale.
    /// A spinal cord injury (PATHWAY.md section 2): `spinalCordInjury`, or
    /// `neuroStatus` cord-complete or cord-incomplete.
    public var isSpinalCordInjury: Bool {
        spinalCordInjury == true || neuroStatus == .cordComplete || neuroStatus == .cordIncomplete
    }

    public var deficitFacts: [(fact: String, value: String)] {
        var facts: [(String, String)] = []
        if motorDeficit == true { facts.append(("motorDeficit", "true")) }
        if sensoryDeficit == true { facts.append(("sensoryDeficit", "true")) }
        if bowelBladderDysfunction == true { facts.append(("bowelBladderDysfunction", "true")) }
        if spinalCordInjury == true { facts.append(("spinalCordInjury", "true")) }
        if let asiaGrade, asiaGrade != .E { facts.append(("asiaGrade", asiaGrade.rawValue)) }
        if let neuroStatus, neuroStatus != .intact { facts.append(("neuroStatus", neuroStatus.rawValue)) }
        return facts
    }
}

// MARK: - biopsy.resulted

public enum Specimen: String, Sendable, Hashable, CaseIterable {
    case vertebralBody = "vertebral-body"
    case disc
    case bloodCulture = "blood-culture"
}
public enum Histology: String, Sendable, Hashable, CaseIterable { case malignant, benign, infection, nondiagnostic }

public struct BiopsyResult: Sendable, Hashable {
    public var specimen: Specimen
    public var histology: Histology?
    public var metastatic: Bool?
    public var organism: String?

    public init(specimen: Specimen, histology: Histology? = nil, metastatic: Bool? = nil, organism: String? = nil) {
        self.specimen = specimen
        self.histology = histology
        self.metastatic = metastatic
        self.organism = organism
    }

    /// The organism when one is named (not null, not blank).
    public var namedOrganism: String? {
        guard let organism, organism.contains(where: { !$0.isWhitespace }) else { return nil }
        return organism
    }
}

// MARK: - pain.assessed, vitals.recorded, medication.changed

public struct PainAssessment: Sendable, Hashable {
    /// Numeric rating scale, 0-10.
    public var nrs: Int
    public var onAnalgesics: Bool?

    public init(nrs: Int, onAnalgesics: Bool? = nil) {
        self.nrs = nrs
        self.onAnalgesics = onAnalgesics
    }
}

public struct Vitals: Sendable, Hashable {
    public var meanArterialPressure: Double?
    public var spo2: Double?
    public var fvcPercentPredicted: Double?
    public var pulmonaryDysfunction: Bool?

    public init(meanArterialPressure: Double? = nil, spo2: Double? = nil, fvcPercentPredicted: Double? = nil,
                pulmonaryDysfunction: Bool? = nil) {
        self.meanArterialPressure = meanArterialPressure
        self.spo2 = spo2
        self.fvcPercentPredicted = fvcPercentPredicted
        self.pulmonaryDysfunction = pulmonaryDysfunction
    }
}

public enum Medication: String, Sendable, Hashable, CaseIterable {
    case calcitonin, bisphosphonate
    case calciumVitaminD = "calcium-vitamin-d"
    case acetaminophen, nsaid, opioid, norepinephrine, dopamine
    case ivAntibiotic = "iv-antibiotic"
}
public enum MedicationAction: String, Sendable, Hashable, CaseIterable { case started, stopped }

public struct MedicationChange: Sendable, Hashable {
    public var medication: Medication
    public var action: MedicationAction

    public init(medication: Medication, action: MedicationAction) {
        self.medication = medication
        self.action = action
    }
}

// MARK: - task.updated, spine.cleared, timer.fired

/// FHIR R4 `Task.status`.
public enum TaskStatus: String, Sendable, Hashable, CaseIterable {
    case draft, requested, received, accepted, rejected, ready, cancelled
    case inProgress = "in-progress"
    case onHold = "on-hold"
    case failed, completed
    case enteredInError = "entered-in-error"

    /// A task in one of these statuses is finished: it no longer blocks a new
    /// request of its code.
    public var isClosed: Bool {
        switch self {
        case .rejected, .cancelled, .failed, .completed, .enteredInError: true
        default: false
        }
    }
}

public struct TaskUpdate: Sendable, Hashable {
    public var taskId: String
    public var status: TaskStatus

    public init(taskId: String, status: TaskStatus) {
        self.taskId = taskId
        self.status = status
    }
}

public struct SpineClearance: Sendable, Hashable {
    public var cervical: Bool?
    public var thoracolumbar: Bool?

    public init(cervical: Bool? = nil, thoracolumbar: Bool? = nil) {
        self.cervical = cervical
        self.thoracolumbar = thoracolumbar
    }
}

public struct TimerFiring: Sendable, Hashable {
    public var timerId: String
    public var timerCode: TimerCode

    public init(timerId: String, timerCode: TimerCode) {
        self.timerId = timerId
        self.timerCode = timerCode
    }
}

// MARK: - JSON

extension InputEvent {
    /// Writes the event as a producer puts it on `clinical.events`: one
    /// CloudEvents 1.0 JSON object (PATHWAY.md section 2), no white space,
    /// members in this order: `specversion` (`"1.0"`), `id`, `source`, `type`,
    /// `subject`, `time`, `datacontenttype` (`"application/json"`), then `data`
    /// as ``InputData/write(to:)`` writes it.
    ///
    /// This is the one encoder of the input format: ``InputDecoder/decode(_:)``
    /// reads the bytes back as this event when its values are within the
    /// contract (an NRS of 0-10, for example), and writing the decoded event
    /// again, in the same offset, gives the same bytes. ``fingerprint`` is not
    /// written: a consumer computes it from the bytes it receives.
    ///
    /// ```swift
    /// var w = JSONWriter()
    /// event.writeCloudEvent(to: &w, timeOffsetMinutes: 60)
    /// // {"specversion":"1.0","id":"evt-0001",…,"time":"2026-03-02T11:15:00+01:00",…,"data":{"nrs":6}}
    /// ```
    ///
    /// - Parameters:
    ///   - w: the writer the object is appended to.
    ///   - timeOffsetMinutes: the UTC offset `time` is written in, in minutes east of
    ///     UTC (``Timestamp/rfc3339(offsetMinutes:)``); 0, the default, writes UTC with `Z`.
    public func writeCloudEvent(to w: inout JSONWriter, timeOffsetMinutes: Int = 0) {
        InputFormat.writeStructured(CloudEventAttributes(id: id, source: source, type: type, subject: subject, time: time),
                                    timeOffsetMinutes: timeOffsetMinutes, data: { data.write(to: &$0) }, to: &w)
    }
}

extension InputData {
    /// Writes the data in its normalised form: the fields given, in the
    /// contract's order; absent fields are left out. It is the `data` of an
    /// input event on the wire (``InputEvent/writeCloudEvent(to:timeOffsetMinutes:)``)
    /// and of a recorded input on the audit stream (`ClinicalEventRecorded`).
    /// - Parameter w: the writer the object is appended to.
    public func write(to w: inout JSONWriter) {
        w.object { o in
            switch self {
            case .patientPresented(let p):
                o.field("ageYears", p.ageYears)
                o.optional("sex", p.sex?.rawValue)
                o.field("mechanism", p.mechanism.rawValue)
                if let levels = p.fractureLevels { o.field("fractureLevels", strings: levels) }
                if let h = p.history {
                    o.field("history") { w in
                        w.object { o in
                            o.optional("knownMalignancy", h.knownMalignancy)
                            o.optional("unexplainedWeightLoss", h.unexplainedWeightLoss)
                            o.optional("constitutionalSymptoms", h.constitutionalSymptoms)
                            o.optional("osteoporosis", h.osteoporosis)
                            o.optional("glucocorticoidUse", h.glucocorticoidUse)
                            o.optional("immunosuppressed", h.immunosuppressed)
                            o.optional("injectionDrugUse", h.injectionDrugUse)
                        }
                    }
                }
                o.optional("fever", p.fever)
            case .imagingResulted(let i):
                o.field("modality", i.modality.rawValue)
                o.field("contrast", i.contrast.rawValue)
                o.optional("region", i.region?.rawValue)
                if let levels = i.levels { o.field("levels", strings: levels) }
                let f = i.findings
                o.field("findings") { w in
                    w.object { o in
                        o.optional("compressionFracture", f.compressionFracture)
                        o.optional("acuity", f.acuity?.rawValue)
                        o.optional("heightLossPercent", f.heightLossPercent)
                        o.optional("kyphosisDegrees", f.kyphosisDegrees)
                        o.optional("morphology", f.morphology?.rawValue)
                        o.optional("posteriorLigamentousComplex", f.posteriorLigamentousComplex?.rawValue)
                        o.optional("unstable", f.unstable)
                        o.optional("cordCompression", f.cordCompression?.rawValue)
                        o.optional("suspiciousForMalignancy", f.suspiciousForMalignancy)
                        o.optional("discitisOsteomyelitis", f.discitisOsteomyelitis)
                    }
                }
            case .neuroExamined(let n):
                o.optional("motorDeficit", n.motorDeficit)
                o.optional("sensoryDeficit", n.sensoryDeficit)
                o.optional("bowelBladderDysfunction", n.bowelBladderDysfunction)
                o.optional("spinalCordInjury", n.spinalCordInjury)
                o.optional("asiaGrade", n.asiaGrade?.rawValue)
                o.optional("neuroStatus", n.neuroStatus?.rawValue)
            case .biopsyResulted(let b):
                o.field("specimen", b.specimen.rawValue)
                o.optional("histology", b.histology?.rawValue)
                o.optional("metastatic", b.metastatic)
                o.nullable("organism", b.organism)
            case .painAssessed(let p):
                o.field("nrs", p.nrs)
                o.optional("onAnalgesics", p.onAnalgesics)
            case .vitalsRecorded(let v):
                o.optional("meanArterialPressure", v.meanArterialPressure)
                o.optional("spo2", v.spo2)
                o.optional("fvcPercentPredicted", v.fvcPercentPredicted)
                o.optional("pulmonaryDysfunction", v.pulmonaryDysfunction)
            case .medicationChanged(let m):
                o.field("medication", m.medication.rawValue)
                o.field("action", m.action.rawValue)
            case .taskUpdated(let t):
                o.field("taskId", t.taskId)
                o.field("status", t.status.rawValue)
            case .spineCleared(let s):
                o.optional("cervical", s.cervical)
                o.optional("thoracolumbar", s.thoracolumbar)
            case .timerFired(let t):
                o.field("timerId", t.timerId)
                o.field("timerCode", t.timerCode.rawValue)
            }
        }
    }
}
