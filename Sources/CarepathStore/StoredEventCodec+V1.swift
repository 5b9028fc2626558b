import CarepathJSON
import Pathway

// Version 1 of the stored form: the JSON of the audit message as releases
// before the codec stored it (see ``StoredEventCodec/Version/v1``), written and
// read by code of its own. It shares JSONWriter, JSONParser, Timestamp's
// RFC 3339 form and the enumerations' raw values with the rest of carepath,
// and nothing else: a change to the audit JSON, to a published document or to
// a display text leaves these bytes as they are (`StoredEventCodecTests` pins
// them).

extension StoredEventCodec {
    enum V1 {}
}

// MARK: - Writing

extension StoredEventCodec.V1 {
    static func write(_ event: DomainEvent, to w: inout JSONWriter) {
        w.object { o in
            o.field("type", event.payload.typeName)
            o.field("patientId", event.patientId)
            o.field("version", event.version)
            o.instant("occurredAt", event.occurredAt)
            o.field("causationEventId", event.causationEventId)
            o.field("data") { w in writeData(event.payload, to: &w) }
        }
    }

    private static func writeData(_ payload: DomainEvent.Payload, to w: inout JSONWriter) {
        switch payload {
        case .clinicalEventRecorded(let input, let actingAt):
            w.object { o in
                o.field("source", input.source)
                o.field("id", input.id)
                o.field("type", input.type.rawValue)
                o.instant("time", input.time)
                o.instant("actingAt", actingAt)
                o.field("fingerprint", input.fingerprint)
                o.field("data") { w in write(input.data, to: &w) }
            }
        case .stateChanged(let from, let to, let reason):
            w.object { o in
                o.nullable("from", from?.rawValue)
                o.field("to", to.rawValue)
                o.field("reason", reason)
            }
        case .trackOpened(let track, let reason), .trackClosed(let track, let reason):
            w.object { o in
                o.field("track", track.rawValue)
                o.field("reason", reason)
            }
        case .recommendationIssued(let recommendation), .recommendationRevised(let recommendation):
            w.object { o in o.field("recommendation") { w in write(recommendation, to: &w) } }
        case .taskRequested(let task), .taskChanged(let task):
            w.object { o in o.field("task") { w in write(task, to: &w) } }
        case .timerScheduled(let timer), .timerFired(let timer):
            w.object { o in writeFields(of: timer, to: &o) }
        case .timerCancelled(let timer, let reason):
            w.object { o in
                writeFields(of: timer, to: &o)
                o.field("reason", reason)
            }
        case .episodeStarted(let episode, let reason):
            w.object { o in
                o.field("episode", episode)
                o.field("reason", reason)
            }
        case .resultConflictRecorded(let conflict):
            w.object { o in
                o.field("source", conflict.source)
                o.field("id", conflict.id)
                o.field("type", conflict.type.rawValue)
                o.instant("time", conflict.time)
                o.field("fingerprint", conflict.fingerprint)
                o.field("fields", strings: conflict.fields)
            }
        }
    }

    private static func writeFields(of timer: ScheduledTimer, to o: inout JSONWriter.ObjectWriter) {
        o.field("timerId", timer.id)
        o.field("timerCode", timer.code.rawValue)
        o.instant("dueAt", timer.dueAt)
    }

