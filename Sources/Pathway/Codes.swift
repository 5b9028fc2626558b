/// Where a patient is on the pathway: the most acute open track, or `intake`.
///
/// Cases are declared from most to least acute; ``precedence`` follows that order.
public enum PathwayState: String, Sendable, Hashable, CaseIterable, Comparable {
    case criticalCare
    case surgicalReferral
    case infectionWorkup
    case antibioticTherapy
    case pathologicWorkup
    case augmentationEvaluation
    case awaitingImaging
    case conservativeManagement
    case recovering
    case intake

    /// 0 for the most acute state: the order of the cases above (a switch, not
    /// a search, because `<` is on the path of every decision).
    public var precedence: Int {
        switch self {
        case .criticalCare: 0
        case .surgicalReferral: 1
        case .infectionWorkup: 2
        case .antibioticTherapy: 3
        case .pathologicWorkup: 4
        case .augmentationEvaluation: 5
        case .awaitingImaging: 6
        case .conservativeManagement: 7
        case .recovering: 8
        case .intake: 9
        }
    }

    /// More acute states sort first.
    public static func < (lhs: PathwayState, rhs: PathwayState) -> Bool { lhs.precedence < rhs.precedence }

    /// The tracks whose opening while conservative care is open escalates it (PATHWAY.md section 4).
    public var escalatesConservativeCare: Bool {
        switch self {
        case .criticalCare, .surgicalReferral, .pathologicWorkup, .infectionWorkup, .antibioticTherapy: true
        default: false
        }
    }
}

/// A track is every state but `intake`: it opens and closes.
public typealias Track = PathwayState

/// FHIR request priority, in increasing urgency.
public enum Priority: String, Sendable, Hashable, CaseIterable, Comparable {
    case routine, urgent, asap, stat

    public static func < (lhs: Priority, rhs: Priority) -> Bool {
        ordered.firstIndex(of: lhs)! < ordered.firstIndex(of: rhs)!
    }

    /// `allCases`, made once: `allCases` builds a new array on every call.
    private static let ordered = allCases
}

/// CDS Hooks card indicator.
public enum Indicator: String, Sendable, Hashable, CaseIterable { case info, warning, critical }

/// The lifecycle of a recommendation.
public enum RecommendationStatus: String, Sendable, Hashable, CaseIterable {
    case active
    /// What it asked for was done.
    case completed
    /// Replaced: escalation, a new episode, therapy.
    case superseded
    /// Its condition no longer holds.
    case withdrawn
}

/// The twenty recommendation codes of PATHWAY.md section 4, in the order of its table.
public enum RecommendationCode: String, Sendable, Hashable, CaseIterable {
    case urgentSurgicalReferral = "URGENT_SURGICAL_REFERRAL"
    case sciCriticalCareBundle = "SCI_CRITICAL_CARE_BUNDLE"
    case mapBelowGoal = "MAP_BELOW_GOAL"
    case spinalPrecautions = "SPINAL_PRECAUTIONS"
    case surgicalConsultInstability = "SURGICAL_CONSULT_INSTABILITY"
    case pathologicFractureWorkup = "PATHOLOGIC_FRACTURE_WORKUP"
    case mriSpineWithoutContrast = "MRI_SPINE_WITHOUT_CONTRAST"
    case painManagement = "PAIN_MANAGEMENT"
    case infectionWorkup = "INFECTION_WORKUP"
    case empiricIVAntibiotics = "EMPIRIC_IV_ANTIBIOTICS"
    case targetedIVAntibiotics = "TARGETED_IV_ANTIBIOTICS"
    case specialistAntimicrobialTherapy = "SPECIALIST_ANTIMICROBIAL_THERAPY"
    case bloodCultureConfirmation = "BLOOD_CULTURE_CONFIRMATION"
    case oncologyReferral = "ONCOLOGY_REFERRAL"
    case conservativeManagement = "CONSERVATIVE_MANAGEMENT"
    case reassessmentOverdue = "REASSESSMENT_OVERDUE"
    case vertebralAugmentationEvaluation = "VERTEBRAL_AUGMENTATION_EVALUATION"
    case pathwayResolved = "PATHWAY_RESOLVED"
    case referralOverdue = "REFERRAL_OVERDUE"
    case conflictingResultReview = "CONFLICTING_RESULT_REVIEW"

    /// The rule that issues this code.
    public var ruleId: String {
        switch self {
        case .urgentSurgicalReferral: "VCF-NEURO-01"
        case .referralOverdue: "VCF-NEURO-02"
        case .sciCriticalCareBundle: "VCF-SCI-01"
        case .mapBelowGoal: "VCF-SCI-02"
        case .spinalPrecautions: "VCF-TRAUMA-01"
        case .surgicalConsultInstability: "VCF-STAB-01"
        case .pathologicFractureWorkup: "VCF-PATH-01"
        case .oncologyReferral: "VCF-PATH-02"
        case .mriSpineWithoutContrast: "VCF-IMG-01"
        case .infectionWorkup: "VCF-INF-01"
        case .targetedIVAntibiotics: "VCF-INF-02"
        case .empiricIVAntibiotics: "VCF-INF-03"
        case .specialistAntimicrobialTherapy: "VCF-INF-04"
        case .bloodCultureConfirmation: "VCF-INF-05"
        case .painManagement: "VCF-PAIN-01"
        case .conflictingResultReview: "VCF-SAFE-01"
        case .conservativeManagement: "VCF-CONS-01"
        case .reassessmentOverdue: "VCF-CONS-02"
        case .pathwayResolved: "VCF-CONS-03"
        case .vertebralAugmentationEvaluation: "VCF-AUG-01"
        }
    }

