import Pathway

enum ConservativeOutcome {
    case resolve, persistent, worsening, deformity, pulmonary
}

private enum VisitMode {
    case onTime, late, never
}

/// Conservative care, the course most stories end with: how it ends (``ConservativeOutcome``),
/// the NRS story, the reassessment visit and what leads to an augmentation evaluation.
extension PatientBuilder {
    /// The rest of a conservative course that starts at `cm` (when carepath
    /// issues CONSERVATIVE_MANAGEMENT): the NRS story, the reassessment visit and
    /// whatever leads to an augmentation evaluation.
    /// - Parameter augmentable: a fragility fracture, not chronic: carepath can request an
    ///   interventional spine consult, which the task system then accepts and completes.
    mutating func conservativeCourse(cm: Timestamp, baseline: Int, outcome: ConservativeOutcome, augmentable: Bool,
                                     visits: Bool = true) {
        var visitMode = VisitMode.never
        if visits { visitMode = rng.weighted([(VisitMode.onTime, 70), (.late, 10), (.never, 20)]) }
        var visitDay: Int?
        switch visitMode {
        case .onTime: visitDay = rng.int(in: 28...41)
        case .late: visitDay = rng.int(in: 43...55)
        case .never: break
        }
        var augmentationAt: Timestamp?
        switch outcome {
        case .resolve, .deformity, .pulmonary:
            var day = rng.int(in: 21...70)
            if let visitDay { day = max(day, visitDay) }
            trajectory = PainTrajectory(anchor: cm, baseline: baseline, kind: .resolve(day: day, final: rng.int(in: 0...3)))
            let resolvedAt = cm + .days(max(day, 28)) + minutes(rng.int(in: 0...(7 * 24 * 60)))
            pain(resolvedAt, trajectory.nrs(at: resolvedAt, noise: &rng))
            if outcome == .deformity {
                let xrayAt = after(cm, days: 14...26)
                let worse = Findings(compressionFracture: true, acuity: "subacute",
                                     heightLossPercent: min(100, heightLoss + rng.int(in: 11...25)),
                                     kyphosisDegrees: min(90, kyphosis + rng.int(in: 0...8)), morphology: "compression",
                                     posteriorLigamentousComplex: "intact", unstable: false, cordCompression: "none",
                                     suspiciousForMalignancy: false, discitisOsteomyelitis: false)
                imaging(xrayAt, "xray", worse)
                augmentationAt = xrayAt
            } else if outcome == .pulmonary {
                let at = after(cm, days: 3...25)
                let low = rng.chance(0.6)
                add(at, .vitals(map: nil, spo2: rng.int(in: 88...95), fvc: low ? rng.int(in: 48...68) : nil,
                                pulmonaryDysfunction: low ? nil : true))
                augmentationAt = at
            }
        case .persistent:
            trajectory = PainTrajectory(anchor: cm, baseline: baseline, kind: .persistent)
            if rng.chance(0.7) {
                let at = after(cm, days: 77...88)
                pain(at, trajectory.nrs(at: at, noise: &rng))
                augmentationAt = cm + .days(90)
            }
            let later = after(cm, days: 91...104)
            pain(later, trajectory.nrs(at: later, noise: &rng))
            augmentationAt = augmentationAt ?? later
        case .worsening:
            let day = rng.int(in: 7...30)
            let peak = min(10, baseline + rng.int(in: 2...3))
            let relief = rng.chance(0.6) ? day + rng.int(in: 25...50) : nil
            trajectory = PainTrajectory(anchor: cm, baseline: baseline,
                                        kind: .worsening(day: day, peak: peak, reliefDay: relief, final: rng.int(in: 1...3)))
            let at = cm + .days(day) + minutes(rng.int(in: 0...600))
            pain(at, peak, onAnalgesics: true)
            augmentationAt = at
            if let relief {
                let reliefAt = cm + .days(max(relief, visitDay ?? 0, 28)) + minutes(rng.int(in: 60...600))
                pain(reliefAt, trajectory.nrs(at: reliefAt, noise: &rng))
            }
        }
        if let visitDay {
            let visitAt = cm + .days(visitDay) + minutes(rng.int(in: 0...480))
            if rng.chance(0.3) { update(.reassessmentVisit, "accepted", at: visitAt - .days(rng.int(in: 2...10))) }
            update(.reassessmentVisit, "completed", at: visitAt)
            let nrsAt = visitAt + minutes(rng.int(in: 5...40))
            pain(nrsAt, trajectory.nrs(at: nrsAt, noise: &rng))
        }
        if augmentable, let augmentationAt, rng.chance(0.65) {
            let accepted = after(augmentationAt, days: 2...7)
            update(.interventionalSpineConsult, "accepted", at: accepted)
            if rng.chance(0.8) { update(.interventionalSpineConsult, "completed", at: after(accepted, days: 3...14)) }
        }
    }

    /// How conservative care ends; only a fragility fracture that is not chronic can meet an
    /// augmentation criterion, and pain can only worsen by 2 points from a baseline of at most 8.
    mutating func chooseOutcome(augmentable: Bool, baseline: Int) -> ConservativeOutcome {
        augmentable
            ? rng.weighted([(ConservativeOutcome.resolve, 60), (.persistent, 22), (.worsening, baseline <= 8 ? 6 : 0),
                            (.deformity, 6), (.pulmonary, 6)])
            : rng.weighted([(ConservativeOutcome.resolve, 78), (.persistent, 22)])
    }
}