    /// An input's data: the members given, in the contract's order; absent ones left out.
    private static func write(_ data: InputData, to w: inout JSONWriter) {
        w.object { o in
            switch data {
            case .patientPresented(let p):
                o.field("ageYears", p.ageYears)
                o.optional("sex", p.sex?.rawValue)
                o.field("mechanism", p.mechanism.rawValue)
                if let levels = p.fractureLevels { o.field("fractureLevels", strings: levels) }
                if let h = p.history {
                    o.field("history") { w in
                        w.object { o in
                            o.optional("knownMalignancy", h.knownMalignancy)
                            o.optional("unexplainedWeightLoss", h.unexplainedWeightLoss)
                            o.optional("constitutionalSymptoms", h.constitutionalSymptoms)
                            o.optional("osteoporosis", h.osteoporosis)
                            o.optional("glucocorticoidUse", h.glucocorticoidUse)
                            o.optional("immunosuppressed", h.immunosuppressed)
                            o.optional("injectionDrugUse", h.injectionDrugUse)
                        }
                    }
                }
                o.optional("fever", p.fever)
            case .imagingResulted(let i):
                o.field("modality", i.modality.rawValue)
                o.field("contrast", i.contrast.rawValue)
                o.optional("region", i.region?.rawValue)
                if let levels = i.levels { o.field("levels", strings: levels) }
                let f = i.findings
                o.field("findings") { w in
                    w.object { o in
                        o.optional("compressionFracture", f.compressionFracture)
                        o.optional("acuity", f.acuity?.rawValue)
                        o.optional("heightLossPercent", f.heightLossPercent)
                        o.optional("kyphosisDegrees", f.kyphosisDegrees)
                        o.optional("morphology", f.morphology?.rawValue)
                        o.optional("posteriorLigamentousComplex", f.posteriorLigamentousComplex?.rawValue)
                        o.optional("unstable", f.unstable)
                        o.optional("cordCompression", f.cordCompression?.rawValue)
                        o.optional("suspiciousForMalignancy", f.suspiciousForMalignancy)
                        o.optional("discitisOsteomyelitis", f.discitisOsteomyelitis)
                    }
                }
            case .neuroExamined(let n):
                o.optional("motorDeficit", n.motorDeficit)
                o.optional("sensoryDeficit", n.sensoryDeficit)
                o.optional("bowelBladderDysfunction", n.bowelBladderDysfunction)
                o.optional("spinalCordInjury", n.spinalCordInjury)
                o.optional("asiaGrade", n.asiaGrade?.rawValue)
                o.optional("neuroStatus", n.neuroStatus?.rawValue)
            case .biopsyResulted(let b):
                o.field("specimen", b.specimen.rawValue)
                o.optional("histology", b.histology?.rawValue)
                o.optional("metastatic", b.metastatic)
                o.nullable("organism", b.organism)
            case .painAssessed(let p):
                o.field("nrs", p.nrs)
                o.optional("onAnalgesics", p.onAnalgesics)
            case .vitalsRecorded(let v):
                o.optional("meanArterialPressure", v.meanArterialPressure)
                o.optional("spo2", v.spo2)
                o.optional("fvcPercentPredicted", v.fvcPercentPredicted)
                o.optional("pulmonaryDysfunction", v.pulmonaryDysfunction)
            case .medicationChanged(let m):
                o.field("medication", m.medication.rawValue)
                o.field("action", m.action.rawValue)
            case .taskUpdated(let t):
                o.field("taskId", t.taskId)
                o.field("status", t.status.rawValue)
            case .spineCleared(let s):
                o.optional("cervical", s.cervical)
                o.optional("thoracolumbar", s.thoracolumbar)
            case .timerFired(let t):
                o.field("timerId", t.timerId)
                o.field("timerCode", t.timerCode.rawValue)
            }
        }
    }

    private static func write(_ r: Recommendation, to w: inout JSONWriter) {
        w.object { o in
            o.field("id", r.id)
            o.field("revision", r.revision)
            o.field("patientId", r.patientId)
            o.field("code", r.code.rawValue)
            o.field("status", r.status.rawValue)
            o.field("priority", r.priority.rawValue)
            o.field("indicator", r.indicator.rawValue)
            o.field("summary", r.summary)
            o.field("detail", r.detail)
            o.field("rationale") { w in
                w.array { a in
                    for fact in r.rationale {
                        a.element { w in
                            w.object { o in
                                o.field("fact", fact.fact)
                                o.field("value", fact.value)
                                o.field("eventId", fact.eventId)
                            }
                        }
                    }
                }
            }
            o.field("evidence") { w in
                w.array { a in
                    for item in r.evidence {
                        a.element { w in
                            w.object { o in
                                o.field("source", item.source)
                                o.field("text", item.text)
                            }
                        }
                    }
                }
            }
            o.field("rule") { w in
                w.object { o in
                    o.field("id", ruleId(r.code))
                    o.field("rulesetVersion", r.rulesetVersion)
                }
            }
            o.field("pathwayState", r.pathwayState.rawValue)
            o.field("episode", r.episode)
            o.field("causationEventId", r.causationEventId)
            o.instant("issuedAt", r.issuedAt)
            o.instant("updatedAt", r.updatedAt)
            o.optional("statusReason", r.statusReason)
        }
    }