    /// The track this recommendation opens, if any (PATHWAY.md section 3).
    public var opensTrack: Track? {
        switch self {
        case .mriSpineWithoutContrast: .awaitingImaging
        case .sciCriticalCareBundle: .criticalCare
        case .urgentSurgicalReferral, .surgicalConsultInstability: .surgicalReferral
        case .pathologicFractureWorkup: .pathologicWorkup
        case .infectionWorkup: .infectionWorkup
        case .targetedIVAntibiotics, .specialistAntimicrobialTherapy: .antibioticTherapy
        case .vertebralAugmentationEvaluation: .augmentationEvaluation
        case .conservativeManagement: .conservativeManagement
        case .pathwayResolved: .recovering
        default: nil
        }
    }
}

/// The codes of the tasks carepath requests (`code.coding[0].code`, system `urn:carepath:task`).
public enum TaskCode: String, Sendable, Hashable, CaseIterable {
    case spineSurgeryConsult = "spine-surgery-consult"
    case icuAdmission = "icu-admission"
    case arterialLine = "arterial-line"
    case centralLine = "central-line"
    case airwayAssessment = "airway-assessment"
    case mapGoalVasopressors = "map-goal-vasopressors"
    case spinalPrecautions = "spinal-precautions"
    case multidisciplinaryEvaluation = "multidisciplinary-evaluation"
    case mriSpineWithContrast = "mri-spine-with-contrast"
    case vertebralBiopsy = "vertebral-biopsy"
    case mriSpineWithoutContrast = "mri-spine-without-contrast"
    case bloodCultures = "blood-cultures"
    case inflammatoryMarkers = "inflammatory-markers"
    case ivAntibiotics = "iv-antibiotics"
    case inflammatoryMarkersFollowup = "inflammatory-markers-followup"
    case oncologyReferral = "oncology-referral"
    case analgesia
    case braceForComfort = "brace-for-comfort"
    case physicalTherapy = "physical-therapy"
    case reassessmentVisit = "reassessment-visit"
    case osteoporosisTreatment = "osteoporosis-treatment"
    case metabolicWorkup = "metabolic-workup"
    case calcitoninCourse = "calcitonin-course"
    case interventionalSpineConsult = "interventional-spine-consult"
    case painReassessment = "pain-reassessment"
    case repeatSpineImaging = "repeat-spine-imaging"
    case empiricIVAntibiotics = "empiric-iv-antibiotics"
    case infectiousDiseasesConsult = "infectious-diseases-consult"
    case antimicrobialTherapy = "antimicrobial-therapy"
    case resultReview = "result-review"

    /// What a clinician calls it (FHIR `code.coding[0].display` and `code.text`).
    public var display: String {
        switch self {
        case .spineSurgeryConsult: "Spine surgery consultation"
        case .icuAdmission: "ICU admission"
        case .arterialLine: "Arterial line placement"
        case .centralLine: "Central venous line placement"
        case .airwayAssessment: "Airway assessment"
        case .mapGoalVasopressors: "Vasopressors to keep MAP above goal"
        case .spinalPrecautions: "Cervical and thoracolumbar spinal precautions"
        case .multidisciplinaryEvaluation: "Multidisciplinary evaluation for pathologic fracture"
        case .mriSpineWithContrast: "MRI complete spine with IV contrast"
        case .vertebralBiopsy: "Vertebral biopsy"
        case .mriSpineWithoutContrast: "MRI spine without IV contrast"
        case .bloodCultures: "Blood cultures"
        case .inflammatoryMarkers: "Baseline inflammatory markers (ESR, CRP)"
        case .ivAntibiotics: "Targeted IV antibiotics"
        case .inflammatoryMarkersFollowup: "Follow-up inflammatory markers (ESR, CRP)"
        case .oncologyReferral: "Oncology referral"
        case .analgesia: "Analgesia"
        case .braceForComfort: "Brace for comfort"
        case .physicalTherapy: "Physical therapy"
        case .reassessmentVisit: "Reassessment visit"
        case .osteoporosisTreatment: "Osteoporosis treatment (calcium, vitamin D, bisphosphonate)"
        case .metabolicWorkup: "Metabolic bone workup"
        case .calcitoninCourse: "Calcitonin course for acute fracture pain"
        case .interventionalSpineConsult: "Interventional spine consultation (vertebral augmentation)"
        case .painReassessment: "Pain reassessment (NRS)"
        case .repeatSpineImaging: "Repeat spine imaging"
        case .empiricIVAntibiotics: "Empiric IV antibiotics"
        case .infectiousDiseasesConsult: "Infectious diseases consultation"
        case .antimicrobialTherapy: "Antimicrobial therapy directed by infectious diseases"
        case .resultReview: "Clinical review of a conflicting result"
        }
    }

}

/// The kinds of timer carepath schedules (PATHWAY.md section 7).
public enum TimerCode: String, Sendable, Hashable, CaseIterable {
    /// Day 42 of conservative care: is the reassessment visit done?
    case reassessmentOverdue = "reassessment-overdue"
    /// Day 90 of conservative care: has conservative management failed?
    case day90Review = "day-90-review"
    /// The end of the 7-day MAP goal window after a spinal cord injury.
    case mapWindowEnd = "map-window-end"
    /// Two hours after a stat spine surgery consult (24 after an urgent one): has it been accepted?
    case referralAcceptance = "referral-acceptance"
    /// 24 hours after a stat spine surgery consult (72 after an urgent one): has it been completed?
    case referralCompletion = "referral-completion"
    /// 28 days after fracture identification: the calcitonin window ends.
    case calcitoninWindowEnd = "calcitonin-window-end"
}
