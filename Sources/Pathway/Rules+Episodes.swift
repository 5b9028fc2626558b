/// Episodes of care (PATHWAY.md section 2).
extension DecisionContext {
    /// After `PATHWAY_RESOLVED`, a new acute fracture starts the next episode (PATHWAY.md section 2).
    func startsNewEpisode(_ input: InputEvent) -> Bool {
        guard state.resolvedAt != nil, case .imagingResulted(let i) = input.data, i.findings.compressionFracture == true,
              i.findings.acuity != .chronic
        else { return false }
        if let levels = i.levels, !levels.isEmpty { return levels.contains { !state.levels.contains($0) } }
        return input.time > state.resolvedAt!
    }

    mutating func startNewEpisode(_ input: InputEvent) {
        let n = state.episode + 1
        let reason = "new acute fracture after the pathway resolved (\(input.type.rawValue) \(input.id))"
        emit(.episodeStarted(episode: n, reason: reason))
        end(.newEpisode, reason: "episode \(n) started: \(reason)")
        closeTrack(.recovering, reason: "episode \(n) started")
        // What ended belongs to the episode before: its codes may be issued again in this one.
        endedNow = CodeSet()
    }
}