    /// A task as the FHIR `Task` resource carepath publishes.
    private static func write(_ t: CareTask, to w: inout JSONWriter) {
        w.object { o in
            o.field("resourceType", "Task")
            o.field("id", t.id)
            o.field("meta") { w in
                w.object { o in
                    o.field("versionId", String(t.version))
                    o.instant("lastUpdated", t.lastModified)
                }
            }
            o.field("status", t.status.rawValue)
            if let statusReason = t.statusReason {
                o.field("statusReason") { w in w.object { $0.field("text", statusReason) } }
            }
            o.field("intent", "proposal")
            o.field("priority", t.priority.rawValue)
            o.field("code") { w in
                let display = display(t.code)
                w.object { o in
                    o.field("coding") { w in
                        w.array { a in
                            a.element { w in
                                w.object { o in
                                    o.field("system", "urn:carepath:task")
                                    o.field("code", t.code.rawValue)
                                    o.field("display", display)
                                }
                            }
                        }
                    }
                    o.field("text", display)
                }
            }
            o.field("description", t.description)
            if let reasonText = t.reasonText {
                o.field("reasonCode") { w in w.object { $0.field("text", reasonText) } }
            }
            o.field("for") { w in w.object { $0.field("reference", "Patient/" + t.patientId) } }
            o.instant("authoredOn", t.authoredOn)
            o.instant("lastModified", t.lastModified)
            if let period = t.executionPeriod {
                o.field("executionPeriod") { w in
                    w.object { o in
                        o.instant("start", period.start)
                        o.instant("end", period.end)
                    }
                }
            }
            o.field("basedOn") { w in
                w.array { a in
                    a.element { w in w.object { $0.field("reference", "urn:carepath:recommendation:" + t.basedOn) } }
                }
            }
        }
    }

    /// A recommendation's `rule.id` as v1 writes it: v1's own copy of the
    /// rule ids, so that renaming a rule does not change stored bytes. A new
    /// code is added here with the rule id it first ships with.
    static func ruleId(_ code: RecommendationCode) -> String {
        switch code {
        case .urgentSurgicalReferral: "VCF-NEURO-01"
        case .referralOverdue: "VCF-NEURO-02"
        case .sciCriticalCareBundle: "VCF-SCI-01"
        case .mapBelowGoal: "VCF-SCI-02"
        case .spinalPrecautions: "VCF-TRAUMA-01"
        case .surgicalConsultInstability: "VCF-STAB-01"
        case .pathologicFractureWorkup: "VCF-PATH-01"
        case .oncologyReferral: "VCF-PATH-02"
        case .mriSpineWithoutContrast: "VCF-IMG-01"
        case .infectionWorkup: "VCF-INF-01"
        case .targetedIVAntibiotics: "VCF-INF-02"
        case .empiricIVAntibiotics: "VCF-INF-03"
        case .specialistAntimicrobialTherapy: "VCF-INF-04"
        case .bloodCultureConfirmation: "VCF-INF-05"
        case .painManagement: "VCF-PAIN-01"
        case .conflictingResultReview: "VCF-SAFE-01"
        case .conservativeManagement: "VCF-CONS-01"
        case .reassessmentOverdue: "VCF-CONS-02"
        case .pathwayResolved: "VCF-CONS-03"
        case .vertebralAugmentationEvaluation: "VCF-AUG-01"
        }
    }

