import Pathway

/// ``Archetype/infection``: discitis-osteomyelitis, blood cultures and a biopsy naming an organism,
/// then targeted IV antibiotics (``ivAntibioticCourse(from:startsMedication:)``, also for
/// ``Archetype/infectionTreated``).
extension PatientBuilder {
    mutating func infection() {
        add(t0, .presented(age: rng.int(in: 50...85), sex: rng.chance(0.6) ? "male" : "female",
                           mechanism: rng.weighted([("atraumatic", 80), ("unknown", 20)]), levels: levels,
                           history: [("injectionDrugUse", rng.chance(0.2)), ("immunosuppressed", rng.chance(0.25))],
                           fever: rng.chance(0.6)))
        let examAt = after(t0, minutes: 60...360)
        add(examAt, .neuro(rng.chance(0.9) ? intactExam() : Exam(motorDeficit: false, sensoryDeficit: true)))
        let baseline = rng.int(in: 5...9)
        let baselineAt = after(t0, minutes: 30...300)
        pain(baselineAt, baseline)
        fillerFrom = baselineAt + minutes(30)
        let mriAt = after(t0, minutes: 180...1440)
        var mri = Findings(compressionFracture: rng.chance(0.5), discitisOsteomyelitis: true)
        mri.cordCompression = "none"
        imaging(mriAt, "mri", contrast: rng.chance(0.5) ? "with" : "none", mri)
        update(.inflammatoryMarkers, "completed", at: after(mriAt, minutes: 60...720))
        let organisms = [("Staphylococcus aureus", 40), ("Methicillin-resistant Staphylococcus aureus", 10), ("Escherichia coli", 15),
                         ("Streptococcus agalactiae", 10), ("Pseudomonas aeruginosa", 8), ("Mycobacterium tuberculosis", 7),
                         ("Coagulase-negative staphylococci", 10)]
        let cultureAt = after(mriAt, minutes: 1440...3600)
        let cultureOrganism: String? = rng.chance(0.45) ? rng.weighted(organisms) : nil
        add(cultureAt, .biopsy(specimen: "blood-culture", histology: nil, metastatic: nil, organism: cultureOrganism))
        let biopsyAt = after(mriAt, days: 2...5)
        var biopsyOrganism: String?
        if rng.chance(0.65) {
            let fresh = rng.weighted(organisms)
            biopsyOrganism = cultureOrganism ?? fresh
        }
        add(biopsyAt, .biopsy(specimen: rng.chance(0.7) ? "vertebral-body" : "disc",
                              histology: biopsyOrganism == nil ? "nondiagnostic" : "infection", metastatic: false,
                              organism: biopsyOrganism))
        // Therapy starts with the first qualifying organism (the imaging already shows the spine
        // infected): a culture unless it grew a possible contaminant, else the biopsy.
        let cultureQualifies = cultureOrganism.map { !$0.lowercased().contains("coagulase-negative") } ?? false
        var treated: (organism: String, at: Timestamp)? = cultureQualifies ? (cultureOrganism!, cultureAt)
            : biopsyOrganism.map { ($0, biopsyAt) }
        if treated == nil, rng.chance(0.5) {
            let repeatAt = after(biopsyAt, days: 7...14)
            let organism = rng.weighted(organisms)
            add(repeatAt, .biopsy(specimen: "vertebral-body", histology: "infection", metastatic: false, organism: organism))
            treated = (organism, repeatAt)
        }
        trajectory = PainTrajectory(anchor: t0, baseline: baseline, kind: .resolve(day: rng.int(in: 40...80), final: rng.int(in: 1...3)))
        fillerMedications = ["acetaminophen", "opioid"]
        guard let (organism, organismAt) = treated else { return }
        if organism.contains("tuberculosis") {
            // Specialist therapy, led by infectious diseases: no IV antibiotic course.
            update(.infectiousDiseasesConsult, "completed", at: after(organismAt, days: 1...3))
            return
        }
        ivAntibioticCourse(from: organismAt, startsMedication: true)
    }

    /// The targeted IV antibiotic course from the organism result: the antibiotic started
    /// (unless already running), the task accepted, follow-up markers and completion for most.
    mutating func ivAntibioticCourse(from organismAt: Timestamp, startsMedication: Bool) {
        if startsMedication { add(after(organismAt, minutes: 60...480), .medication("iv-antibiotic", action: "started")) }
        update(.ivAntibiotics, "accepted", at: after(organismAt, minutes: 30...240))
        if rng.chance(0.5) { update(.inflammatoryMarkersFollowup, "completed", at: after(organismAt, days: 28...34)) }
        if rng.chance(0.6) {
            let done = after(organismAt, days: 42...56)
            update(.ivAntibiotics, "completed", at: done)
            add(done + minutes(30), .medication("iv-antibiotic", action: "stopped"))
        }
    }
}
