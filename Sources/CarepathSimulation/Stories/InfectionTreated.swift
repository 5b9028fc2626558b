import Pathway

/// ``Archetype/infectionTreated``, a story of contract version 3.
extension PatientBuilder {
    /// A spinal infection treated, three ways: S. aureus bacteremia with discitis-osteomyelitis on
    /// MRI (no biopsy needed; septic for some, so empiric antibiotics first); M. tuberculosis on a
    /// vertebral-body biopsy (specialist therapy); or S. epidermidis, a possible contaminant, on one
    /// blood culture, confirmed by a second.
    mutating func infectionTreated() {
        enum Variant { case aureusBacteremia, tuberculosis, contaminantConfirmed }
        let variant = rng.weighted([(Variant.aureusBacteremia, 45), (.tuberculosis, 25), (.contaminantConfirmed, 30)])
        let history: [(String, Bool)] = variant == .tuberculosis
            ? [("immunosuppressed", rng.chance(0.4))]
            : [(rng.chance(0.5) ? "injectionDrugUse" : "immunosuppressed", true)]
        add(t0, .presented(age: rng.int(in: 50...85), sex: rng.chance(0.6) ? "male" : "female",
                           mechanism: rng.weighted([("atraumatic", 80), ("unknown", 20)]), levels: levels,
                           history: history, fever: variant == .tuberculosis ? rng.chance(0.4) : rng.chance(0.85)))
        add(after(t0, minutes: 60...360), .neuro(intactExam()))
        let baseline = rng.int(in: 5...9)
        let baselineAt = after(t0, minutes: 30...300)
        pain(baselineAt, baseline)
        fillerFrom = baselineAt + minutes(30)
        trajectory = PainTrajectory(anchor: t0, baseline: baseline, kind: .resolve(day: rng.int(in: 40...80), final: rng.int(in: 1...3)))
        fillerMedications = ["acetaminophen", "opioid"]
        var septicAt: Timestamp?
        if variant == .aureusBacteremia, rng.chance(0.35) {
            let at = after(t0, minutes: 30...180)
            add(at, .vitals(map: rng.int(in: 52...64), spo2: rng.int(in: 90...97), fvc: nil, pulmonaryDysfunction: nil))
            add(after(at, minutes: 30...120), .medication("iv-antibiotic", action: "started"))  // empiric, once cultures are drawn
            septicAt = at
        }
        let mriAt = after(t0, minutes: 180...1440)
        let fractured = rng.chance(0.6)
        let mri = Findings(compressionFracture: fractured, acuity: fractured ? rng.pick(["acute", "subacute"]) : nil,
                           cordCompression: "none", suspiciousForMalignancy: false, discitisOsteomyelitis: true)
        imaging(mriAt, "mri", contrast: "with", mri)
        update(.inflammatoryMarkers, "completed", at: after(mriAt, minutes: 60...720))
        let organismAt: Timestamp
        switch variant {
        case .aureusBacteremia:
            organismAt = after(t0, minutes: (24 * 60)...(60 * 60))
            add(organismAt, .biopsy(specimen: "blood-culture", histology: nil, metastatic: nil,
                                    organism: rng.weighted([("Staphylococcus aureus", 75),
                                                            ("Methicillin-resistant Staphylococcus aureus", 25)])))
        case .tuberculosis:
            add(after(t0, minutes: (24 * 60)...(60 * 60)), .biopsy(specimen: "blood-culture", histology: nil, metastatic: nil,
                                                                organism: "no growth"))
            let biopsyAt = after(mriAt, days: 3...10)
            add(biopsyAt, .biopsy(specimen: "vertebral-body", histology: "infection", metastatic: false,
                                  organism: "Mycobacterium tuberculosis"))
            // Specialist therapy (infectious diseases); no 6-8-week IV course.
            trajectory = PainTrajectory(anchor: t0, baseline: baseline, kind: .resolve(day: rng.int(in: 60...100), final: rng.int(in: 1...3)))
            return
        case .contaminantConfirmed:
            let first = after(t0, minutes: (24 * 60)...(60 * 60))
            add(first, .biopsy(specimen: "blood-culture", histology: nil, metastatic: nil, organism: "Staphylococcus epidermidis"))
            organismAt = after(first, days: 1...3)
            add(organismAt, .biopsy(specimen: "blood-culture", histology: nil, metastatic: nil, organism: "Staphylococcus epidermidis"))
            if rng.chance(0.4) {
                add(after(organismAt, days: 1...4), .biopsy(specimen: rng.chance(0.7) ? "vertebral-body" : "disc",
                                                            histology: "infection", metastatic: false,
                                                            organism: "Staphylococcus epidermidis"))
            }
        }
        ivAntibioticCourse(from: max(organismAt, mriAt), startsMedication: septicAt == nil)
    }
}
