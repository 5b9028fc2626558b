import Testing
@testable import Pathway

/// PATHWAY.md sections 2 and 4 (version 3): `INFECTION_WORKUP` (suspected
/// spinal infection: imaging `discitisOsteomyelitis`, a spine biopsy showing
/// infection or an organism, a blood culture with a qualifying organism, fever
/// with injection drug use or immunosuppression; withdrawn when infection is
/// excluded), `EMPIRIC_IV_ANTIBIOTICS` (suspected and septic or neurologically
/// compromised), `TARGETED_IV_ANTIBIOTICS` and
/// `SPECIALIST_ANTIMICROBIAL_THERAPY` (a qualifying organism once infection is
/// shown at the spine), `BLOOD_CULTURE_CONFIRMATION` (a possible contaminant on
/// a single blood culture) and `ONCOLOGY_REFERRAL` (histology malignant or
/// `metastatic` true).
@Suite("Infection and oncology: INFECTION_WORKUP, EMPIRIC/TARGETED/SPECIALIST therapy, BLOOD_CULTURE_CONFIRMATION, ONCOLOGY_REFERRAL")
struct InfectionTests {
    let t0 = "2026-03-02T10:00:00Z"

    /// Presented, then an MRI showing discitis-osteomyelitis one hour later.
    private func withDiscitis() -> (History, String) {
        var h = History()
        h.presented(at: t0, age: 70)
        let img = h.imaging(at: at(t0, hours: 1), ["discitisOsteomyelitis": true])
        return (h, img)
    }

    // MARK: INFECTION_WORKUP

    @Test("discitis-osteomyelitis on imaging issues the infection workup with three tasks")
    func discitisWorkup() throws {
        let (h, img) = withDiscitis()
        let out = h.evaluate()
        let rec = try #require(out.active("INFECTION_WORKUP"))
        #expect(rec.priority == "urgent")
        #expect(rec.indicator == "warning")
        #expect(rec.causationEventId == img)
        #expect(rec.facts["discitisOsteomyelitis"] as? Bool == true)
        #expect(rec.pathwayState == "infectionWorkup")
        #expect(out.finalState == "infectionWorkup")
        for code in ["vertebral-biopsy", "blood-cultures", "inflammatory-markers"] {
            let task = try #require(out.tasks(code).first, "\(code)")
            #expect(task.status == "requested", "\(code)")
            #expect(task.basedOn == "urn:carepath:recommendation:\(rec.id)", "\(code)")
        }
    }

