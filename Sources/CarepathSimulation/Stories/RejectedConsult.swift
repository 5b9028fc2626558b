import Pathway

/// ``Archetype/rejectedConsult``, a story of contract version 3.
extension PatientBuilder {
    /// A deficit; the stat spine surgery consult is rejected downstream 3 hours after the exam (after
    /// its 2-hour acceptance deadline); the consult requested again (request 2) is accepted and
    /// completed; then post-operative conservative care.
    mutating func rejectedConsult() {
        add(t0, .presented(age: rng.int(in: 55...90), sex: rng.chance(0.65) ? "female" : "male",
                           mechanism: rng.weighted([("low-energy", 75), ("atraumatic", 15), ("unknown", 10)]),
                           levels: levels, history: [("osteoporosis", rng.chance(0.5))], fever: false))
        imaging(after(t0, minutes: 45...180), "xray", stableFindings(acuity: nil))
        let examAt = after(t0, minutes: 60...240)
        let deficit: Exam = switch rng.int(in: 0...2) {
        case 0: Exam(motorDeficit: true, sensoryDeficit: false, bowelBladderDysfunction: false, spinalCordInjury: false,
                     neuroStatus: "nerve-root")
        case 1: Exam(motorDeficit: false, sensoryDeficit: true, bowelBladderDysfunction: false)
        default: Exam(motorDeficit: true, sensoryDeficit: true, bowelBladderDysfunction: true, spinalCordInjury: false,
                      neuroStatus: "cauda-equina")
        }
        add(examAt, .neuro(deficit))
        let baseline = rng.int(in: 6...9)
        let baselineAt = after(t0, minutes: 30...300)
        pain(baselineAt, baseline)
        fillerFrom = baselineAt + minutes(30)
        var mri = stableFindings(acuity: "acute")
        mri.cordCompression = rng.chance(0.5) ? "mild" : "none"
        imaging(after(examAt, minutes: 30...150), "mri", mri)
        let rejectedAt = examAt + minutes(180)
        update(.spineSurgeryConsult, "rejected", at: rejectedAt)
        let accepted = after(rejectedAt, minutes: 20...100)
        update(.spineSurgeryConsult, "accepted", at: accepted, request: 2)
        let completed = after(rejectedAt, minutes: 300...1200)
        update(.spineSurgeryConsult, "completed", at: completed, request: 2)
        let postOpAt = after(completed, days: 1...5)
        add(postOpAt, .neuro(intactExam()))
        fillerMedications = ["acetaminophen", "opioid", "nsaid", "bisphosphonate"]
        // A deficit in the episode: no augmentation evaluation.
        conservativeCourse(cm: postOpAt, baseline: baseline, outcome: rng.chance(0.8) ? .resolve : .persistent, augmentable: false)
    }
}
