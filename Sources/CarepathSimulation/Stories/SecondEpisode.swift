import Pathway

/// ``Archetype/secondEpisode``, a story of contract version 3.
extension PatientBuilder {
    /// An osteoporotic history that resolves (MRI, intact exam, the reassessment visit completed on
    /// day 30 of conservative care, NRS 2 after day 28); about four months later an acute
    /// compression fracture at a new level: a second episode.
    mutating func secondEpisode() {
        add(t0, .presented(age: max(rng.int(in: 60...95), rng.int(in: 60...95)), sex: rng.chance(0.75) ? "female" : "male",
                           mechanism: rng.weighted([("low-energy", 75), ("atraumatic", 15), ("unknown", 10)]),
                           levels: levels, history: [("osteoporosis", rng.chance(0.7))], fever: false))
        let xrayAt = after(t0, minutes: 45...240)
        imaging(xrayAt, "xray", stableFindings(acuity: nil))
        let examAt = after(t0, minutes: 60...360)
        add(examAt, .neuro(intactExam()))
        let baseline = rng.int(in: 5...8)
        let baselineAt = after(t0, minutes: 90...480)
        pain(baselineAt, baseline)
        fillerFrom = baselineAt + minutes(30)
        let mriAt = after(t0, minutes: (6 * 60)...(5 * 24 * 60))
        imaging(mriAt, "mri", stableFindings(acuity: "acute"))
        let cm = max(xrayAt, examAt, mriAt)
        // Resolution: NRS 2 after day 28, the visit completed on day 30.
        pain(cm + .days(28) + minutes(rng.int(in: 60...1200)), 2)
        let visitAt = cm + .days(30) + minutes(rng.int(in: 0...480))
        update(.reassessmentVisit, "completed", at: visitAt)
        // About four months later, an acute fracture at a new level (above the first: T12 after L1).
        let newAt = after(visitAt, days: 100...140)
        let first = Self.thoracolumbarLevels.firstIndex(of: levels[0]) ?? 9
        let newLevel = Self.thoracolumbarLevels[max(0, first - (rng.chance(0.7) ? 1 : 2))]
        let relapseBaseline = rng.int(in: 5...8)
        trajectory = PainTrajectory(anchor: cm, baseline: baseline,
                                    kind: .relapse(day: rng.int(in: 14...28), final: rng.int(in: 0...2),
                                                   relapseDay: Int((newAt - cm).milliseconds / 86_400_000),
                                                   relapseBaseline: relapseBaseline))
        levels = [newLevel]
        heightLoss = rng.int(in: 10...35)
        kyphosis = rng.int(in: 3...15)
        let xray = rng.chance(0.7)
        imaging(newAt, xray ? "xray" : "mri", stableFindings(acuity: "acute"))
        pain(after(newAt, minutes: 20...240), relapseBaseline)
        add(after(newAt, minutes: 30...300), .neuro(intactExam()))
        if xray { imaging(after(newAt, days: 1...5), "mri", stableFindings(acuity: "acute")) }
        fillerMedications = ["acetaminophen", "opioid", "nsaid", "bisphosphonate", "calcium-vitamin-d"]
    }
}
