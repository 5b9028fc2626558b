import CarepathJSON
import Testing
@testable import Pathway

/// PATHWAY.md section 4: "Thresholds can be overridden by configuration; an
/// overridden ruleset reports its version with a suffix identifying the
/// overrides, so no two rulesets share a version." Every recommendation names
/// the ruleset version.
@Suite("Ruleset: versions and overrides")
struct RulesetTests {
    let t0 = "2026-03-02T10:00:00Z"

    static func int(_ n: Int64) -> JSONValue { .number(JSONNumber(integer: n)) }

    /// A course touching many rules: conservative care, augmentation, overdue
    /// reassessment, escalation, infection, antibiotics, oncology.
    private func richHistory() -> History {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, hours: 2))
        h.pain(at: at(t0, hours: 3), nrs: 6)
        h.vitals(at: at(t0, days: 3), ["pulmonaryDysfunction": true])
        h.taskUpdate("interventional-spine-consult", "completed", at: at(t0, days: 5))
        h.imaging(at: at(t0, days: 50), modality: "xray", ["discitisOsteomyelitis": true])
        h.biopsy(at: at(t0, days: 52), histology: "malignant", organism: "Staphylococcus aureus")
        h.neuro(at: at(t0, days: 53), ["motorDeficit": true])
        return h
    }

    /// Conservative care from t0+2h, the reassessment visit done on day 28
    /// of it, and an NRS of `nrs` then (version 3: resolution needs the visit done).
    private func painOnDay28(_ nrs: Int) -> History {
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, hours: 2))
        h.taskUpdate("reassessment-visit", "completed", at: at(t0, days: 28, hours: 2))
        h.pain(at: at(t0, days: 28, hours: 2), nrs: nrs)
        return h
    }

    @Test("every recommendation revision carries the standard ruleset version")
    func versionOnEveryRecommendation() throws {
        let out = richHistory().evaluate()
        let recs = out.recommendations
        #expect(recs.count >= 10)
        #expect(!Ruleset.standard.version.isEmpty)
        #expect(!Ruleset.standard.version.contains("+o."))
        for rec in recs {
            #expect(rec.rulesetVersion == Ruleset.standard.version, "\(rec.code) rev \(rec.revision)")
            let rule = try #require(rec.raw["rule"] as? [String: Any])
            #expect(!((rule["id"] as? String) ?? "").isEmpty, "\(rec.code)")
            #expect(!rec.rationale.isEmpty, "\(rec.code) rev \(rec.revision)")
            #expect(!rec.evidence.isEmpty, "\(rec.code) rev \(rec.revision)")
            // Version 3: every card carries its episode (section 4).
            #expect(rec.raw["episode"] as? Int == 1, "\(rec.code) rev \(rec.revision)")
        }
        // Version 3: every task carries reasonCode.text, the summary of its card (section 5).
        #expect(!out.taskMessages.isEmpty)
        for task in out.taskMessages {
            let text = (task.raw["reasonCode"] as? [String: Any])?["text"] as? String
            #expect(!(text ?? "").isEmpty, "\(task.code) v\(task.version)")
        }
    }

    // MARK: Version 3 thresholds

    @Test("the standard ruleset is vcf-2027.1 with the version-3 thresholds named and readable")
    func version3Thresholds() {
        let r = Ruleset.standard
        #expect(Ruleset.baseVersion == "vcf-2027.1")
        #expect(r.version == "vcf-2027.1")
        #expect(r.mapGoalMmHg == 85)
        #expect(r.sepsisMapMmHg == 65)
        #expect(r.referralAcceptanceHours == 2)
        #expect(r.referralCompletionHours == 24)
        #expect(r.urgentReferralAcceptanceHours == 24)
        #expect(r.urgentReferralCompletionHours == 72)
        #expect(r.calcitoninStartWindowDays == 5)
        for name in ["urgentReferralAcceptanceHours", "urgentReferralCompletionHours", "sepsisMapMmHg", "calcitoninStartWindowDays"] {
            #expect(Ruleset.thresholdNames.contains(name), "\(name)")
            #expect(r.threshold(name) != nil, "\(name)")
        }
        #expect(r.threshold("urgentReferralCompletionHours") == .number(JSONNumber(integer: 72)))
        #expect(r.threshold("sepsisMapMmHg") == .number(JSONNumber(double: 65)))
    }

    /// An unstable fracture at t0 + 1 h: an urgent consult then.
    @Test("overriding urgentReferralAcceptanceHours moves the urgent consult's deadline")
    func overrideUrgentAcceptance() throws {
        let ruleset = try Ruleset.overriding(["urgentReferralAcceptanceHours": Self.int(12)])
        #expect(ruleset.version.hasPrefix(Ruleset.standard.version + "+o."))
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["unstable": true])
        #expect(!h.evaluate(until: at(t0, hours: 13)).issued("REFERRAL_OVERDUE"))
        #expect(!h.evaluate(until: at(t0, hours: 13, minutes: -1), ruleset: ruleset).issued("REFERRAL_OVERDUE"))
        let rec = try #require(h.evaluate(until: at(t0, hours: 13), ruleset: ruleset).active("REFERRAL_OVERDUE"))
        #expect(rec.priority == "urgent")
        #expect(rec.rulesetVersion == ruleset.version)
    }

    @Test("overriding urgentReferralCompletionHours moves the urgent completion deadline")
    func overrideUrgentCompletion() throws {
        let ruleset = try Ruleset.overriding(["urgentReferralCompletionHours": Self.int(48)])
        var h = History()
        h.presented(at: t0)
        h.imaging(at: at(t0, hours: 1), ["unstable": true])
        h.taskUpdate("spine-surgery-consult", "accepted", at: at(t0, hours: 2))
        #expect(!h.evaluate(until: at(t0, hours: 49)).issued("REFERRAL_OVERDUE"))
        let rec = try #require(h.evaluate(until: at(t0, hours: 49), ruleset: ruleset).active("REFERRAL_OVERDUE"))
        #expect(rec.causationEventId == "P1/referral-completion/1")
    }

    /// Fever with injection drug use: infection suspected. A MAP of 68 is not
    /// septic at the standard 65 mmHg, but is when the sepsis MAP is 70.
    @Test("overriding sepsisMapMmHg decides whether a MAP makes a suspected infection septic")
    func overrideSepsisMap() throws {
        let ruleset = try Ruleset.overriding(["sepsisMapMmHg": .number(JSONNumber(double: 70))])
        var h = History()
        h.presented(at: t0, history: ["injectionDrugUse": true], fever: true)
        h.vitals(at: at(t0, hours: 1), ["meanArterialPressure": 68])
        let standard = h.evaluate()
        #expect(standard.active("INFECTION_WORKUP") != nil)
        #expect(!standard.issued("EMPIRIC_IV_ANTIBIOTICS"))
        let out = h.evaluate(ruleset: ruleset)
        let rec = try #require(out.active("EMPIRIC_IV_ANTIBIOTICS"))
        #expect(rec.priority == "stat")
        #expect(rec.rulesetVersion == ruleset.version)
        // At the standard threshold a MAP of 64 is septic.
        var low = History()
        low.presented(at: t0, history: ["injectionDrugUse": true], fever: true)
        low.vitals(at: at(t0, hours: 1), ["meanArterialPressure": 64])
        #expect(low.evaluate().active("EMPIRIC_IV_ANTIBIOTICS") != nil)
    }

    /// Fracture identified by the MRI at t0 + 1 h; conservative care starts
    /// with the intact exam 6 days later: outside the standard 5-day window.
    @Test("overriding calcitoninStartWindowDays decides whether calcitonin is offered")
    func overrideCalcitoninStartWindow() throws {
        let ruleset = try Ruleset.overriding(["calcitoninStartWindowDays": Self.int(7)])
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, days: 6, hours: 1))
        let standard = h.evaluate()
        #expect(standard.active("CONSERVATIVE_MANAGEMENT") != nil)
        #expect(standard.tasks("calcitonin-course").isEmpty)
        let out = h.evaluate(ruleset: ruleset)
        #expect(out.active("CONSERVATIVE_MANAGEMENT") != nil)
        #expect(out.tasks("calcitonin-course").count == 1)
        // At most 5 × 24 hours counts as within the standard window.
        var edge = History()
        edge.presented(at: t0, age: 70)
        edge.imaging(at: at(t0, hours: 1), modality: "mri")
        edge.neuro(at: at(t0, days: 5, hours: 1))
        #expect(edge.evaluate().tasks("calcitonin-course").count == 1)
    }

    @Test("overriding resolvedMaxNRS to 4 makes NRS 4 resolve, and the version gets a +o. suffix")
    func overrideResolvedMaxNRS() throws {
        let ruleset = try Ruleset.overriding(["resolvedMaxNRS": Self.int(4)])
        #expect(ruleset.resolvedMaxNRS == 4)
        #expect(ruleset.version != Ruleset.standard.version)
        #expect(ruleset.version.hasPrefix(Ruleset.standard.version + "+o."))
        #expect(ruleset.version.count > (Ruleset.standard.version + "+o.").count)

        let h = painOnDay28(4)
        #expect(!h.evaluate().issued("PATHWAY_RESOLVED"))
        let out = h.evaluate(ruleset: ruleset)
        #expect(out.active("PATHWAY_RESOLVED") != nil)
        #expect(out.finalState == "recovering")
        for rec in out.recommendations {
            #expect(rec.rulesetVersion == ruleset.version, "\(rec.code)")
        }
    }

    @Test("overriding resolvedMaxNRS to 2 stops NRS 3 resolving")
    func overrideStricter() throws {
        let ruleset = try Ruleset.overriding(["resolvedMaxNRS": Self.int(2)])
        let h = painOnDay28(3)
        #expect(h.evaluate().issued("PATHWAY_RESOLVED"))
        #expect(!h.evaluate(ruleset: ruleset).issued("PATHWAY_RESOLVED"))
    }

    @Test("a decimal threshold override changes behaviour: FVC below 75 % counts when so configured")
    func overrideDecimal() throws {
        let ruleset = try Ruleset.overriding(["pulmonaryFVCBelowPercent": .number(JSONNumber(double: 75.5))])
        var h = History()
        h.presented(at: t0, age: 70)
        h.imaging(at: at(t0, hours: 1), modality: "mri")
        h.neuro(at: at(t0, hours: 2))
        h.vitals(at: at(t0, days: 3), ["fvcPercentPredicted": 72])
        #expect(!h.evaluate().issued("VERTEBRAL_AUGMENTATION_EVALUATION"))
        #expect(h.evaluate(ruleset: ruleset).issued("VERTEBRAL_AUGMENTATION_EVALUATION"))
        #expect(ruleset.version.hasPrefix(Ruleset.standard.version + "+o."))
    }

    @Test("recommendation ids do not depend on the ruleset (decision record)")
    func idsIndependentOfRuleset() throws {
        let ruleset = try Ruleset.overriding(["resolvedMaxNRS": Self.int(4)])
        let h = painOnDay28(4)
        let standard = try #require(h.evaluate().active("CONSERVATIVE_MANAGEMENT"))
        let overridden = try #require(h.evaluate(ruleset: ruleset).latest("CONSERVATIVE_MANAGEMENT").first)
        #expect(standard.id == overridden.id)
        #expect(standard.rulesetVersion != overridden.rulesetVersion)
    }

    @Test("different overrides give different versions")
    func differentOverrides() throws {
        let versions = try [
            Ruleset.overriding(["resolvedMaxNRS": Self.int(4)]).version,
            Ruleset.overriding(["resolvedMaxNRS": Self.int(2)]).version,
            Ruleset.overriding(["resolutionEarliestDay": Self.int(4)]).version,
            Ruleset.overriding(["resolvedMaxNRS": Self.int(4), "resolutionEarliestDay": Self.int(21)]).version,
            Ruleset.overriding(["mapGoalMmHg": .number(JSONNumber(double: 90))]).version,
            Ruleset.standard.version,
        ]
        #expect(Set(versions).count == versions.count)
    }

    @Test("the same override twice gives the same version")
    func sameOverrideSameVersion() throws {
        let a = try Ruleset.overriding(["resolvedMaxNRS": Self.int(4), "painRecencyDays": Self.int(10)])
        let b = try Ruleset.overriding(["painRecencyDays": Self.int(10), "resolvedMaxNRS": Self.int(4)])
        #expect(a.version == b.version)
        #expect(a == b)
    }

    @Test("a ruleset file gives the same version as the same override")
    func fileOverride() throws {
        let fromFile = try Ruleset.load(json: Array(#"{"thresholds": {"resolvedMaxNRS": 4}}"#.utf8))
        let direct = try Ruleset.overriding(["resolvedMaxNRS": Self.int(4)])
        #expect(fromFile.version == direct.version)
        #expect(fromFile.resolvedMaxNRS == 4)
    }

    @Test("an override that changes nothing keeps the base version")
    func noOpOverride() throws {
        let same = try Ruleset.overriding(["resolvedMaxNRS": Self.int(3)])
        #expect(same.version == Ruleset.standard.version)
        #expect(same == Ruleset.standard)
        let empty = try Ruleset.overriding([:])
        #expect(empty.version == Ruleset.standard.version)
    }

    @Test("an override mixing a real change and a no-op is versioned like the real change alone")
    func mixedNoOp() throws {
        let mixed = try Ruleset.overriding(["resolvedMaxNRS": Self.int(4), "augmentationReviewDay": Self.int(90)])
        let alone = try Ruleset.overriding(["resolvedMaxNRS": Self.int(4)])
        #expect(mixed.version == alone.version)
    }

    @Test("an unknown threshold name is refused")
    func unknownThreshold() {
        #expect(throws: Ruleset.ConfigurationError.self) {
            try Ruleset.overriding(["resolvedMaxNrs": Self.int(4)])
        }
        #expect(throws: Ruleset.ConfigurationError.self) {
            try Ruleset.overriding(["resolvedMaxNRS": Self.int(4), "noSuchThreshold": Self.int(1)])
        }
    }

    @Test("bad values are refused: negative, fractional for a whole-number threshold, not a number")
    func badValues() {
        #expect(throws: Ruleset.ConfigurationError.self) {
            try Ruleset.overriding(["resolvedMaxNRS": Self.int(-1)])
        }
        #expect(throws: Ruleset.ConfigurationError.self) {
            try Ruleset.overriding(["resolvedMaxNRS": .number(JSONNumber(double: 3.5))])
        }
        #expect(throws: Ruleset.ConfigurationError.self) {
            try Ruleset.overriding(["resolvedMaxNRS": .string("4")])
        }
    }

    /// Version 3 fix 13, "One study, not two": the workup's complete-spine
    /// contrast MRI replaces the plain one, so the age trigger shows as the
    /// workup and its contrast MRI, with no plain MRI card beside them.
    @Test("the pathologic age threshold is part of the ruleset")
    func overrideAge() throws {
        let ruleset = try Ruleset.overriding(["pathologicAgeBelow": Self.int(60)])
        var h = History()
        h.presented(at: t0, age: 55)
        let standard = h.evaluate()
        #expect(!standard.issued("PATHOLOGIC_FRACTURE_WORKUP"))
        #expect(standard.active("MRI_SPINE_WITHOUT_CONTRAST")?.priority == "routine")
        let out = h.evaluate(ruleset: ruleset)
        let workup = try #require(out.active("PATHOLOGIC_FRACTURE_WORKUP"))
        #expect(workup.facts["ageYears"] as? Int == 55)
        #expect(workup.rulesetVersion == ruleset.version)
        #expect(out.tasks("mri-spine-with-contrast").first?.status == "requested")
        #expect(!out.issued("MRI_SPINE_WITHOUT_CONTRAST"))
    }

    @Test("lowering the pathologic age threshold: age 45 is then neither a trigger nor a red flag for the MRI")
    func overrideAgeLower() throws {
        let ruleset = try Ruleset.overriding(["pathologicAgeBelow": Self.int(40)])
        var h = History()
        h.presented(at: t0, age: 45)
        #expect(h.evaluate().issued("PATHOLOGIC_FRACTURE_WORKUP"))
        let out = h.evaluate(ruleset: ruleset)
        #expect(!out.issued("PATHOLOGIC_FRACTURE_WORKUP"))
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST")?.priority == "routine")
    }

    @Test("the TLICS operative threshold is part of the ruleset; a TLICS trigger is a red flag for the MRI")
    func overrideTLICS() throws {
        let ruleset = try Ruleset.overriding(["tlicsOperativeMin": Self.int(4)])
        var h = History()
        h.presented(at: t0, age: 70)
        // burst 2 + PLC indeterminate 2 + intact 0 = TLICS 4
        h.imaging(at: at(t0, hours: 1), modality: "ct", ["morphology": "burst", "posteriorLigamentousComplex": "indeterminate"])
        h.neuro(at: at(t0, hours: 2))
        let standard = h.evaluate()
        #expect(!standard.issued("SURGICAL_CONSULT_INSTABILITY"))
        #expect(standard.active("MRI_SPINE_WITHOUT_CONTRAST")?.priority == "routine")
        let out = h.evaluate(ruleset: ruleset)
        #expect(out.issued("SURGICAL_CONSULT_INSTABILITY"))
        #expect(out.active("MRI_SPINE_WITHOUT_CONTRAST")?.priority == "urgent")
        #expect(out.tasks("mri-spine-without-contrast").first?.priority == "urgent")
    }
}
