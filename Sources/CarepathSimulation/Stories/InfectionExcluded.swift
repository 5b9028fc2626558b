import Pathway

/// ``Archetype/infectionExcluded``, a story of contract version 3.
extension PatientBuilder {
    /// Fever with injection drug use or immunosuppression: infection suspected at presentation. A
    /// blood culture with no growth, then a contrast MRI showing the fracture and no
    /// discitis-osteomyelitis: infection excluded; conservative care.
    mutating func infectionExcluded() {
        let risk = rng.weighted([("injectionDrugUse", 50), ("immunosuppressed", 50)])
        var history: [(String, Bool)] = [(risk, true)]
        if risk == "immunosuppressed", rng.chance(0.4) { history.append(("glucocorticoidUse", true)) }
        if rng.chance(0.5) { history.append(("osteoporosis", rng.chance(0.5))) }
        // 50 or older: younger, a fragility fracture would also start a pathologic workup.
        add(t0, .presented(age: rng.int(in: 50...80), sex: rng.chance(0.55) ? "male" : "female",
                           mechanism: rng.weighted([("low-energy", 50), ("atraumatic", 40), ("unknown", 10)]),
                           levels: levels, history: history, fever: true))
        let xrayAt = after(t0, minutes: 45...240)
        imaging(xrayAt, "xray", stableFindings(acuity: rng.chance(0.5) ? nil : "indeterminate"))
        add(after(t0, minutes: 60...360), .neuro(intactExam()))
        let baseline = rng.int(in: 4...8)
        let baselineAt = after(t0, minutes: 30...300)
        pain(baselineAt, baseline)
        fillerFrom = baselineAt + minutes(30)
        add(after(t0, minutes: 120...360), .medication("acetaminophen", action: "started"))
        let cultureAt = after(t0, minutes: (44 * 60)...(56 * 60))
        add(cultureAt, .biopsy(specimen: "blood-culture", histology: nil, metastatic: nil,
                               organism: rng.weighted([("no growth", 70), ("No growth at 48 hours", 30)])))
        let mriAt = after(cultureAt, minutes: 60...1440)
        imaging(mriAt, "mri", contrast: "with", stableFindings(acuity: rng.weighted([("acute", 80), ("subacute", 20)])))
        fillerMedications = ["acetaminophen", "opioid", "nsaid", "calcium-vitamin-d"]
        conservativeCourse(cm: mriAt, baseline: baseline, outcome: chooseOutcome(augmentable: true, baseline: baseline),
                           augmentable: true)
    }
}
