import Pathway

/// ``Archetype/highEnergyTrauma``: high-energy trauma without cord injury, `spine.cleared` events
/// and, for TLICS ≥ 5 (instability), a spine surgery consult.
extension PatientBuilder {
    mutating func highEnergyTrauma() {
        add(t0, .presented(age: rng.int(in: 18...80), sex: rng.chance(0.65) ? "male" : "female", mechanism: "high-energy-trauma",
                           levels: levels, history: rng.chance(0.7) ? [] : nil, fever: false))
        let burst = rng.chance(0.25)
        let plc = rng.weighted([("intact", 75), ("indeterminate", 15), ("injured", 10)])
        let ctAt = after(t0, minutes: 30...120)
        let findings = Findings(compressionFracture: true, acuity: "acute", heightLossPercent: heightLoss, kyphosisDegrees: kyphosis,
                                morphology: burst ? "burst" : "compression", posteriorLigamentousComplex: plc, unstable: false,
                                cordCompression: rng.chance(0.8) ? "none" : "mild", suspiciousForMalignancy: false,
                                discitisOsteomyelitis: false)
        imaging(ctAt, "ct", findings)
        let examAt = after(t0, minutes: 40...180)
        add(examAt, .neuro(intactExam()))
        let baseline = rng.int(in: 5...9)
        let baselineAt = after(t0, minutes: 30...300)
        pain(baselineAt, baseline)
        fillerFrom = baselineAt + minutes(30)
        add(after(t0, minutes: 60...300), .medication("opioid", action: "started"))
        let mriAt = after(t0, minutes: 240...(3 * 24 * 60))
        imaging(mriAt, "mri", findings)
        if rng.chance(0.3) {
            add(after(t0, minutes: 180...1440), .cleared(cervical: true, thoracolumbar: true))
        } else {
            if rng.chance(0.9) { add(after(t0, minutes: 180...1440), .cleared(cervical: true, thoracolumbar: nil)) }
            if rng.chance(0.75) { add(after(t0, days: 1...4), .cleared(cervical: nil, thoracolumbar: true)) }
        }
        var cm = max(ctAt, examAt, mriAt)
        // TLICS: burst 2 + injured ligaments 3 + intact 0 = 5: an instability consult.
        if burst, plc == "injured" {
            let accepted = after(ctAt, minutes: 240...1440)
            update(.spineSurgeryConsult, "accepted", at: accepted)
            guard rng.chance(0.85) else {
                trajectory = PainTrajectory(anchor: cm, baseline: baseline, kind: .persistent)
                return
            }
            let completed = after(accepted, days: 1...3)
            update(.spineSurgeryConsult, "completed", at: completed)
            cm = max(cm, completed)
        }
        fillerMedications = ["opioid", "acetaminophen", "nsaid"]
        conservativeCourse(cm: cm, baseline: baseline, outcome: chooseOutcome(augmentable: false, baseline: baseline),
                           augmentable: false)
    }
}
