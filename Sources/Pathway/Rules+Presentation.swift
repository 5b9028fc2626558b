/// What a `patient.presented` event triggers (PATHWAY.md section 3).
extension DecisionContext {
    mutating func presented(_ p: Presentation, eventId: String, before: Before) {
        if p.mechanism == .highEnergyTrauma, !knew("mechanism", before) {
            spinalPrecautions(trigger: "high-energy trauma", facts: [RationaleFact("mechanism", p.mechanism.rawValue, eventId)])
        }
        pathologicWorkup(eventId: eventId, before: before)
        if !state.mriResulted, state.activeRecommendation[.mriSpineWithoutContrast] == nil {
            mriCard(cause: "presentation", needFrom: state.episodeStartedAt ?? now, worsening: false, eventId: eventId)
        }
        painManagement(before: before, eventId: eventId)
        if feverWithRisk, !before.feverWithRisk {
            var facts = [RationaleFact("fever", true, state.fever?.eventId ?? eventId)]
            if state.presentation?.history?.injectionDrugUse == true {
                facts.append(RationaleFact("injectionDrugUse", true, state.presentationEventId ?? eventId))
            }
            if state.presentation?.history?.immunosuppressed == true {
                facts.append(RationaleFact("immunosuppressed", true, state.presentationEventId ?? eventId))
            }
            infectionWorkup(trigger: "fever with \(facts.dropFirst().map { Self.words($0.fact) }.joined(separator: " and "))", facts: facts)
        }
    }
}
