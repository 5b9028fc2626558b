/// Fracture pain (`PAIN_MANAGEMENT`).
extension DecisionContext {
    /// `PAIN_MANAGEMENT` from fracture identification; urgent while the latest NRS is 7 or more.
    mutating func painManagement(before: Before, eventId: String) {
        if !before.fractureIdentified, let identified = state.fractureIdentified, !state.issuedInEpisode(.painManagement) {
            let severe = (state.latestNRS?.value.nrs ?? 0) >= 7
            guard let rec = issue(
                .painManagement, priority: severe ? .urgent : .routine, indicator: severe ? .warning : .info,
                summary: severe ? "Severe fracture pain (NRS \(state.latestNRS!.value.nrs)): analgesia now (acetaminophen, NSAIDs, opioids as needed)."
                    : "Vertebral fracture identified: treat the pain now (acetaminophen, NSAIDs, opioids as needed), whatever comes next.",
                detail: """
                    A vertebral compression fracture was identified (\(identified.value.rfc3339)). Treat the pain from the \
                    start, whatever the later pathway: acetaminophen, NSAIDs and opioids as needed.
                    """,
                rationale: [RationaleFact("fractureIdentified", identified.value.rfc3339, identified.eventId)]
                    + (severe ? [RationaleFact("nrs", state.latestNRS!.value.nrs, state.latestNRS!.eventId)] : []),
                evidence: [EvidenceCatalog.conservative, EvidenceCatalog.conservativeS0])
            else { return }
            requestTask(.analgesia, priority: rec.priority, basedOn: rec, description: "Analgesics for fracture pain: acetaminophen, NSAIDs, opioids as needed.")
            return
        }
        guard let latest = state.latestNRS, latest.value.nrs >= 7, state.activeRecommendation[.painManagement] != nil,
              let rec = state.active(.painManagement), rec.priority < .urgent
        else { return }
        revise(rec, priority: .urgent, indicator: .warning,
               summary: "Severe fracture pain (NRS \(latest.value.nrs)): review analgesia now (acetaminophen, NSAIDs, opioids as needed).",
               addingRationale: [RationaleFact("nrs", latest.value.nrs, latest.eventId)])
        if let task = state.open(.analgesia) { raiseTask(task, to: .urgent) }
    }
}