    /// A task code's display text as v1 writes it (`code.coding[0].display`
    /// and `code.text`): v1's own copy, so that rewording a display text for
    /// clinicians does not change stored bytes. A new code is added here with
    /// the text it first ships with.
    static func display(_ code: TaskCode) -> String {
        switch code {
        case .spineSurgeryConsult: "Spine surgery consultation"
        case .icuAdmission: "ICU admission"
        case .arterialLine: "Arterial line placement"
        case .centralLine: "Central venous line placement"
        case .airwayAssessment: "Airway assessment"
        case .mapGoalVasopressors: "Vasopressors to keep MAP above goal"
        case .spinalPrecautions: "Cervical and thoracolumbar spinal precautions"
        case .multidisciplinaryEvaluation: "Multidisciplinary evaluation for pathologic fracture"
        case .mriSpineWithContrast: "MRI complete spine with IV contrast"
        case .vertebralBiopsy: "Vertebral biopsy"
        case .mriSpineWithoutContrast: "MRI spine without IV contrast"
        case .bloodCultures: "Blood cultures"
        case .inflammatoryMarkers: "Baseline inflammatory markers (ESR, CRP)"
        case .ivAntibiotics: "Targeted IV antibiotics"
        case .inflammatoryMarkersFollowup: "Follow-up inflammatory markers (ESR, CRP)"
        case .oncologyReferral: "Oncology referral"
        case .analgesia: "Analgesia"
        case .braceForComfort: "Brace for comfort"
        case .physicalTherapy: "Physical therapy"
        case .reassessmentVisit: "Reassessment visit"
        case .osteoporosisTreatment: "Osteoporosis treatment (calcium, vitamin D, bisphosphonate)"
        case .metabolicWorkup: "Metabolic bone workup"
        case .calcitoninCourse: "Calcitonin course for acute fracture pain"
        case .interventionalSpineConsult: "Interventional spine consultation (vertebral augmentation)"
        case .painReassessment: "Pain reassessment (NRS)"
        case .repeatSpineImaging: "Repeat spine imaging"
        case .empiricIVAntibiotics: "Empiric IV antibiotics"
        case .infectiousDiseasesConsult: "Infectious diseases consultation"
        case .antimicrobialTherapy: "Antimicrobial therapy directed by infectious diseases"
        case .resultReview: "Clinical review of a conflicting result"
        }
    }
}

extension JSONWriter.ObjectWriter {
    /// A member whose value is a time in carepath's fixed RFC 3339 form (UTC, `Z`).
    fileprivate mutating func instant(_ key: String, _ time: Timestamp) {
        field(key) { time.write(to: &$0) }
    }
}

// MARK: - Reading

extension StoredEventCodec.V1 {
    typealias Reader = StoredEventCodec.Reader
    typealias DecodingError = StoredEventCodec.DecodingError

    static func read(_ bytes: [UInt8]) throws(DecodingError) -> DomainEvent {
        let r = try Reader(parsing: bytes)
        let type = try r.string("type")
        let patientId = try r.string("patientId")
        let version = try r.int("version")
        let occurredAt = try r.timestamp("occurredAt")
        let causationEventId = try r.string("causationEventId")
        let d = try r.object("data")
        let payload: DomainEvent.Payload
        switch type {
        case "ClinicalEventRecorded":
            let inputType: InputType = try d.enumeration("type")
            guard inputType != .timerFired else {
                throw DecodingError(at: d.at("type"), "a timer.fired is never recorded as a clinical input")
            }
            let input = InputEvent(id: try d.string("id"), source: try d.string("source"), subject: patientId,
                                   time: try d.timestamp("time"), data: try readData(inputType, try d.object("data")),
                                   fingerprint: try d.string("fingerprint"))
            payload = .clinicalEventRecorded(input, actingAt: try d.timestamp("actingAt"))
        case "StateChanged":
            payload = .stateChanged(from: try d.optionalEnumeration("from"), to: try d.enumeration("to"),
                                    reason: try d.string("reason"))
        case "TrackOpened":
            payload = .trackOpened(try d.enumeration("track"), reason: try d.string("reason"))
        case "TrackClosed":
            payload = .trackClosed(try d.enumeration("track"), reason: try d.string("reason"))
        case "RecommendationIssued":
            payload = .recommendationIssued(try readRecommendation(try d.object("recommendation")))
        case "RecommendationRevised":
            payload = .recommendationRevised(try readRecommendation(try d.object("recommendation")))
        case "TaskRequested":
            payload = .taskRequested(try readTask(try d.object("task")))
        case "TaskChanged":
            payload = .taskChanged(try readTask(try d.object("task")))
        case "TimerScheduled":
            payload = .timerScheduled(try readTimer(d))
        case "TimerFired":
            payload = .timerFired(try readTimer(d))
        case "TimerCancelled":
            payload = .timerCancelled(try readTimer(d), reason: try d.string("reason"))
        case "EpisodeStarted":
            payload = .episodeStarted(episode: try d.int("episode"), reason: try d.string("reason"))
        case "ResultConflictRecorded":
            payload = .resultConflictRecorded(ResultConflict(
                source: try d.string("source"), id: try d.string("id"), type: try d.enumeration("type"),
                time: try d.timestamp("time"), fingerprint: try d.string("fingerprint"), fields: try d.strings("fields")))
        default:
            throw DecodingError(at: r.at("type"), "\"\(type.prefix(64))\" is not a domain event type this carepath knows")
        }
        return DomainEvent(patientId: patientId, version: version, occurredAt: occurredAt,
                           causationEventId: causationEventId, payload: payload)
    }

