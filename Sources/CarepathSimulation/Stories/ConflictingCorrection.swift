import Pathway

/// ``Archetype/conflictingCorrection``, a story of contract version 3.
extension PatientBuilder {
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
}
