/// Hashing and equality by case for the codes carepath keys its tables by.
///
/// An enum with a `String` raw value otherwise hashes and compares its raw
/// string (the standard library's `RawRepresentable` defaults), and these
/// codes are looked up on every decision. Each code's number is its place in
/// the declaration; it never leaves the process.
extension RecommendationCode {
    /// The case's place in the declaration.
    public var caseNumber: UInt8 {
        switch self {
        case .urgentSurgicalReferral: 0
        case .sciCriticalCareBundle: 1
        case .mapBelowGoal: 2
        case .spinalPrecautions: 3
        case .surgicalConsultInstability: 4
        case .pathologicFractureWorkup: 5
        case .mriSpineWithoutContrast: 6
        case .painManagement: 7
        case .infectionWorkup: 8
        case .empiricIVAntibiotics: 9
        case .targetedIVAntibiotics: 10
        case .specialistAntimicrobialTherapy: 11
        case .bloodCultureConfirmation: 12
        case .oncologyReferral: 13
        case .conservativeManagement: 14
        case .reassessmentOverdue: 15
        case .vertebralAugmentationEvaluation: 16
        case .pathwayResolved: 17
        case .referralOverdue: 18
        case .conflictingResultReview: 19
        }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.caseNumber == rhs.caseNumber }
    public func hash(into hasher: inout Hasher) { hasher.combine(caseNumber) }
}

extension TaskCode {
    /// The case's place in the declaration.
    public var caseNumber: UInt8 {
        switch self {
        case .spineSurgeryConsult: 0
        case .icuAdmission: 1
        case .arterialLine: 2
        case .centralLine: 3
        case .airwayAssessment: 4
        case .mapGoalVasopressors: 5
        case .spinalPrecautions: 6
        case .multidisciplinaryEvaluation: 7
        case .mriSpineWithContrast: 8
        case .vertebralBiopsy: 9
        case .mriSpineWithoutContrast: 10
        case .bloodCultures: 11
        case .inflammatoryMarkers: 12
        case .ivAntibiotics: 13
        case .inflammatoryMarkersFollowup: 14
        case .oncologyReferral: 15
        case .analgesia: 16
        case .braceForComfort: 17
        case .physicalTherapy: 18
        case .reassessmentVisit: 19
        case .osteoporosisTreatment: 20
        case .metabolicWorkup: 21
        case .calcitoninCourse: 22
        case .interventionalSpineConsult: 23
        case .painReassessment: 24
        case .repeatSpineImaging: 25
        case .empiricIVAntibiotics: 26
        case .infectiousDiseasesConsult: 27
        case .antimicrobialTherapy: 28
        case .resultReview: 29
        }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.caseNumber == rhs.caseNumber }
    public func hash(into hasher: inout Hasher) { hasher.combine(caseNumber) }
}

extension TimerCode {
    /// The case's place in the declaration.
    public var caseNumber: UInt8 {
        switch self {
        case .reassessmentOverdue: 0
        case .day90Review: 1
        case .mapWindowEnd: 2
        case .referralAcceptance: 3
        case .referralCompletion: 4
        case .calcitoninWindowEnd: 5
        }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.caseNumber == rhs.caseNumber }
    public func hash(into hasher: inout Hasher) { hasher.combine(caseNumber) }
}
