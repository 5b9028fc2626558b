import Pathway

/// One domain event of every type, and a clinical input of every type but
/// `timer.fired` (never recorded as an input), written out by hand so that
/// they never change: the events whose stored bytes `StoredEventCodecTests`
/// pins. Optional members are given in some and left out in others; strings
/// hold what JSON must escape.
enum StoredEventSamples {
    static let patient = "P-GOLD-1"
    static let fingerprint = String(repeating: "0123456789abcdef", count: 4)
    static let recId = "rec-" + String(repeating: "ab12", count: 8)
    static let taskId = "task-" + String(repeating: "cd34", count: 8)

    static func t(_ text: String) -> Timestamp { Timestamp(rfc3339: text)! }

    static func event(_ version: Int, _ payload: DomainEvent.Payload, cause: String = "e-1",
                      at time: String = "2026-03-02T10:15:00Z") -> DomainEvent {
        DomainEvent(patientId: patient, version: version, occurredAt: t(time), causationEventId: cause, payload: payload)
    }

    static func input(_ id: String, _ data: InputData, at time: String = "2026-03-02T10:15:00.250Z") -> InputEvent {
        InputEvent(id: id, source: "urn:hospital:ris", subject: patient, time: t(time), data: data, fingerprint: fingerprint)
    }

    static let inputs: [InputData] = [
        .patientPresented(Presentation(
            ageYears: 78, sex: .female, mechanism: .lowEnergy, fractureLevels: ["T12", "L1"],
            history: MedicalHistory(knownMalignancy: false, unexplainedWeightLoss: nil, constitutionalSymptoms: false,
                                    osteoporosis: true, glucocorticoidUse: true, immunosuppressed: false, injectionDrugUse: false),
            fever: false)),
        .imagingResulted(ImagingResult(
            modality: .mri, contrast: .withAndWithout, region: .thoracolumbar, levels: ["L1"],
            findings: ImagingFindings(compressionFracture: true, acuity: .acute, heightLossPercent: 27.5, kyphosisDegrees: 12,
                                      morphology: .burst, posteriorLigamentousComplex: .indeterminate, unstable: false,
                                      cordCompression: .mild, suspiciousForMalignancy: false, discitisOsteomyelitis: false))),
        .imagingResulted(ImagingResult(modality: .xray, findings: ImagingFindings(compressionFracture: true))),
        .neuroExamined(NeuroExam(motorDeficit: false, sensoryDeficit: true, bowelBladderDysfunction: false,
                                 spinalCordInjury: false, asiaGrade: .D, neuroStatus: .nerveRoot)),
        .biopsyResulted(BiopsyResult(specimen: .vertebralBody, histology: .infection, metastatic: false, organism: nil)),
        .biopsyResulted(BiopsyResult(specimen: .bloodCulture, organism: "Staphylococcus aureus (MSSA)")),
        .painAssessed(PainAssessment(nrs: 7, onAnalgesics: true)),
        .vitalsRecorded(Vitals(meanArterialPressure: 84.5, spo2: 97, fvcPercentPredicted: 0.5, pulmonaryDysfunction: false)),
        .medicationChanged(MedicationChange(medication: .calciumVitaminD, action: .started)),
        .taskUpdated(TaskUpdate(taskId: taskId, status: .inProgress)),
        .spineCleared(SpineClearance(cervical: true, thoracolumbar: nil)),
    ]

    static let recommendation = Recommendation(
        id: recId, revision: 1, patientId: patient, code: .painManagement, status: .active, priority: .urgent,
        indicator: .warning, summary: "Pain NRS 7 on analgesics: step up \"multimodal\" analgesia",
        detail: "**Pain** is uncontrolled.\n- Review the regimen\n- Reassess in 24 h — NRS ≥ 7\tpersists",
        rationale: [RationaleFact("nrs", 7, "e-7"), RationaleFact("onAnalgesics", true, "e-7"),
                    RationaleFact("heightLossPercent", 27.5, "e-2"), RationaleFact("acuity", "acute", "e-2"),
                    RationaleFact(fact: "levels", value: .array([.string("T12"), .string("L1")]), eventId: "e-1")],
        evidence: [Evidence(source: "S4", text: "Calcitonin reduces acute VCF pain (2-4 weeks)."),
                   Evidence(source: "NICE NG", text: "Offer analgesia \\ step up")],
        rulesetVersion: "vcf-2027.1", pathwayState: .conservativeManagement, episode: 1, causationEventId: "e-7",
        issuedAt: t("2026-03-02T10:15:00Z"), updatedAt: t("2026-03-02T10:15:00Z"))

    static var revised: Recommendation {
        var r = recommendation
        r.revision = 2
        r.status = .completed
        r.statusReason = "pain controlled (NRS 2)"
        r.episode = 2
        r.updatedAt = t("2026-03-09T08:00:00.125Z")
        return r
    }

    static let task = CareTask(
        id: taskId, version: 1, status: .requested, priority: .stat, code: .spineSurgeryConsult,
        description: "Spine surgery consult within 1 h: new motor deficit", patientId: patient,
        authoredOn: t("2026-03-02T10:15:00Z"), lastModified: t("2026-03-02T10:15:00Z"),
        executionPeriod: CareTask.Period(start: t("2026-03-02T10:15:00Z"), end: t("2026-03-02T11:15:00Z")),
        basedOn: recId, reasonText: "Urgent surgical referral: \"new\" deficit")

    static let cancelledTask = CareTask(
        id: taskId, version: 3, status: .cancelled, statusReason: "recommendation withdrawn", priority: .routine,
        code: .resultReview, description: "Review the conflicting result", patientId: patient,
        authoredOn: t("2026-03-02T10:15:00Z"), lastModified: t("2026-03-04T00:00:00Z"), basedOn: recId)

    static let timer = ScheduledTimer(id: patient + "/referral-acceptance/1", code: .referralAcceptance, dueAt: t("2026-03-02T12:15:00Z"))

    /// Every sample, in the order of the golden file's lines.
    static var all: [DomainEvent] {
        var events: [DomainEvent] = []
        func add(_ payload: DomainEvent.Payload, cause: String = "e-1") {
            events.append(event(events.count + 1, payload, cause: cause))
        }
        for (n, data) in inputs.enumerated() {
            add(.clinicalEventRecorded(input("e-\(n + 1)", data), actingAt: t("2026-03-02T10:15:00Z")), cause: "e-\(n + 1)")
        }
        add(.stateChanged(from: nil, to: .awaitingImaging, reason: "fragility fracture without MRI"))
        add(.stateChanged(from: .awaitingImaging, to: .conservativeManagement, reason: "stable, intact"))
        add(.trackOpened(.surgicalReferral, reason: "new motor deficit"))
        add(.trackClosed(.awaitingImaging, reason: "MRI resulted"))
        add(.recommendationIssued(recommendation))
        add(.recommendationRevised(revised))
        add(.taskRequested(task))
        add(.taskChanged(cancelledTask))
        add(.timerScheduled(timer))
        add(.timerFired(timer), cause: timer.id)
        add(.timerCancelled(timer, reason: "consult accepted"))
        add(.episodeStarted(episode: 2, reason: "new fracture at L3"))
        add(.resultConflictRecorded(ResultConflict(source: "urn:hospital:ris", id: "e-2", type: .imagingResulted,
                                                   time: t("2026-03-02T10:20:00Z"), fingerprint: fingerprint,
                                                   fields: ["time", "data.findings.unstable"])))
        return events
    }
}
