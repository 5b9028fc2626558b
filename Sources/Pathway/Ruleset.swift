public import CarepathJSON
import Crypto

/// The versioned thresholds of the pathway (PATHWAY.md section 4).
///
/// The version appears on every recommendation. Overriding any threshold
/// gives a ruleset whose version carries a suffix derived from the overrides
/// (`vcf-2027.1+o.3fa2c19b`), so no two different rulesets share a version.
public struct Ruleset: Sendable, Hashable {
    /// The published version of the built-in thresholds.
    public static let baseVersion = "vcf-2027.1"

    /// The built-in ruleset.
    public static let standard = Ruleset()

    public private(set) var version: String = Ruleset.baseVersion

    /// NRS at or below which pain counts as resolved (`PATHWAY_RESOLVED`).
    public var resolvedMaxNRS = 3
    /// The first day of conservative care on which the pathway can resolve.
    public var resolutionEarliestDay = 28
    /// The reassessment visit window, in days of conservative care.
    public var reassessmentWindowStartDay = 28
    public var reassessmentWindowEndDay = 42
    /// The day of conservative care of the augmentation review.
    public var augmentationReviewDay = 90
    /// MAP at or below this (mmHg) is below goal.
    public var mapGoalMmHg = 85.0
    /// The MAP goal window after a spinal cord injury, in days.
    public var mapWindowDays = 7
    /// Age below which a fragility fracture suggests a pathologic fracture.
    public var pathologicAgeBelow = 50
    /// TLICS at or above which surgery is indicated.
    public var tlicsOperativeMin = 5
    /// A stat spine surgery consult must be accepted within this many hours…
    public var referralAcceptanceHours = 2
    /// …and completed within this many.
    public var referralCompletionHours = 24
    /// An urgent spine surgery consult must be accepted within this many hours…
    public var urgentReferralAcceptanceHours = 24
    /// …and completed within this many.
    public var urgentReferralCompletionHours = 72
    /// While infection is suspected, a MAP below this (mmHg) is septic (IDSA 2015's exception).
    public var sepsisMapMmHg = 65.0
    /// Calcitonin only when conservative care starts within this many days of fracture identification (AAOS 2010).
    public var calcitoninStartWindowDays = 5
    /// How recent (days) an NRS must be to judge conservative failure.
    public var painRecencyDays = 14
    /// NRS above which conservative management may have failed.
    public var failureMinNRS = 3
    /// Failure unless pain fell at least this many points below the baseline.
    public var failureImprovementPoints = 2
    /// Worsening pain: NRS at least this many points above the baseline on analgesics.
    public var worseningPainPoints = 2
    /// Progressive deformity: height loss up this many percentage points…
    public var deformityHeightLossPoints = 10.0
    /// …or kyphosis up this many degrees.
    public var deformityKyphosisDegrees = 5.0
    /// FVC below this percent of predicted is pulmonary dysfunction.
    public var pulmonaryFVCBelowPercent = 70.0
    /// Calcitonin is offered for this many days after fracture identification.
    public var calcitoninWindowDays = 28
    /// The targeted IV antibiotic course window (days).
    public var antibioticCourseDays = 56
    /// Follow-up inflammatory markers window after the organism result (days).
    public var markersFollowupStartDay = 28
    public var markersFollowupEndDay = 35

    public init() {}

    /// The thresholds by name, in a fixed order: what configuration overrides.
    public static let thresholdNames: [String] = [
        "resolvedMaxNRS", "resolutionEarliestDay", "reassessmentWindowStartDay", "reassessmentWindowEndDay",
        "augmentationReviewDay", "mapGoalMmHg", "mapWindowDays", "pathologicAgeBelow", "tlicsOperativeMin",
        "referralAcceptanceHours", "referralCompletionHours", "urgentReferralAcceptanceHours",
        "urgentReferralCompletionHours", "sepsisMapMmHg", "calcitoninStartWindowDays", "painRecencyDays", "failureMinNRS",
        "failureImprovementPoints", "worseningPainPoints", "deformityHeightLossPoints", "deformityKyphosisDegrees",
        "pulmonaryFVCBelowPercent", "calcitoninWindowDays", "antibioticCourseDays", "markersFollowupStartDay",
        "markersFollowupEndDay",
    ]

    // Key paths are immutable values; they are not marked Sendable in the standard library.
    nonisolated(unsafe) private static let integerPaths: [String: WritableKeyPath<Ruleset, Int>] = [
        "resolvedMaxNRS": \.resolvedMaxNRS, "resolutionEarliestDay": \.resolutionEarliestDay,
        "reassessmentWindowStartDay": \.reassessmentWindowStartDay, "reassessmentWindowEndDay": \.reassessmentWindowEndDay,
        "augmentationReviewDay": \.augmentationReviewDay, "mapWindowDays": \.mapWindowDays,
        "pathologicAgeBelow": \.pathologicAgeBelow, "tlicsOperativeMin": \.tlicsOperativeMin,
        "referralAcceptanceHours": \.referralAcceptanceHours, "referralCompletionHours": \.referralCompletionHours,
        "urgentReferralAcceptanceHours": \.urgentReferralAcceptanceHours,
        "urgentReferralCompletionHours": \.urgentReferralCompletionHours,
        "calcitoninStartWindowDays": \.calcitoninStartWindowDays,
        "painRecencyDays": \.painRecencyDays, "failureMinNRS": \.failureMinNRS,
        "failureImprovementPoints": \.failureImprovementPoints, "worseningPainPoints": \.worseningPainPoints,
        "calcitoninWindowDays": \.calcitoninWindowDays, "antibioticCourseDays": \.antibioticCourseDays,
        "markersFollowupStartDay": \.markersFollowupStartDay, "markersFollowupEndDay": \.markersFollowupEndDay,
    ]

