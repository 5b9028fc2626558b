import Pathway

/// ``Archetype/osteoporoticConservative``: a fragility fracture under conservative care.
extension PatientBuilder {
    mutating func osteoporotic() {
        let age = max(rng.int(in: 60...95), rng.int(in: 60...95))
        let mechanism = rng.weighted([("low-energy", 70), ("atraumatic", 20), ("unknown", 10)])
        var history: [(String, Bool)] = [("osteoporosis", rng.chance(0.6))]
        if rng.chance(0.15) { history.append(("glucocorticoidUse", true)) }
        if rng.chance(0.2) { history.append(("knownMalignancy", false)) }
        let presented = Payload.presented(age: age, sex: rng.chance(0.75) ? "female" : "male", mechanism: mechanism,
                                          levels: levels, history: history, fever: rng.chance(0.7) ? false : nil)
        add(t0, presented)
        let baseline = rng.int(in: 4...9)
        let outcome = chooseOutcome(augmentable: true, baseline: baseline)
        var acuity = rng.weighted([("acute", 70), ("subacute", 15), ("chronic", 8), ("indeterminate", 7)])
        if outcome != .resolve, acuity == "chronic" { acuity = "acute" }
        let xrayAt = after(t0, minutes: 45...240)
        imaging(xrayAt, "xray", stableFindings(acuity: rng.chance(0.5) ? nil : "indeterminate"))
        let examAt = after(t0, minutes: 60...360)
        add(examAt, .neuro(intactExam()))
        let baselineAt = after(t0, minutes: 90...480)
        pain(baselineAt, baseline, onAnalgesics: rng.chance(0.5))
        fillerFrom = baselineAt + minutes(30)
        add(after(t0, minutes: 120...360), .medication("acetaminophen", action: "started"))
        if rng.chance(0.6) { add(after(t0, days: 1...3), .medication("calcium-vitamin-d", action: "started")) }
        let mriAt = after(t0, minutes: (6 * 60)...(14 * 24 * 60))
        imaging(mriAt, "mri", stableFindings(acuity: acuity))
        if rng.chance(0.05) { add(after(t0, days: 1...5), presented) }  // a re-presentation: same facts, new id
        fillerMedications = ["acetaminophen", "opioid", "nsaid", "bisphosphonate", "calcitonin", "calcium-vitamin-d"]
        conservativeCourse(cm: max(xrayAt, examAt, mriAt), baseline: baseline, outcome: outcome, augmentable: true)
    }
}
