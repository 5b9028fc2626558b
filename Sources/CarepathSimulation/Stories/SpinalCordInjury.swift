import Pathway

/// ``Archetype/spinalCordInjury``: a spinal cord injury after high-energy trauma, a MAP series
/// over the 7-day window and vasopressors.
extension PatientBuilder {
    mutating func spinalCordInjury() {
        levels = [rng.pick(["T10", "T11", "T12", "L1", "L2"])]
        heightLoss = rng.int(in: 30...60)
        kyphosis = rng.int(in: 15...35)
        add(t0, .presented(age: rng.int(in: 18...70), sex: rng.chance(0.75) ? "male" : "female", mechanism: "high-energy-trauma",
                           levels: levels, history: rng.chance(0.5) ? [] : nil, fever: false))
        let ctAt = after(t0, minutes: 30...90)
        imaging(ctAt, "ct", Findings(compressionFracture: true, acuity: "acute", heightLossPercent: heightLoss,
                                     kyphosisDegrees: kyphosis, morphology: rng.chance(0.7) ? "burst" : "translation-rotation",
                                     posteriorLigamentousComplex: "injured", unstable: true, cordCompression: "significant",
                                     suspiciousForMalignancy: false, discitisOsteomyelitis: false))
        let examAt = after(ctAt, minutes: 10...60)
        let grade = rng.pick(["A", "B", "C"])
        add(examAt, .neuro(Exam(motorDeficit: true, sensoryDeficit: grade != "B" || rng.chance(0.5),
                                bowelBladderDysfunction: rng.chance(0.5), spinalCordInjury: true, asiaGrade: grade,
                                neuroStatus: grade == "A" ? "cord-complete" : "cord-incomplete")))
        let baseline = rng.int(in: 6...10)
        let baselineAt = after(t0, minutes: 20...240)
        pain(baselineAt, baseline)
        fillerFrom = baselineAt + minutes(30)
        let pressor = rng.chance(0.85) ? "norepinephrine" : "dopamine"
        add(after(examAt, minutes: 20...120), .medication(pressor, action: "started"))
        imaging(after(examAt, minutes: 120...600), "mri", Findings(compressionFracture: true, acuity: "acute", heightLossPercent: heightLoss,
                                                                  kyphosisDegrees: kyphosis, morphology: "burst",
                                                                  posteriorLigamentousComplex: "injured", unstable: true,
                                                                  cordCompression: "significant"))
        // MAP over the first days of the 7-day window.
        var mapAt = examAt
        for _ in 0..<rng.int(in: 3...6) {
            mapAt = after(mapAt, minutes: 240...720)
            add(mapAt, .vitals(map: rng.int(in: 72...96), spo2: rng.int(in: 90...99), fvc: nil, pulmonaryDysfunction: nil))
        }
        mapWindow = examAt..<(examAt + .days(7))
        add(after(examAt, days: 5...7), .medication(pressor, action: "stopped"))
        if rng.chance(0.7) { update(.icuAdmission, "completed", at: after(examAt, minutes: 30...240)) }
        if rng.chance(0.5) { update(.arterialLine, "completed", at: after(examAt, minutes: 40...240)) }
        if rng.chance(0.85) {
            let accepted = after(examAt, minutes: 20...100)
            update(.spineSurgeryConsult, "accepted", at: accepted)
            if rng.chance(0.85) { update(.spineSurgeryConsult, "completed", at: after(accepted, minutes: 180...1200)) }
        }
        if rng.chance(0.4) { add(after(t0, days: 2...6), .cleared(cervical: true, thoracolumbar: nil)) }
        let followUp = after(examAt, days: 5...12)
        let improved = ["A": "A", "B": "C", "C": "D"][grade] ?? grade
        add(followUp, .neuro(Exam(motorDeficit: true, spinalCordInjury: true, asiaGrade: improved)))
        trajectory = PainTrajectory(anchor: examAt, baseline: baseline, kind: .persistent)
        fillerMedications = ["opioid", "acetaminophen", "calcium-vitamin-d"]
    }
}
