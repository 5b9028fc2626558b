import Pathway

/// ``Archetype/recurrentDeficit``, a story of contract version 3.
extension PatientBuilder {
    /// A nerve-root deficit during conservative care, its stat consult accepted and completed;
    /// days later a new, worse exam (bowel/bladder dysfunction, cauda equina): a neurological
    /// worsening after a completed consult, which must reach a surgeon (the second consult) again.
    mutating func recurrentDeficit() {
        add(t0, .presented(age: rng.int(in: 60...90), sex: rng.chance(0.65) ? "female" : "male",
                           mechanism: rng.weighted([("low-energy", 75), ("atraumatic", 15), ("unknown", 10)]),
                           levels: levels, history: [("osteoporosis", rng.chance(0.6))], fever: false))
        let xrayAt = after(t0, minutes: 45...240)
        imaging(xrayAt, "xray", stableFindings(acuity: nil))
        let examAt = after(t0, minutes: 60...360)
        add(examAt, .neuro(intactExam()))
        let baseline = rng.int(in: 5...8)
        let baselineAt = after(t0, minutes: 30...300)
        pain(baselineAt, baseline)
        fillerFrom = baselineAt + minutes(30)
        let mriAt = after(t0, minutes: (6 * 60)...(3 * 24 * 60))
        imaging(mriAt, "mri", stableFindings(acuity: "acute"))
        let cm = max(xrayAt, examAt, mriAt)  // conservative care
        trajectory = PainTrajectory(anchor: cm, baseline: baseline, kind: .persistent)
        // The first deficit, during conservative care: a stat referral (consult 1).
        let firstAt = after(cm, days: 3...20)
        let first = rng.chance(0.6)
            ? Exam(motorDeficit: true, sensoryDeficit: false, bowelBladderDysfunction: false, spinalCordInjury: false,
                   neuroStatus: "nerve-root")
            : Exam(motorDeficit: false, sensoryDeficit: true, bowelBladderDysfunction: false, neuroStatus: "nerve-root")
        add(firstAt, .neuro(first))
        var mri = stableFindings(acuity: "subacute")
        mri.cordCompression = rng.chance(0.5) ? "mild" : "none"
        if rng.chance(0.5) { imaging(after(firstAt, minutes: 60...240), "mri", mri) }  // else the worse exam asks for the MRI
        let accepted = after(firstAt, minutes: 20...100)
        update(.spineSurgeryConsult, "accepted", at: accepted)
        let completed = after(firstAt, minutes: 300...1200)
        update(.spineSurgeryConsult, "completed", at: completed)
        // Days later, worse: newly bowel/bladder dysfunction, cauda equina.
        let worseAt = after(completed, days: 2...10)
        add(worseAt, .neuro(Exam(motorDeficit: true, sensoryDeficit: true, bowelBladderDysfunction: true, spinalCordInjury: false,
                                 neuroStatus: "cauda-equina")))
        imaging(after(worseAt, minutes: 45...240), "mri", mri)
        add(after(worseAt, minutes: 30...180), .medication("opioid", action: "started"))
        fillerMedications = ["acetaminophen", "opioid", "nsaid", "bisphosphonate"]
        // The second consult (request 2), accepted and completed downstream, mostly.
        guard rng.chance(0.75) else { return }
        let accepted2 = after(worseAt, minutes: 20...100)
        update(.spineSurgeryConsult, "accepted", at: accepted2, request: 2)
        guard rng.chance(0.9) else { return }
        let completed2 = after(worseAt, minutes: 300...1200)
        update(.spineSurgeryConsult, "completed", at: completed2, request: 2)
        add(after(completed2, days: 1...5), .neuro(intactExam()))
    }
}