    private static func readTimer(_ d: Reader) throws(DecodingError) -> ScheduledTimer {
        ScheduledTimer(id: try d.string("timerId"), code: try d.enumeration("timerCode"), dueAt: try d.timestamp("dueAt"))
    }

    private static func readData(_ type: InputType, _ d: Reader) throws(DecodingError) -> InputData {
        switch type {
        case .patientPresented:
            let history = try d.optionalObject("history").map { (h: Reader) throws(DecodingError) in
                MedicalHistory(
                    knownMalignancy: try h.optionalBool("knownMalignancy"),
                    unexplainedWeightLoss: try h.optionalBool("unexplainedWeightLoss"),
                    constitutionalSymptoms: try h.optionalBool("constitutionalSymptoms"),
                    osteoporosis: try h.optionalBool("osteoporosis"),
                    glucocorticoidUse: try h.optionalBool("glucocorticoidUse"),
                    immunosuppressed: try h.optionalBool("immunosuppressed"),
                    injectionDrugUse: try h.optionalBool("injectionDrugUse"))
            }
            return .patientPresented(Presentation(
                ageYears: try d.int("ageYears"), sex: try d.optionalEnumeration("sex"), mechanism: try d.enumeration("mechanism"),
                fractureLevels: try d.optionalStrings("fractureLevels"), history: history, fever: try d.optionalBool("fever")))
        case .imagingResulted:
            let f = try d.object("findings")
            let findings = ImagingFindings(
                compressionFracture: try f.optionalBool("compressionFracture"),
                acuity: try f.optionalEnumeration("acuity"),
                heightLossPercent: try f.optionalDouble("heightLossPercent"),
                kyphosisDegrees: try f.optionalDouble("kyphosisDegrees"),
                morphology: try f.optionalEnumeration("morphology"),
                posteriorLigamentousComplex: try f.optionalEnumeration("posteriorLigamentousComplex"),
                unstable: try f.optionalBool("unstable"),
                cordCompression: try f.optionalEnumeration("cordCompression"),
                suspiciousForMalignancy: try f.optionalBool("suspiciousForMalignancy"),
                discitisOsteomyelitis: try f.optionalBool("discitisOsteomyelitis"))
            return .imagingResulted(ImagingResult(
                modality: try d.enumeration("modality"), contrast: try d.optionalEnumeration("contrast") ?? .none,
                region: try d.optionalEnumeration("region"), levels: try d.optionalStrings("levels"), findings: findings))
        case .neuroExamined:
            return .neuroExamined(NeuroExam(
                motorDeficit: try d.optionalBool("motorDeficit"),
                sensoryDeficit: try d.optionalBool("sensoryDeficit"),
                bowelBladderDysfunction: try d.optionalBool("bowelBladderDysfunction"),
                spinalCordInjury: try d.optionalBool("spinalCordInjury"),
                asiaGrade: try d.optionalEnumeration("asiaGrade"),
                neuroStatus: try d.optionalEnumeration("neuroStatus")))
        case .biopsyResulted:
            return .biopsyResulted(BiopsyResult(
                specimen: try d.enumeration("specimen"), histology: try d.optionalEnumeration("histology"),
                metastatic: try d.optionalBool("metastatic"), organism: try d.optionalString("organism")))
        case .painAssessed:
            return .painAssessed(PainAssessment(nrs: try d.int("nrs"), onAnalgesics: try d.optionalBool("onAnalgesics")))
        case .vitalsRecorded:
            return .vitalsRecorded(Vitals(
                meanArterialPressure: try d.optionalDouble("meanArterialPressure"),
                spo2: try d.optionalDouble("spo2"),
                fvcPercentPredicted: try d.optionalDouble("fvcPercentPredicted"),
                pulmonaryDysfunction: try d.optionalBool("pulmonaryDysfunction")))
        case .medicationChanged:
            return .medicationChanged(MedicationChange(medication: try d.enumeration("medication"), action: try d.enumeration("action")))
        case .taskUpdated:
            return .taskUpdated(TaskUpdate(taskId: try d.string("taskId"), status: try d.enumeration("status")))
        case .spineCleared:
            return .spineCleared(SpineClearance(cervical: try d.optionalBool("cervical"),
                                                thoracolumbar: try d.optionalBool("thoracolumbar")))
        case .timerFired:
            return .timerFired(TimerFiring(timerId: try d.string("timerId"), timerCode: try d.enumeration("timerCode")))
        }
    }

