/// When each recommendation ends: PATHWAY.md section 4, its "ends" column,
/// as one table a clinician can read beside the contract.
///
/// The rules say what happened (``CardEnd``); this table alone says which
/// active cards that ends, and with which status. Nothing else ends a card.
enum CardLifecycle {
    /// Each code, in the order of the contract's table, with what ends its
    /// card and how.
    static let ends: [(code: RecommendationCode, ends: [(on: CardEnd, status: RecommendationStatus)])] = [
        (.urgentSurgicalReferral, [(.taskCompleted(.spineSurgeryConsult), .completed)]),
        (.sciCriticalCareBundle, [(.mapWindowEnded, .completed)]),
        (.mapBelowGoal, [(.mapAboveGoal, .withdrawn), (.mapWindowEnded, .withdrawn)]),
        (.spinalPrecautions, [(.spineCleared, .completed)]),
        (.surgicalConsultInstability, [(.taskCompleted(.spineSurgeryConsult), .completed)]),
        (.pathologicFractureWorkup, [(.trackClosed(.pathologicWorkup), .completed), (.tasksEndedUncompleted, .withdrawn)]),
        (.mriSpineWithoutContrast, [(.mriResulted, .completed), (.replacedByContrastMRI, .withdrawn), (.tasksEndedUncompleted, .withdrawn)]),
        (.painManagement, [(.taskCompleted(.analgesia), .completed), (.newEpisode, .superseded), (.tasksEndedUncompleted, .withdrawn)]),
        (.infectionWorkup, [(.therapyStarted, .completed), (.infectionExcluded, .withdrawn)]),
        (.empiricIVAntibiotics, [(.therapyStarted, .superseded), (.infectionExcluded, .withdrawn)]),
        (.targetedIVAntibiotics, [(.taskCompleted(.ivAntibiotics), .completed)]),
        (.specialistAntimicrobialTherapy, [(.taskCompleted(.antimicrobialTherapy), .completed)]),
        (.bloodCultureConfirmation, [(.repeatBloodCultureResulted, .completed)]),
        (.oncologyReferral, [(.taskCompleted(.oncologyReferral), .completed)]),
        (.conservativeManagement, [(.pathwayResolved, .completed), (.escalated, .superseded), (.tasksEndedUncompleted, .withdrawn)]),
        (.reassessmentOverdue, [(.taskCompleted(.reassessmentVisit), .completed), (.reassessmentVisitEndedOtherwise, .withdrawn)]),
        (.vertebralAugmentationEvaluation, [(.taskCompleted(.interventionalSpineConsult), .completed), (.escalated, .superseded),
                                            (.notFragility, .superseded), (.tasksEndedUncompleted, .withdrawn)]),
        (.pathwayResolved, [(.newEpisode, .superseded)]),
        (.referralOverdue, [(.taskCompleted(.spineSurgeryConsult), .completed)]),
        (.conflictingResultReview, [(.taskCompleted(.resultReview), .completed)]),
    ]

    /// The status a card of `code` ends with on `end`, or `nil` when `end` does not end it.
    static func status(of code: RecommendationCode, on end: CardEnd) -> RecommendationStatus? {
        byCode[Int(code.caseNumber)].first { $0.on == end }?.status
    }

    /// ``ends`` by the code's case number (the table lists every code once, in declaration order).
    private static let byCode: [[(on: CardEnd, status: RecommendationStatus)]] = {
        var table = Array(repeating: [(on: CardEnd, status: RecommendationStatus)](), count: RecommendationCode.allCases.count)
        for row in ends { table[Int(row.code.caseNumber)] = row.ends }
        return table
    }()

    /// The safety cards (section 4, "Tasks that end uncompleted"): never
    /// withdrawn because a task failed; the task is requested once more, then a
    /// clinician is asked to arrange it.
    static let safetyCards: Set<RecommendationCode> = [
        .sciCriticalCareBundle, .spinalPrecautions, .pathologicFractureWorkup, .oncologyReferral, .infectionWorkup,
        .empiricIVAntibiotics, .targetedIVAntibiotics, .specialistAntimicrobialTherapy, .bloodCultureConfirmation,
        .conflictingResultReview,
    ]

    /// The referral cards keep their own rule: `REFERRAL_OVERDUE` requests the consult again.
    static let referralCards: Set<RecommendationCode> = [.urgentSurgicalReferral, .surgicalConsultInstability, .referralOverdue]
}

/// Something that ends cards, as the "ends" column names it.
enum CardEnd: Hashable {
    /// The task a card asked for completed downstream (or, for spinal
    /// precautions and results, carepath completed it).
    case taskCompleted(TaskCode)
    /// A track closed (the pathologic workup: benign or infected biopsy, or the
    /// multidisciplinary evaluation completed).
    case trackClosed(Track)
    /// The 7-day MAP goal window after a spinal cord injury ended.
    case mapWindowEnded
    /// The latest MAP within the window is above goal.
    case mapAboveGoal
    /// An MRI resulted at or after the card's cause.
    case mriResulted
    /// Its MRI task was replaced by the MRI with contrast.
    case replacedByContrastMRI
    /// Targeted or specialist antimicrobial therapy started.
    case therapyStarted
    /// Infection excluded (section 4, `INFECTION_WORKUP`).
    case infectionExcluded
    /// The repeat blood culture resulted.
    case repeatBloodCultureResulted
    /// Both spinal regions cleared.
    case spineCleared
    /// `PATHWAY_RESOLVED` issued.
    case pathwayResolved
    /// An acute track opened while conservative care was open.
    case escalated
    /// The fracture stopped being a fragility fracture.
    case notFragility
    /// A new episode started.
    case newEpisode
    /// The reassessment visit ended without being completed.
    case reassessmentVisitEndedOtherwise
    /// Every task the card requested ended uncompleted downstream.
    case tasksEndedUncompleted
}
