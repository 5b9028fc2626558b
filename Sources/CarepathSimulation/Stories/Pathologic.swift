import Pathway

/// ``Archetype/pathologic``: a suspected pathologic fracture (known malignancy, weight loss, or
/// age < 50), contrast MRI, biopsy and multidisciplinary review.
extension PatientBuilder {
    mutating func pathologic() {
        enum Variant { case malignancy, weightLoss, young }
        let variant = rng.weighted([(Variant.malignancy, 50), (.weightLoss, 25), (.young, 25)])
        let age: Int
        var history: [(String, Bool)] = []
        switch variant {
        case .malignancy:
            age = rng.int(in: 50...85)
            history = [("knownMalignancy", true)]
        case .weightLoss:
            age = rng.int(in: 55...85)
            history = [("unexplainedWeightLoss", true), ("constitutionalSymptoms", rng.chance(0.5))]
        case .young:
            age = rng.int(in: 30...49)
            history = [("osteoporosis", rng.chance(0.3)), ("glucocorticoidUse", rng.chance(0.3))]
        }
        add(t0, .presented(age: age, sex: rng.chance(0.55) ? "female" : "male",
                           mechanism: rng.weighted([("low-energy", 50), ("atraumatic", 40), ("unknown", 10)]),
                           levels: levels, history: history, fever: false))
        imaging(after(t0, minutes: 60...240), "xray", stableFindings(acuity: nil))
        add(after(t0, minutes: 60...300), .neuro(intactExam()))
        let baseline = rng.int(in: 4...9)
        let baselineAt = after(t0, minutes: 30...360)
        pain(baselineAt, baseline)
        fillerFrom = baselineAt + minutes(30)
        let suspicious = rng.chance(variant == .malignancy ? 0.7 : variant == .weightLoss ? 0.5 : 0.15)
        var mri = stableFindings(acuity: rng.pick(["acute", "subacute"]))
        mri.suspiciousForMalignancy = suspicious
        let mriAt = after(t0, minutes: 360...(3 * 24 * 60))
        imaging(mriAt, "mri", mri)
        imaging(after(mriAt, days: 1...3), "mri", contrast: "with", region: "whole-spine", mri)
        let malignant = rng.chance(variant == .malignancy ? 0.75 : variant == .weightLoss ? 0.5 : 0.15)
        let biopsyAt = after(mriAt, days: 3...9)
        var benign = false
        if malignant {
            add(biopsyAt, .biopsy(specimen: "vertebral-body", histology: "malignant", metastatic: rng.chance(0.7), organism: nil))
            let accepted = after(biopsyAt, days: 1...4)
            update(.oncologyReferral, "accepted", at: accepted)
            if rng.chance(0.7) { update(.oncologyReferral, "completed", at: after(accepted, days: 2...10)) }
        } else {
            benign = rng.chance(0.85)
            add(biopsyAt, .biopsy(specimen: "vertebral-body", histology: benign ? "benign" : "nondiagnostic",
                                  metastatic: false, organism: nil))
        }
        var cm: Timestamp? = benign ? biopsyAt : nil
        if rng.chance(0.8) {
            let mdt = after(biopsyAt, days: 1...4)
            update(.multidisciplinaryEvaluation, "completed", at: mdt)
            cm = cm ?? mdt
        }
        fillerMedications = ["acetaminophen", "opioid", "nsaid", "calcium-vitamin-d"]
        if let cm {
            let augmentable = variant == .young
            conservativeCourse(cm: cm, baseline: baseline, outcome: chooseOutcome(augmentable: augmentable, baseline: baseline),
                               augmentable: augmentable)
        } else {
            trajectory = PainTrajectory(anchor: t0, baseline: baseline, kind: .persistent)
        }
    }
}
