import CarepathJSON

/// Time and wording the rules share.
extension DecisionContext {
    /// Whole days of 24 hours from `start` to `time`.
    static func day(of time: Timestamp, since start: Timestamp) -> Int {
        Int((time - start).milliseconds / 86_400_000)
    }

    static func mmHg(_ value: Double) -> String {
        value.rounded() == value ? String(Int(value)) : String(value)
    }

    static func short(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    /// `unexplainedWeightLoss` → `unexplained weight loss`.
    static func words(_ fact: String) -> String {
        switch fact {
        case "ageYears": return "age under 50"
        case "tlics": return "TLICS at the operative threshold"
        case "neuroExam": return "neurological deficit"
        case "neuroStatus", "spinalCordInjury": return "spinal cord injury"
        case "mechanism": return "high-energy trauma"
        case "discitisOsteomyelitis": return "discitis-osteomyelitis"
        case "cordCompression": return "significant cord compression"
        case "unstable": return "unstable fracture"
        default: break
        }
        var out = ""
        for ch in fact {
            if ch.isUppercase {
                out.append(" ")
                out.append(Character(ch.lowercased()))
            } else {
                out.append(ch)
            }
        }
        return out
    }
}

extension PatientState.RedFlag {
    var rationale: RationaleFact {
        let value: JSONValue = self.value == "true" ? .bool(true)
            : Int(self.value).map { .number(JSONNumber(integer: Int64($0))) } ?? .string(self.value)
        return RationaleFact(fact: fact, value: value, eventId: eventId)
    }
}