    nonisolated(unsafe) private static let decimalPaths: [String: WritableKeyPath<Ruleset, Double>] = [
        "mapGoalMmHg": \.mapGoalMmHg, "sepsisMapMmHg": \.sepsisMapMmHg, "deformityHeightLossPoints": \.deformityHeightLossPoints,
        "deformityKyphosisDegrees": \.deformityKyphosisDegrees, "pulmonaryFVCBelowPercent": \.pulmonaryFVCBelowPercent,
    ]

    /// A threshold's value by name, as JSON.
    public func threshold(_ name: String) -> JSONValue? {
        if let path = Self.integerPaths[name] { return .number(JSONNumber(integer: Int64(self[keyPath: path]))) }
        if let path = Self.decimalPaths[name] { return .number(JSONNumber(double: self[keyPath: path])) }
        return nil
    }

    /// Why a ruleset file or override was refused.
    public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// The standard ruleset with `overrides` applied.
    ///
    /// - Parameter overrides: threshold name to value. Names are those of
    ///   ``thresholdNames``; integer thresholds take whole numbers.
    /// - Returns: a ruleset whose version is ``baseVersion`` plus `+o.` and the
    ///   first 8 hex digits of the SHA-256 of the overrides, or the standard
    ///   ruleset when `overrides` changes nothing.
    /// - Throws: ``ConfigurationError`` naming an unknown threshold or a bad value.
    public static func overriding(_ overrides: [String: JSONValue]) throws(ConfigurationError) -> Ruleset {
        var ruleset = Ruleset.standard
        var effective: [(String, JSONValue)] = []
        for name in overrides.keys.sorted() {
            let value = overrides[name]!
            guard case .number(let number) = value, number.doubleValue >= 0 else {
                throw ConfigurationError(message: "ruleset threshold '\(name)' must be a non-negative number")
            }
            if let path = integerPaths[name] {
                guard let integer = number.integerValue, integer <= 100_000 else {
                    throw ConfigurationError(message: "ruleset threshold '\(name)' must be a whole number")
                }
                if ruleset[keyPath: path] != Int(integer) {
                    ruleset[keyPath: path] = Int(integer)
                    effective.append((name, value))
                }
            } else if let path = decimalPaths[name] {
                if ruleset[keyPath: path] != number.doubleValue {
                    ruleset[keyPath: path] = number.doubleValue
                    effective.append((name, value))
                }
            } else {
                throw ConfigurationError(
                    message: "unknown ruleset threshold '\(name)'; known thresholds: \(thresholdNames.joined(separator: ", "))")
            }
        }
        guard !effective.isEmpty else { return ruleset }
        guard ruleset.reassessmentWindowStartDay <= ruleset.reassessmentWindowEndDay,
              ruleset.markersFollowupStartDay <= ruleset.markersFollowupEndDay
        else {
            throw ConfigurationError(message: "ruleset window starts must not be after their ends")
        }
        var writer = JSONWriter()
        writer.object { o in
            for (name, value) in effective { o.field(name, value) }
        }
        let digest = SHA256.hash(data: writer.bytes).hexString
        ruleset.version = baseVersion + "+o." + digest.prefix(8)
        return ruleset
    }

    /// Reads a ruleset file: `{"thresholds": {"resolvedMaxNRS": 2, ...}}`.
    ///
    /// - Parameter bytes: the file's contents.
    /// - Throws: ``ConfigurationError`` saying what is wrong with the file.
    public static func load(json bytes: [UInt8]) throws(ConfigurationError) -> Ruleset {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw ConfigurationError(message: "ruleset file is not valid JSON: \(error)")
        }
        guard case .object(let object) = value, case .object(let thresholds)? = object["thresholds"] else {
            throw ConfigurationError(message: "ruleset file must be an object with a \"thresholds\" object")
        }
        var overrides: [String: JSONValue] = [:]
        for member in thresholds.members { overrides[member.key] = member.value }
        return try overriding(overrides)
    }
}

extension SHA256Digest {
    /// Lowercase hexadecimal of the digest.
    var hexString: String { hexString(prefix: "") }

    /// `prefix` followed by the lowercase hexadecimal of the digest's first
    /// `limit` bytes (all 32 by default), read in place.
    func hexString(prefix: String, limit: Int = .max) -> String {
        withUnsafeBytes { hexadecimal(UnsafeRawBufferPointer(rebasing: $0.prefix(limit)), prefix: prefix) }
    }
}

/// `prefix` followed by the lowercase hexadecimal of `bytes`, built in one allocation.
private func hexadecimal(_ bytes: UnsafeRawBufferPointer, prefix: String) -> String {
    var prefix = prefix
    return prefix.withUTF8 { head in
        String(unsafeUninitializedCapacity: head.count + 2 * bytes.count) { out in
            var n = out.initialize(fromContentsOf: head)
            for byte in bytes {
                out[n] = hexDigits[Int(byte >> 4)]
                out[n + 1] = hexDigits[Int(byte & 0x0F)]
                n += 2
            }
            return n
        }
    }
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
