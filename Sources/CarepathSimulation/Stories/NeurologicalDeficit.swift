import Pathway

/// ``Archetype/neurologicalDeficit``: a deficit, the stat consult downstream, then conservative care.
extension PatientBuilder {
    mutating func neurologicalDeficit() {
        let age = rng.int(in: 55...90)
        add(t0, .presented(age: age, sex: rng.chance(0.65) ? "female" : "male",
                           mechanism: rng.weighted([("low-energy", 75), ("atraumatic", 15), ("unknown", 10)]),
                           levels: levels, history: [("osteoporosis", rng.chance(0.5))], fever: false))
        imaging(after(t0, minutes: 45...180), "xray", stableFindings(acuity: nil))
        let examAt = after(t0, minutes: 60...240)
        let deficit: Exam = switch rng.int(in: 0...3) {
        case 0: Exam(motorDeficit: true, sensoryDeficit: false, bowelBladderDysfunction: false, spinalCordInjury: false,
                     asiaGrade: "D", neuroStatus: "nerve-root")
        case 1: Exam(motorDeficit: false, sensoryDeficit: true, bowelBladderDysfunction: false)
        case 2: Exam(motorDeficit: true, sensoryDeficit: true, bowelBladderDysfunction: true, spinalCordInjury: false,
                     neuroStatus: "cauda-equina")
        default: Exam(motorDeficit: true, sensoryDeficit: true, spinalCordInjury: false, asiaGrade: "C",
                      neuroStatus: "cord-incomplete")
        }
        add(examAt, .neuro(deficit))
        let baseline = rng.int(in: 6...10)
        let baselineAt = after(t0, minutes: 30...300)
        pain(baselineAt, baseline)
        fillerFrom = baselineAt + minutes(30)
        add(after(examAt, minutes: 30...180), .medication("opioid", action: "started"))
        let mriAt = after(examAt, minutes: 30...240)
        var mri = stableFindings(acuity: "acute")
        mri.cordCompression = rng.chance(0.4) ? "significant" : "mild"
        imaging(mriAt, "mri", mri)
        // The stat consult, downstream.
        let acceptedAt = rng.chance(0.8) ? after(examAt, minutes: 20...110) : after(examAt, minutes: 130...300)
        if rng.chance(0.06) {
            update(.spineSurgeryConsult, "rejected", at: after(examAt, minutes: 60...400))
            trajectory = PainTrajectory(anchor: examAt, baseline: baseline, kind: .persistent)
            return
        }
        update(.spineSurgeryConsult, "accepted", at: acceptedAt)
        guard rng.chance(0.92) else {
            trajectory = PainTrajectory(anchor: examAt, baseline: baseline, kind: .persistent)
            return
        }
        let completedAt = rng.chance(0.8) ? after(examAt, minutes: 300...1200) : after(examAt, minutes: 1500...2400)
        update(.spineSurgeryConsult, "in-progress", at: max(acceptedAt, completedAt - minutes(rng.int(in: 60...180))) + minutes(1))
        update(.spineSurgeryConsult, "completed", at: max(acceptedAt, completedAt) + minutes(2))
        let postOpAt = after(max(acceptedAt, completedAt), days: 1...5)
        add(postOpAt, .neuro(intactExam()))
        fillerMedications = ["acetaminophen", "opioid", "nsaid", "bisphosphonate"]
        // A deficit in the episode rules augmentation out (contract version 3).
        conservativeCourse(cm: postOpAt, baseline: baseline, outcome: rng.chance(0.8) ? .resolve : .persistent, augmentable: false)
    }
}