    private static func readRecommendation(_ r: Reader) throws(DecodingError) -> Recommendation {
        Recommendation(
            id: try r.string("id"),
            revision: try r.int("revision"),
            patientId: try r.string("patientId"),
            code: try r.enumeration("code"),
            status: try r.enumeration("status"),
            priority: try r.enumeration("priority"),
            indicator: try r.enumeration("indicator"),
            summary: try r.string("summary"),
            detail: try r.string("detail"),
            rationale: try r.objects("rationale") { (item: Reader) throws(DecodingError) in
                RationaleFact(fact: try item.string("fact"), value: try item.required("value"), eventId: try item.string("eventId"))
            },
            evidence: try r.objects("evidence") { (item: Reader) throws(DecodingError) in
                Evidence(source: try item.string("source"), text: try item.string("text"))
            },
            rulesetVersion: try r.object("rule").string("rulesetVersion"),
            pathwayState: try r.enumeration("pathwayState"),
            // Contract version 2 had no episodes: its cards are of the first.
            episode: try r.optionalInt("episode") ?? 1,
            causationEventId: try r.string("causationEventId"),
            issuedAt: try r.timestamp("issuedAt"),
            updatedAt: try r.timestamp("updatedAt"),
            statusReason: try r.optionalString("statusReason"))
    }

    private static func readTask(_ r: Reader) throws(DecodingError) -> CareTask {
        let versionText = try r.object("meta").string("versionId")
        guard let version = Int(versionText) else {
            throw DecodingError(at: r.at("meta.versionId"), "versionId must be a whole number as a string")
        }
        let codings = try r.object("code").objects("coding") { (c: Reader) throws(DecodingError) -> TaskCode in
            try c.enumeration("code")
        }
        guard let code = codings.first else { throw DecodingError(at: r.at("code.coding"), "code.coding must hold a coding") }
        let subject = try r.object("for").string("reference")
        guard subject.hasPrefix("Patient/") else {
            throw DecodingError(at: r.at("for.reference"), "for.reference must be Patient/<id>")
        }
        let based = try r.objects("basedOn") { (b: Reader) throws(DecodingError) in try b.string("reference") }
        let prefix = "urn:carepath:recommendation:"
        guard let basedOn = based.first, basedOn.hasPrefix(prefix) else {
            throw DecodingError(at: r.at("basedOn"), "basedOn must hold a urn:carepath:recommendation reference")
        }
        return CareTask(
            id: try r.string("id"),
            version: version,
            status: try r.enumeration("status"),
            statusReason: try r.optionalObject("statusReason").map { (reason: Reader) throws(DecodingError) in try reason.string("text") },
            priority: try r.enumeration("priority"),
            code: code,
            description: try r.string("description"),
            patientId: String(subject.dropFirst("Patient/".count)),
            authoredOn: try r.timestamp("authoredOn"),
            lastModified: try r.timestamp("lastModified"),
            executionPeriod: try r.optionalObject("executionPeriod").map { (p: Reader) throws(DecodingError) in
                CareTask.Period(start: try p.timestamp("start"), end: try p.timestamp("end"))
            },
            basedOn: String(basedOn.dropFirst(prefix.count)),
            // Contract version 2 had no reasonCode.
            reasonText: try r.optionalObject("reasonCode").map { (reason: Reader) throws(DecodingError) in try reason.string("text") })
    }
}
