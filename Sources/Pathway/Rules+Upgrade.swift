/// Continuing under version 3 a patient whose cards an earlier ruleset issued
/// (PATHWAY.md version 3, "Upgrading a running system"): on the patient's next
/// event or timer, each active card of an earlier ruleset whose version-3 end
/// has already happened is ended, with `statusReason` "ruleset vcf-2027.1: …".
extension DecisionContext {
    /// Ends the cards an earlier ruleset left active that version 3 would have ended.
    mutating func endCardsEndedUnderThisRuleset() {
        guard !state.activeCardsOfEarlierRuleset.isEmpty else { return }
        for (code, _) in CardLifecycle.ends {
            guard let rec = state.active(code), !rec.rulesetVersion.hasPrefix(Ruleset.baseVersion),
                  let (status, why) = endedUnderThisRuleset(rec)
            else { continue }
            revise(rec, status: status, reason: "ruleset \(Ruleset.baseVersion): \(why)")
        }
    }

    /// The version-3 end that has already happened to a card, if any.
    private func endedUnderThisRuleset(_ rec: Recommendation) -> (RecommendationStatus, String)? {
        func completed(_ code: TaskCode) -> Bool {
            state.tasks.values.contains { $0.code == code && $0.status == .completed && $0.lastModified >= rec.issuedAt }
        }
        switch rec.code {
        case .mriSpineWithoutContrast:
            return state.mriResulted(atOrAfter: rec.issuedAt) || completed(.mriSpineWithoutContrast) ? (.completed, "an MRI has resulted") : nil
        case .urgentSurgicalReferral, .surgicalConsultInstability, .referralOverdue:
            return completed(.spineSurgeryConsult) ? (.completed, "the spine surgery consult was completed") : nil
        case .sciCriticalCareBundle:
            return state.openTracks.contains(.criticalCare) ? nil : (.completed, "the MAP goal window has ended")
        case .mapBelowGoal:
            return state.openTracks.contains(.criticalCare) ? nil : (.withdrawn, "the MAP goal window has ended")
        case .spinalPrecautions:
            return completed(.spinalPrecautions) ? (.completed, "both spinal regions were cleared") : nil
        case .pathologicFractureWorkup:
            return state.openTracks.contains(.pathologicWorkup) ? nil : (.completed, "the pathologic workup has closed")
        case .infectionWorkup:
            return state.openTracks.contains(.antibioticTherapy) || completed(.ivAntibiotics) ? (.completed, "targeted therapy has started") : nil
        case .targetedIVAntibiotics:
            return completed(.ivAntibiotics) ? (.completed, "the IV antibiotic course was completed") : nil
        case .oncologyReferral:
            return completed(.oncologyReferral) ? (.completed, "the oncology referral was completed") : nil
        case .conservativeManagement:
            return state.activeRecommendation[.pathwayResolved] != nil ? (.completed, "the pathway has resolved") : nil
        case .reassessmentOverdue:
            return completed(.reassessmentVisit) ? (.completed, "the reassessment visit was completed") : nil
        case .vertebralAugmentationEvaluation:
            return completed(.interventionalSpineConsult) ? (.completed, "the interventional spine consult was completed") : nil
        default:
            return nil
        }
    }
}