    @Test("imaging without discitis-osteomyelitis issues no infection workup")
    func noDiscitis() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), ["discitisOsteomyelitis": false])
        let out = h.evaluate()
        #expect(!out.issued("INFECTION_WORKUP"))
        #expect(out.tasks("blood-cultures").isEmpty)
    }

    @Test("discitis on an x-ray (any modality) also triggers the workup")
    func discitisOnXray() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "xray", ["discitisOsteomyelitis": true])
        #expect(h.evaluate().active("INFECTION_WORKUP") != nil)
    }

    @Test("a second discitis imaging while the workup is active issues no second workup")
    func discitisOnce() {
        var (h, _) = withDiscitis()
        h.imaging(at: at(t0, days: 1), modality: "ct", ["discitisOsteomyelitis": true])
        let out = h.evaluate()
        #expect(out.latest("INFECTION_WORKUP").count == 1)
        #expect(out.tasks("blood-cultures").count == 1)
    }

    // MARK: TARGETED_IV_ANTIBIOTICS

    @Test("a named organism on a biopsy while the workup is open starts targeted IV antibiotics")
    func namedOrganism() throws {
        var (h, _) = withDiscitis()
        let resultTime = at(t0, days: 3)
        let biopsy = h.biopsy(at: resultTime, specimen: "vertebral-body", histology: "infection", organism: "Staphylococcus aureus")
        let out = h.evaluate()
        let rec = try #require(out.active("TARGETED_IV_ANTIBIOTICS"))
        #expect(rec.priority == "urgent")
        #expect(rec.indicator == "warning")
        #expect(rec.causationEventId == biopsy)
        #expect(rec.facts["organism"] as? String == "Staphylococcus aureus")
        #expect(rec.pathwayState == "antibioticTherapy")
        #expect(out.finalState == "antibioticTherapy")

        let iv = try #require(out.tasks("iv-antibiotics").first)
        #expect(iv.windowStart == resultTime)
        #expect(iv.windowEnd == at(resultTime, days: 56))
        let description = try #require(iv.raw["description"] as? String)
        #expect(description.contains("6-8 week"))

        let markers = try #require(out.tasks("inflammatory-markers-followup").first)
        #expect(markers.windowStart == at(resultTime, days: 28))
        #expect(markers.windowEnd == at(resultTime, days: 35))

        // The biopsy result completes the requested biopsy.
        #expect(out.tasks("vertebral-biopsy").first?.status == "completed")
    }

    @Test("the organism moves infectionWorkup to antibioticTherapy in one state change")
    func oneStepStateChange() {
        var (h, _) = withDiscitis()
        h.biopsy(at: at(t0, days: 3), organism: "Escherichia coli")
        let states = h.evaluate().states
        #expect(Array(states.suffix(2)) == ["infectionWorkup", "antibioticTherapy"])
    }

    @Test("a named organism on a blood culture also starts targeted IV antibiotics")
    func bloodCultureOrganism() {
        var (h, _) = withDiscitis()
        h.biopsy(at: at(t0, days: 2), specimen: "blood-culture", organism: "Streptococcus")
        let out = h.evaluate()
        #expect(out.active("TARGETED_IV_ANTIBIOTICS") != nil)
        #expect(out.tasks("blood-cultures").first?.status == "completed")
        #expect(out.tasks("vertebral-biopsy").first?.status == "requested")
    }

    @Test("an organism of null names nothing: no antibiotics, workup stays open")
    func nullOrganism() {
        var (h, _) = withDiscitis()
        h.biopsy(at: at(t0, days: 3), histology: "nondiagnostic", organism: nil)
        let out = h.evaluate()
        #expect(!out.issued("TARGETED_IV_ANTIBIOTICS"))
        #expect(out.tasks("iv-antibiotics").isEmpty)
        #expect(out.finalState == "infectionWorkup")
    }

    @Test("a blank organism is not a named organism (decision record)")
    func blankOrganism() {
        var (h, _) = withDiscitis()
        h.biopsy(at: at(t0, days: 3), organism: "   ")
        #expect(!h.evaluate().issued("TARGETED_IV_ANTIBIOTICS"))
    }

    @Test("a bacteremia without infection shown at the spine issues the infection workup, not therapy; spine imaging then starts it")
    func bacteremiaWithoutSpineEvidence() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1))
        let culture = h.biopsy(at: at(t0, days: 3), specimen: "blood-culture", organism: "Escherichia coli")
        let out = h.evaluate()
        let workup = try #require(out.active("INFECTION_WORKUP"))
        #expect(workup.causationEventId == culture)
        #expect(workup.facts["organism"] as? String == "Escherichia coli")
        #expect(!out.issued("TARGETED_IV_ANTIBIOTICS"))
        #expect(out.tasks("iv-antibiotics").isEmpty)
        #expect(out.finalState == "infectionWorkup")
        // The workup asks for the spine to be imaged with contrast; no new blood cultures (one has resulted).
        #expect(out.tasks("mri-spine-with-contrast").first?.status == "requested")
        #expect(out.tasks("blood-cultures").isEmpty)
        // The contrast MRI shows the spine infected: therapy starts on it.
        let mri = h.imaging(at: at(t0, days: 4), modality: "mri", contrast: "with", ["discitisOsteomyelitis": true])
        let after = h.evaluate()
        let rec = try #require(after.active("TARGETED_IV_ANTIBIOTICS"))
        #expect(rec.causationEventId == mri)
        #expect(after.latest("INFECTION_WORKUP").first?.status == "completed")
        #expect(after.finalState == "antibioticTherapy")
    }

    @Test("an organism on a vertebral biopsy without a workup: the workup is issued and completed by it, then targeted therapy")
    func spineBiopsyOrganismWithoutWorkup() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1))
        let biopsy = h.biopsy(at: at(t0, days: 3), organism: "Staphylococcus aureus")
        let out = h.evaluate()
        let workup = try #require(out.latest("INFECTION_WORKUP").first)
        #expect(out.latest("INFECTION_WORKUP").count == 1)
        #expect(workup.status == "completed")
        #expect(workup.causationEventId == biopsy)
        let rec = try #require(out.active("TARGETED_IV_ANTIBIOTICS"))
        #expect(rec.causationEventId == biopsy)
        // The workup card comes first, then the therapy card.
        let codes = out.recommendations.map(\.code).filter { $0 == "INFECTION_WORKUP" || $0 == "TARGETED_IV_ANTIBIOTICS" }
        #expect(codes.first == "INFECTION_WORKUP")
        #expect(out.tasks("iv-antibiotics").count == 1)
        #expect(out.finalState == "antibioticTherapy")
    }

    @Test("a second organism does not issue a second course")
    func secondOrganism() {
        var (h, _) = withDiscitis()
        h.biopsy(at: at(t0, days: 3), organism: "Staphylococcus aureus")
        h.biopsy(at: at(t0, days: 4), specimen: "blood-culture", organism: "Staphylococcus aureus")
        let out = h.evaluate()
        #expect(out.latest("TARGETED_IV_ANTIBIOTICS").count == 1)
        #expect(out.tasks("iv-antibiotics").count == 1)
    }

    @Test("a completed iv-antibiotics task closes antibioticTherapy")
    func ivCompletedCloses() {
        var (h, _) = withDiscitis()
        h.biopsy(at: at(t0, days: 3), organism: "Staphylococcus aureus")
        h.taskUpdate("iv-antibiotics", "in-progress", at: at(t0, days: 4))
        #expect(h.evaluate().finalState == "antibioticTherapy")
        h.taskUpdate("iv-antibiotics", "completed", at: at(t0, days: 50))
        let out = h.evaluate()
        #expect(out.finalState == "intake")
        #expect(out.domainEvents.contains { e in
            e["type"] as? String == "TrackClosed" && (e["data"] as? [String: Any])?["track"] as? String == "antibioticTherapy"
        })
    }

    // MARK: Organism classes

    @Test("how an organism reads: contaminant groups, specialist organisms, biopsy not needed, no growth")
    func organismReadings() {
        #expect(OrganismReading("Staphylococcus epidermidis").contaminantGroup == .coagulaseNegativeStaphylococci)
        #expect(OrganismReading("coagulase-negative staphylococcus").contaminantGroup == .coagulaseNegativeStaphylococci)
        #expect(OrganismReading("coagulase-negative staphylococcus").named == "coagulase-negative staphylococcus")
        #expect(OrganismReading("Staphylococcus aureus").contaminantGroup == nil)
        #expect(OrganismReading("Staphylococcus aureus").makesBiopsyUnnecessary)
        #expect(OrganismReading("Staphylococcus lugdunensis").contaminantGroup == nil)
        #expect(OrganismReading("Staphylococcus lugdunensis").makesBiopsyUnnecessary)
        #expect(OrganismReading("Cutibacterium acnes").contaminantGroup == OrganismReading("Propionibacterium acnes").contaminantGroup)
        #expect(OrganismReading("Bacillus cereus").contaminantGroup == .bacillus)
        #expect(OrganismReading("Bacillus anthracis").contaminantGroup == nil)
        #expect(OrganismReading("Gram-negative rods").named == "Gram-negative rods")
        #expect(OrganismReading("Gram-negative rods").contaminantGroup == nil)
        #expect(!OrganismReading("Gram-negative rods").isSpecialist)
        #expect(OrganismReading("Mycobacterium tuberculosis").isSpecialist)
        #expect(OrganismReading("Brucella melitensis").isSpecialist)
        #expect(OrganismReading("Brucella melitensis").makesBiopsyUnnecessary)
        #expect(OrganismReading("Candida albicans").isSpecialist)
        for none in ["no growth", "No growth at 5 days", "negative", "None", "organism not isolated"] {
            #expect(OrganismReading(none).named == nil, "\(none)")
        }
    }

    @Test("a possible contaminant on a single blood culture asks only for a confirming culture")
    func singleContaminant() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1))
        let culture = h.biopsy(at: at(t0, days: 1), specimen: "blood-culture", organism: "Staphylococcus epidermidis")
        let out = h.evaluate()
        let rec = try #require(out.active("BLOOD_CULTURE_CONFIRMATION"))
        #expect(rec.priority == "routine")
        #expect(rec.indicator == "info")
        #expect(rec.causationEventId == culture)
        #expect(rec.facts["contaminantGroup"] as? String == "coagulase-negative staphylococci")
        let repeatCulture = try #require(out.tasks("blood-cultures").first)
        #expect(out.tasks("blood-cultures").count == 1)
        #expect(repeatCulture.status == "requested")
        #expect(repeatCulture.basedOn == "urn:carepath:recommendation:\(rec.id)")
        for code in ["INFECTION_WORKUP", "EMPIRIC_IV_ANTIBIOTICS", "TARGETED_IV_ANTIBIOTICS", "SPECIALIST_ANTIMICROBIAL_THERAPY"] {
            #expect(!out.issued(code), "\(code)")
        }
        #expect(out.finalState != "infectionWorkup")
    }

    @Test("a second blood culture of the same contaminant group qualifies: confirmation completed, therapy with infection at the spine",
          arguments: ["Staphylococcus epidermidis", "coagulase-negative staphylococcus"])
    func contaminantConfirmed(second: String) throws {
        var (h, _) = withDiscitis()
        h.biopsy(at: at(t0, days: 1), specimen: "blood-culture", organism: "Staphylococcus epidermidis")
        let first = h.evaluate()
        #expect(first.active("BLOOD_CULTURE_CONFIRMATION") != nil)
        #expect(!first.issued("TARGETED_IV_ANTIBIOTICS"))
        let repeatCulture = h.biopsy(at: at(t0, days: 2), specimen: "blood-culture", organism: second)
        let out = h.evaluate()
        let confirmation = try #require(out.latest("BLOOD_CULTURE_CONFIRMATION").first)
        #expect(confirmation.status == "completed")
        #expect(confirmation.causationEventId == repeatCulture)
        #expect(out.tasks("blood-cultures").allSatisfy { $0.status == "completed" })
        let rec = try #require(out.active("TARGETED_IV_ANTIBIOTICS"))
        #expect(rec.causationEventId == repeatCulture)
        #expect(out.finalState == "antibioticTherapy")
    }

    @Test("a contaminant of another group on the repeat culture does not qualify the first")
    func contaminantOtherGroup() {
        var (h, _) = withDiscitis()
        h.biopsy(at: at(t0, days: 1), specimen: "blood-culture", organism: "Staphylococcus epidermidis")
        h.biopsy(at: at(t0, days: 2), specimen: "blood-culture", organism: "Corynebacterium striatum")
        let out = h.evaluate()
        #expect(!out.issued("TARGETED_IV_ANTIBIOTICS"))
        #expect(out.finalState == "infectionWorkup")
    }

    @Test("Gram-negative rods on a blood culture qualify at once (not a contaminant, not 'negative')")
    func gramNegativeRods() throws {
        var (h, _) = withDiscitis()
        let culture = h.biopsy(at: at(t0, days: 1), specimen: "blood-culture", organism: "Gram-negative rods")
        let out = h.evaluate()
        #expect(!out.issued("BLOOD_CULTURE_CONFIRMATION"))
        let rec = try #require(out.active("TARGETED_IV_ANTIBIOTICS"))
        #expect(rec.causationEventId == culture)
        #expect(rec.facts["organism"] as? String == "Gram-negative rods")
    }

    @Test("a blood culture reading 'no growth' names no organism: no workup, no confirmation")
    func noGrowth() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1))
        h.biopsy(at: at(t0, days: 1), specimen: "blood-culture", organism: "no growth")
        let out = h.evaluate()
        #expect(!out.issued("INFECTION_WORKUP"))
        #expect(!out.issued("BLOOD_CULTURE_CONFIRMATION"))
        #expect(out.tasks("blood-cultures").isEmpty)
    }

    @Test("S. aureus bacteremia with discitis on imaging: targeted IV antibiotics, and the microbiology-only biopsy is not needed")
    func aureusBacteremiaCancelsBiopsy() throws {
        var (h, _) = withDiscitis()
        let requested = try #require(h.evaluate().tasks("vertebral-biopsy").first)
        #expect(requested.status == "requested")
        let culture = h.biopsy(at: at(t0, days: 1), specimen: "blood-culture", organism: "Staphylococcus aureus")
        let out = h.evaluate()
        let rec = try #require(out.active("TARGETED_IV_ANTIBIOTICS"))
        #expect(rec.causationEventId == culture)
        #expect(out.tasks("iv-antibiotics").first?.status == "requested")
        let biopsy = try #require(out.tasks("vertebral-biopsy").first)
        #expect(out.tasks("vertebral-biopsy").count == 1)
        #expect(biopsy.id == requested.id)
        #expect(biopsy.status == "cancelled")
        #expect(biopsy.statusReason == "not needed: Staphylococcus aureus bacteremia (IDSA 2015)")
        #expect(out.latest("INFECTION_WORKUP").first?.status == "completed")
    }

    @Test("S. aureus bacteremia first, discitis on imaging second: therapy on the imaging, no biopsy ever requested")
    func aureusBacteremiaThenImaging() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        h.biopsy(at: at(t0, hours: 2), specimen: "blood-culture", organism: "Staphylococcus aureus")
        #expect(h.evaluate().active("INFECTION_WORKUP") != nil)
        let mri = h.imaging(at: at(t0, days: 1), modality: "mri", contrast: "with", ["discitisOsteomyelitis": true])
        let out = h.evaluate()
        #expect(out.active("TARGETED_IV_ANTIBIOTICS")?.causationEventId == mri)
        #expect(out.tasks("vertebral-biopsy").isEmpty)
    }

    @Test("the pathologic workup's biopsy stays after S. aureus bacteremia, for histology only")
    func aureusBacteremiaKeepsHistologyBiopsy() throws {
        var h = History()
        h.presented(at: t0, age: 70, history: ["knownMalignancy": true])
        h.imaging(at: at(t0, hours: 1), ["discitisOsteomyelitis": true])
        let both = try #require(h.evaluate().tasks("vertebral-biopsy").first)
        #expect((both.raw["description"] as? String)?.contains("microbiology") == true)
        h.biopsy(at: at(t0, days: 1), specimen: "blood-culture", organism: "Staphylococcus aureus")
        let out = h.evaluate()
        let biopsy = try #require(out.tasks("vertebral-biopsy").first)
        #expect(out.tasks("vertebral-biopsy").count == 1)
        #expect(biopsy.status == "requested")
        let description = try #require(biopsy.raw["description"] as? String)
        #expect(description.contains("histology only"))
        #expect(out.active("TARGETED_IV_ANTIBIOTICS") != nil)
    }

    @Test("Mycobacterium tuberculosis on a vertebral biopsy: specialist antimicrobial therapy led by infectious diseases, no IV course")
    func tuberculosis() throws {
        var (h, _) = withDiscitis()
        let biopsy = h.biopsy(at: at(t0, days: 3), histology: "infection", organism: "Mycobacterium tuberculosis")
        let out = h.evaluate()
        let rec = try #require(out.active("SPECIALIST_ANTIMICROBIAL_THERAPY"))
        #expect(rec.priority == "urgent")
        #expect(rec.indicator == "warning")
        #expect(rec.causationEventId == biopsy)
        #expect(rec.pathwayState == "antibioticTherapy")
        let consult = try #require(out.tasks("infectious-diseases-consult").first)
        #expect(consult.priority == "urgent")
        #expect(consult.basedOn == "urn:carepath:recommendation:\(rec.id)")
        let therapy = try #require(out.tasks("antimicrobial-therapy").first)
        #expect(therapy.basedOn == "urn:carepath:recommendation:\(rec.id)")
        #expect(!out.issued("TARGETED_IV_ANTIBIOTICS"))
        #expect(out.tasks("iv-antibiotics").isEmpty)
        #expect(out.latest("INFECTION_WORKUP").first?.status == "completed")
        // The therapy ends with its own task.
        h.taskUpdate("antimicrobial-therapy", "completed", at: at(t0, days: 200))
        let done = h.evaluate()
        #expect(done.latest("SPECIALIST_ANTIMICROBIAL_THERAPY").first?.status == "completed")
        #expect(done.finalState != "antibioticTherapy")
    }

    // MARK: Suspicion without imaging, exclusion, empiric therapy

    @Test("fever with injection drug use or immunosuppression issues the infection workup", arguments: ["injectionDrugUse", "immunosuppressed"])
    func feverWithRisk(risk: String) throws {
        var h = History()
        let presented = h.presented(at: t0, age: 70, history: [risk: true], fever: true)
        let out = h.evaluate()
        let rec = try #require(out.active("INFECTION_WORKUP"))
        #expect(rec.causationEventId == presented)
        #expect(rec.facts["fever"] as? Bool == true)
        #expect(rec.facts[risk] as? Bool == true)
        for code in ["blood-cultures", "inflammatory-markers", "mri-spine-with-contrast"] {
            #expect(out.tasks(code).first?.status == "requested", "\(code)")
        }
        // No imaging shows discitis-osteomyelitis: no biopsy yet.
        #expect(out.tasks("vertebral-biopsy").isEmpty)
    }

    @Test("fever alone, or a risk without fever, is no suspected infection")
    func feverWithoutRisk() {
        var h = History()
        h.presented(at: t0, age: 70, fever: true)
        #expect(!h.evaluate().issued("INFECTION_WORKUP"))
        var g = History()
        g.presented(at: t0, age: 70, history: ["injectionDrugUse": true, "immunosuppressed": true], fever: false)
        #expect(!g.evaluate().issued("INFECTION_WORKUP"))
    }

    @Test("infection excluded: a blood culture without growth and a contrast MRI without discitis withdraw the workup")
    func infectionExcluded() throws {
        var h = History()
        h.presented(at: t0, age: 70, history: ["injectionDrugUse": true], fever: true)
        let before = h.evaluate()
        #expect(before.finalState == "infectionWorkup")
        h.biopsy(at: at(t0, hours: 6), specimen: "blood-culture", organism: "no growth")
        #expect(h.evaluate().active("INFECTION_WORKUP") != nil)  // the contrast MRI is still to come
        let mri = h.imaging(at: at(t0, days: 1), modality: "mri", contrast: "with", ["discitisOsteomyelitis": false])
        let out = h.evaluate()
        #expect(out.active("INFECTION_WORKUP") == nil)
        let card = try #require(out.latest("INFECTION_WORKUP").first)
        #expect(card.status == "withdrawn")
        #expect(card.causationEventId == mri)
        let markers = try #require(out.tasks("inflammatory-markers").first)
        #expect(markers.status == "cancelled")
        #expect(markers.statusReason?.hasPrefix("infection excluded") == true)
        #expect(out.tasks("blood-cultures").first?.status == "completed")
        #expect(out.tasks("mri-spine-with-contrast").first?.status == "completed")
        #expect(out.finalState != "infectionWorkup")
    }

    @Test("a contrast MRI without discitis does not exclude infection while the blood culture grew an organism")
    func notExcludedWithGrowth() {
        var h = History()
        h.presented(at: t0, age: 70, history: ["immunosuppressed": true], fever: true)
        h.biopsy(at: at(t0, hours: 6), specimen: "blood-culture", organism: "Escherichia coli")
        h.imaging(at: at(t0, days: 1), modality: "mri", contrast: "with", ["discitisOsteomyelitis": false])
        let out = h.evaluate()
        #expect(out.active("INFECTION_WORKUP") != nil)
        #expect(out.tasks("inflammatory-markers").first?.status == "requested")
    }

    @Test("empiric IV antibiotics when infection is suspected and the MAP is below 65, not at 65",
          arguments: [(64.0, true), (65.0, false)])
    func empiricByMAP(map: Double, empiric: Bool) throws {
        var h = History()
        h.presented(at: t0, age: 70, history: ["injectionDrugUse": true], fever: true)
        let vitals = h.vitals(at: at(t0, hours: 1), ["meanArterialPressure": map])
        let out = h.evaluate()
        #expect(out.active("INFECTION_WORKUP") != nil)
        #expect(out.issued("EMPIRIC_IV_ANTIBIOTICS") == empiric)
        #expect(out.tasks("empiric-iv-antibiotics").isEmpty == !empiric)
        guard empiric else { return }
        let rec = try #require(out.active("EMPIRIC_IV_ANTIBIOTICS"))
        #expect(rec.priority == "stat")
        #expect(rec.indicator == "critical")
        #expect(rec.causationEventId == vitals)
        #expect(rec.facts["meanArterialPressure"] as? Double == 64 || rec.facts["meanArterialPressure"] as? Int == 64)
        let task = try #require(out.tasks("empiric-iv-antibiotics").first)
        #expect(task.priority == "stat")
        let description = try #require(task.raw["description"] as? String)
        #expect(description.contains("blood cultures"))
        // The workup's open blood cultures are raised to stat.
        #expect(out.tasks("blood-cultures").count == 1)
        #expect(out.tasks("blood-cultures").first?.priority == "stat")
    }

    @Test("a low MAP before infection is suspected: empiric antibiotics on the event that makes both hold")
    func empiricWhenBothHold() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        h.vitals(at: at(t0, hours: 1), ["meanArterialPressure": 62])
        #expect(!h.evaluate().issued("EMPIRIC_IV_ANTIBIOTICS"))
        let culture = h.biopsy(at: at(t0, hours: 2), specimen: "blood-culture", organism: "Escherichia coli")
        let out = h.evaluate()
        #expect(out.active("EMPIRIC_IV_ANTIBIOTICS")?.causationEventId == culture)
    }

    @Test("a late-charted older low MAP does not replace a newer normal one (clinical time)")
    func empiricLatestMAPInClinicalTime() {
        var h = History()
        h.presented(at: t0, age: 70, history: ["injectionDrugUse": true], fever: true)
        h.vitals(at: at(t0, hours: 3), ["meanArterialPressure": 72])
        h.vitals(at: at(t0, hours: 1), ["meanArterialPressure": 58])
        #expect(!h.evaluate().issued("EMPIRIC_IV_ANTIBIOTICS"))
    }

    @Test("a low MAP without suspected infection issues no empiric antibiotics")
    func lowMAPWithoutSuspicion() {
        var h = History()
        h.presented(at: t0, age: 70)
        h.vitals(at: at(t0, hours: 1), ["meanArterialPressure": 60])
        #expect(!h.evaluate().issued("EMPIRIC_IV_ANTIBIOTICS"))
    }

    @Test("targeted therapy supersedes empiric antibiotics and cancels the open empiric task")
    func targetedSupersedesEmpiric() throws {
        var (h, _) = withDiscitis()
        h.vitals(at: at(t0, hours: 2), ["meanArterialPressure": 60])
        #expect(h.evaluate().active("EMPIRIC_IV_ANTIBIOTICS") != nil)
        h.biopsy(at: at(t0, days: 2), organism: "Streptococcus agalactiae")
        let out = h.evaluate()
        #expect(out.latest("EMPIRIC_IV_ANTIBIOTICS").first?.status == "superseded")
        #expect(out.tasks("empiric-iv-antibiotics").first?.status == "cancelled")
        #expect(out.active("TARGETED_IV_ANTIBIOTICS") != nil)
    }

    // MARK: ONCOLOGY_REFERRAL

    @Test("a malignant biopsy issues an oncology referral with its task")
    func malignant() throws {
        var h = History()
        h.presented(at: t0, age: 70, history: ["knownMalignancy": true])
        let biopsy = h.biopsy(at: at(t0, days: 2), histology: "malignant")
        let out = h.evaluate()
        let rec = try #require(out.active("ONCOLOGY_REFERRAL"))
        #expect(rec.priority == "urgent")
        #expect(rec.indicator == "warning")
        #expect(rec.causationEventId == biopsy)
        #expect(rec.facts["histology"] as? String == "malignant")
        let task = try #require(out.tasks("oncology-referral").first)
        #expect(task.status == "requested")
        #expect(task.basedOn == "urn:carepath:recommendation:\(rec.id)")
    }

    @Test("a biopsy reporting metastatic disease issues an oncology referral")
    func metastatic() throws {
        var h = History()
        h.presented(at: t0, age: 70)
        h.biopsy(at: at(t0, days: 2), histology: "benign", metastatic: true)
        let out = h.evaluate()
        let rec = try #require(out.active("ONCOLOGY_REFERRAL"))
        #expect(rec.facts["metastatic"] as? Bool == true)
        #expect(out.tasks("oncology-referral").count == 1)
    }

    @Test("a benign, nondiagnostic or infection biopsy without metastasis issues no oncology referral",
          arguments: ["benign", "nondiagnostic", "infection"])
    func notMalignant(histology: String) {
        var h = History()
        h.presented(at: t0, age: 70)
        h.biopsy(at: at(t0, days: 2), histology: histology, metastatic: false)
        let out = h.evaluate()
        #expect(!out.issued("ONCOLOGY_REFERRAL"))
        #expect(out.tasks("oncology-referral").isEmpty)
    }

    @Test("a second malignant biopsy while the referral is active issues no second referral")
    func oncologyOnce() {
        var h = History()
        h.presented(at: t0, age: 70, history: ["knownMalignancy": true])
        h.biopsy(at: at(t0, days: 2), histology: "malignant")
        h.biopsy(at: at(t0, days: 3), histology: "malignant", metastatic: true)
        let out = h.evaluate()
        #expect(out.latest("ONCOLOGY_REFERRAL").count == 1)
        #expect(out.tasks("oncology-referral").count == 1)
    }
}
