import CarepathJSON
import Foundation
import Pathway

/// Renders a patient's pathway for a person: one block per input event or
/// timer, with the state change, recommendations and tasks it caused.
struct Timeline {
    var color: Bool

    /// The terminal supports colour and the user did not ask for none.
    static var terminalWantsColor: Bool {
        isatty(STDOUT_FILENO) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }

    private func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
    private func bold(_ t: String) -> String { paint(t, "1") }
    private func dim(_ t: String) -> String { paint(t, "2") }

    private func priority(_ p: String, _ indicator: String) -> String {
        let text = "\(p)/\(indicator)"
        switch indicator {
        case "critical": return paint(text, "1;31")
        case "warning": return paint(text, "33")
        default: return paint(text, "36")
        }
    }

    /// Renders the domain events of the messages, grouped by patient in order of first appearance.
    func render(_ messages: [OutputMessage]) -> String {
        var order: [String] = []
        var events: [String: [DomainEvent]] = [:]
        var deadLetters: [String] = []
        for message in messages {
            if message.topic == TopicNames.standard.deadLetters {
                if case .object(let o)? = try? JSONParser.parse(message.value) {
                    let reason = o["reason"]?.stringValue ?? "?"
                    let path = o["path"]?.stringValue ?? "$"
                    let what = o["message"]?.stringValue ?? ""
                    deadLetters.append("  \(paint("dead letter", "35")) \(reason) at \(path): \(what) (key \(message.key ?? "none"))")
                }
                continue
            }
            guard message.topic == TopicNames.standard.domainEvents, let event = try? DomainEvent(json: message.value) else { continue }
            if events[event.patientId] == nil { order.append(event.patientId) }
            events[event.patientId, default: []].append(event)
        }
        var out = ""
        for patient in order {
            out += render(patient: patient, events[patient]!)
        }
        if !deadLetters.isEmpty {
            out += bold("Dead letters") + "\n" + deadLetters.joined(separator: "\n") + "\n"
        }
        return out
    }

    func render(patient: String, _ events: [DomainEvent]) -> String {
        var out = bold("Patient \(patient)") + "\n"
        var lastCause = ""
        var state = "—"
        for event in events {
            if event.causationEventId != lastCause {
                lastCause = event.causationEventId
                out += "  \(dim(Self.short(event.occurredAt))) \(cause(of: event, in: events))\n"
            }
            switch event.payload {
            case .stateChanged(let from, let to, _):
                state = to.rawValue
                out += "      state   \(from?.rawValue ?? "—") → \(bold(to.rawValue))\n"
            case .recommendationIssued(let rec):
                out += "      card    \(bold(rec.code.rawValue)) \(priority(rec.priority.rawValue, rec.indicator.rawValue)) \(rec.ruleId)\n"
                out += "              \(rec.summary)\n"
                out += "              \(dim("because " + rec.rationale.map { "\($0.fact)=\(Self.text($0.value))" }.joined(separator: ", ")))\n"
            case .recommendationRevised(let rec):
                let change = rec.status == .active ? "now \(rec.priority.rawValue)/\(rec.indicator.rawValue)" : "\(rec.status.rawValue): \(rec.statusReason ?? "")"
                out += "      card    \(rec.code.rawValue) r\(rec.revision) \(change)\n"
            case .taskRequested(let task):
                let window = task.executionPeriod.map { " \(Self.short($0.start)) → \(Self.short($0.end))" } ?? ""
                out += "      task    \(task.code.rawValue) requested \(task.priority.rawValue)\(dim(window))\n"
            case .taskChanged(let task):
                let reason = task.statusReason.map { " (\($0))" } ?? ""
                out += "      task    \(task.code.rawValue) → \(task.status.rawValue) \(task.priority.rawValue)\(reason)\n"
            case .timerScheduled(let timer):
                out += dim("      timer   \(timer.code.rawValue) due \(Self.short(timer.dueAt))") + "\n"
            case .timerCancelled(let timer, _):
                out += dim("      timer   \(timer.code.rawValue) cancelled") + "\n"
            case .episodeStarted(let episode, _):
                out += bold("      episode \(episode) started") + "\n"
            case .resultConflictRecorded(let c):
                out += "      conflict \(c.type.rawValue) \(c.id) re-sent with other \(c.fields.joined(separator: ", "))\n"
            case .clinicalEventRecorded, .timerFired, .trackOpened, .trackClosed:
                break
            }
        }
        out += "  \(dim("now")) \(bold(state))\n\n"
        return out
    }

    private func cause(of event: DomainEvent, in events: [DomainEvent]) -> String {
        for e in events where e.causationEventId == event.causationEventId {
            if case .clinicalEventRecorded(let input, _) = e.payload { return "\(bold(input.type.rawValue)) \(dim(input.id))" }
            if case .timerFired(let timer) = e.payload { return "\(paint("timer " + timer.code.rawValue, "35")) \(dim(timer.id))" }
        }
        return event.causationEventId
    }

    static func short(_ t: Timestamp) -> String {
        let s = t.rfc3339
        return String(s.prefix(16)).replacingOccurrences(of: "T", with: " ")
    }

    static func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): s
        case .bool(let b): String(b)
        case .number(let n): n.integerValue.map(String.init) ?? String(n.doubleValue)
        default: "…"
        }
    }
}
