import CarepathJSON
public import Pathway

/// `carepath inspect`: what carepath did for one patient and why, from the
/// patient's stored stream of domain events.
///
/// Pure. The stream is grouped into entries, one per cause (an input event or
/// a timer) in stream order; each entry lists what that cause changed. The
/// JSON form also carries every domain event as stored, so nothing is lost.
public struct PatientTimeline: Sendable {
    /// What caused an entry.
    public enum Cause: Sendable, Hashable {
        case input(type: String, id: String, source: String)
        case timer(code: String, id: String)
        /// A cause whose input is not in the stream (not expected).
        case other(id: String)
    }

    /// One cause and what it changed.
    public struct Entry: Sendable {
        public var time: Timestamp
        public var cause: Cause
        public var events: [DomainEvent]
    }

    public let patientId: String
    public let entries: [Entry]
    /// The state folded from the stream.
    public let state: PatientState

    /// - Parameters:
    ///   - patientId: the patient.
    ///   - events: the patient's stream, in version order.
    public init(patientId: String, events: [DomainEvent]) {
        self.patientId = patientId
        self.state = PatientState.fold(patientId: patientId, events)
        var entries: [Entry] = []
        for event in events {
            if let last = entries.last, last.events.last?.causationEventId == event.causationEventId {
                entries[entries.count - 1].events.append(event)
                continue
            }
            let cause: Cause
            switch event.payload {
            case .clinicalEventRecorded(let input, _):
                cause = .input(type: input.type.rawValue, id: input.id, source: input.source)
            case .timerFired(let timer):
                cause = .timer(code: timer.code.rawValue, id: timer.id)
            default:
                cause = .other(id: event.causationEventId)
            }
            entries.append(Entry(time: event.occurredAt, cause: cause, events: [event]))
        }
        self.entries = entries
    }

    // MARK: - Text

    /// The timeline as a table for a person.
    /// - Parameter color: ANSI colour for a terminal.
    public func text(color: Bool = false) -> String {
        func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
        let causeWidth = 34
        var out = paint("Patient \(patientId)", "1")
        out += " · \(state.state?.rawValue ?? "no state") · \(state.version) domain events"
        let versions = Set(state.recommendations.values.map(\.rulesetVersion)).sorted()
        if !versions.isEmpty { out += " · ruleset \(versions.joined(separator: ", "))" }
        out += "\n\n"
        out += paint("TIME              " + "CAUSE".padding(causeWidth) + "WHAT", "2") + "\n"
        for entry in entries {
            let cause: String
            switch entry.cause {
            case .input(let type, let id, _): cause = "\(type) \(id)"
            case .timer(let code, let id): cause = "timer \(code) \(id.split(separator: "/").last.map { "#\($0)" } ?? "")"
            case .other(let id): cause = id
            }
            var lines: [String] = []
            for event in entry.events { lines += Self.describe(event, paint: paint) }
            if lines.isEmpty { lines = [paint("recorded; nothing else changed", "2")] }
            let time = Self.short(entry.time) + "  "
            let indent = String(repeating: " ", count: time.count + causeWidth)
            if cause.count < causeWidth {
                out += time + cause.padding(causeWidth) + lines[0] + "\n"
            } else {
                out += time + cause + "\n" + indent + lines[0] + "\n"
            }
            for line in lines.dropFirst() { out += indent + line + "\n" }
        }
        out += "\n" + paint("Now", "1") + "  " + (state.state?.rawValue ?? "no state")
        if !state.openTracks.isEmpty {
            out += " (open tracks: \(state.openTracks.sorted().map(\.rawValue).joined(separator: ", ")))"
        }
        out += "\n"
        let active = state.activeRecommendation.values.compactMap { state.recommendations[$0] }.sorted { $0.code.rawValue < $1.code.rawValue }
        out += "  active cards:  " + (active.isEmpty ? "none" : active.map { "\($0.code.rawValue) \($0.priority.rawValue)/\($0.indicator.rawValue)" }.joined(separator: ", ")) + "\n"
        let open = state.openTask.values.compactMap { state.tasks[$0] }.sorted { $0.code.rawValue < $1.code.rawValue }
        out += "  open tasks:    " + (open.isEmpty ? "none" : open.map { t in
            "\(t.code.rawValue) \(t.status.rawValue)" + (t.executionPeriod.map { " \(Self.short($0.start)) → \(Self.short($0.end))" } ?? "")
        }.joined(separator: ", ")) + "\n"
        let timers = state.pendingTimers.values.map(\.timer).sorted { ($0.dueAt, $0.id) < ($1.dueAt, $1.id) }
        out += "  timers:        " + (timers.isEmpty ? "none" : timers.map { "\($0.code.rawValue) \(Self.short($0.dueAt))" }.joined(separator: ", ")) + "\n"
        return out
    }

    private static func describe(_ event: DomainEvent, paint: (String, String) -> String) -> [String] {
        switch event.payload {
        case .clinicalEventRecorded:
            return []
        case .stateChanged(let from, let to, let reason):
            return ["state  \(from?.rawValue ?? "—") → \(paint(to.rawValue, "1"))  \(paint(reason, "2"))"]
        case .trackOpened(let track, let reason):
            return [paint("track  \(track.rawValue) opened: \(reason)", "2")]
        case .trackClosed(let track, let reason):
            return [paint("track  \(track.rawValue) closed: \(reason)", "2")]
        case .recommendationIssued(let r), .recommendationRevised(let r):
            let verb = r.revision == 1 ? "issued" : "r\(r.revision)"
            var lines = ["card   \(paint(r.code.rawValue, "1")) \(r.priority.rawValue)/\(r.indicator.rawValue) \(r.status.rawValue) (\(verb); rule \(r.ruleId), \(r.rulesetVersion))"]
            if r.revision == 1 {
                lines.append("       \(r.summary)")
                let facts = r.rationale.map { "\($0.fact)=\(text($0.value)) (\($0.eventId))" }.joined(separator: ", ")
                lines.append(paint("       because \(facts)", "2"))
            } else if let reason = r.statusReason {
                lines.append(paint("       \(reason)", "2"))
            }
            return lines
        case .taskRequested(let t), .taskChanged(let t):
            let window = t.executionPeriod.map { " window \(short($0.start)) → \(short($0.end))" } ?? ""
            let reason = t.statusReason.map { " (\($0))" } ?? ""
            return ["task   \(t.code.rawValue) \(t.status.rawValue) \(t.priority.rawValue)\(window)\(reason)"]
        case .timerScheduled(let timer):
            return [paint("timer  \(timer.code.rawValue) due \(short(timer.dueAt))", "2")]
        case .timerFired(let timer):
            return [paint("timer  \(timer.code.rawValue) fired", "35")]
        case .timerCancelled(let timer, let reason):
            return [paint("timer  \(timer.code.rawValue) cancelled: \(reason)", "2")]
        case .episodeStarted(let episode, let reason):
            return [paint("episode \(episode) started: \(reason)", "1")]
        case .resultConflictRecorded(let c):
            return [paint("conflict  \(c.type.rawValue) \(c.id) from \(c.source) re-sent with other \(c.fields.joined(separator: ", "))", "33")]
        }
    }

    static func short(_ t: Timestamp) -> String {
        String(t.rfc3339.prefix(16)).replacingOccurrences(of: "T", with: " ")
    }

    static func text(_ value: JSONValue) -> String {
        if case .string(let s) = value { return s }
        var w = JSONWriter(capacity: 16)
        w.value(value)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    // MARK: - JSON

    /// The timeline for machines: every entry with its cause, what changed,
    /// and the domain events as stored; then the current state.
    public var json: [UInt8] {
        var w = JSONWriter(capacity: 16_384)
        w.object { o in
            o.field("patientId", patientId)
            o.field("version", state.version)
            o.nullable("state", state.state?.rawValue)
            o.field("openTracks", strings: state.openTracks.sorted().map(\.rawValue))
            o.field("rulesetVersions", strings: Set(state.recommendations.values.map(\.rulesetVersion)).sorted())
            o.field("timeline") { w in
                w.array { a in
                    for entry in entries {
                        a.element { w in Self.write(entry, to: &w) }
                    }
                }
            }
            o.field("current") { w in
                w.object { o in
                    let active = state.activeRecommendation.values.compactMap { state.recommendations[$0] }.sorted { $0.code.rawValue < $1.code.rawValue }
                    o.field("activeRecommendations") { w in w.array { a in for r in active { a.element { Self.write(r, to: &$0) } } } }
                    let open = state.openTask.values.compactMap { state.tasks[$0] }.sorted { $0.code.rawValue < $1.code.rawValue }
                    o.field("openTasks") { w in w.array { a in for t in open { a.element { Self.write(t, to: &$0) } } } }
                    let timers = state.pendingTimers.values.map(\.timer).sorted { ($0.dueAt, $0.id) < ($1.dueAt, $1.id) }
                    o.field("pendingTimers") { w in w.array { a in for t in timers { a.element { Self.write(t, event: nil, to: &$0) } } } }
                }
            }
        }
        w.bytes.append(UInt8(ascii: "\n"))
        return w.bytes
    }

    private static func write(_ entry: Entry, to w: inout JSONWriter) {
        w.object { o in
            o.field("time", entry.time.rfc3339)
            o.field("cause") { w in
                w.object { o in
                    switch entry.cause {
                    case .input(let type, let id, let source):
                        o.field("kind", "input")
                        o.field("type", type)
                        o.field("id", id)
                        o.field("source", source)
                    case .timer(let code, let id):
                        o.field("kind", "timer")
                        o.field("timerCode", code)
                        o.field("id", id)
                    case .other(let id):
                        o.field("kind", "other")
                        o.field("id", id)
                    }
                }
            }
            o.field("firstVersion", entry.events.first?.version ?? 0)
            o.field("lastVersion", entry.events.last?.version ?? 0)
            o.field("stateChanges") { w in
                w.array { a in
                    for e in entry.events {
                        guard case .stateChanged(let from, let to, let reason) = e.payload else { continue }
                        a.element { w in w.object { o in
                            o.nullable("from", from?.rawValue)
                            o.field("to", to.rawValue)
                            o.field("reason", reason)
                        } }
                    }
                }
            }
            o.field("recommendations") { w in
                w.array { a in
                    for e in entry.events {
                        switch e.payload {
                        case .recommendationIssued(let r), .recommendationRevised(let r): a.element { write(r, to: &$0) }
                        default: continue
                        }
                    }
                }
            }
            o.field("tasks") { w in
                w.array { a in
                    for e in entry.events {
                        switch e.payload {
                        case .taskRequested(let t), .taskChanged(let t): a.element { write(t, to: &$0) }
                        default: continue
                        }
                    }
                }
            }
            o.field("timers") { w in
                w.array { a in
                    for e in entry.events {
                        switch e.payload {
                        case .timerScheduled(let t): a.element { write(t, event: "scheduled", to: &$0) }
                        case .timerFired(let t): a.element { write(t, event: "fired", to: &$0) }
                        case .timerCancelled(let t, _): a.element { write(t, event: "cancelled", to: &$0) }
                        default: continue
                        }
                    }
                }
            }
            o.field("domainEvents") { w in
                w.array { a in
                    for e in entry.events { a.element { $0.raw(e.json) } }
                }
            }
        }
    }

    private static func write(_ r: Recommendation, to w: inout JSONWriter) {
        w.object { o in
            o.field("id", r.id)
            o.field("revision", r.revision)
            o.field("code", r.code.rawValue)
            o.field("status", r.status.rawValue)
            o.field("priority", r.priority.rawValue)
            o.field("indicator", r.indicator.rawValue)
            o.field("rule", r.ruleId)
            o.field("rulesetVersion", r.rulesetVersion)
            o.field("summary", r.summary)
            o.nullable("statusReason", r.statusReason)
            o.field("facts") { w in
                w.array { a in
                    for f in r.rationale {
                        a.element { w in w.object { o in
                            o.field("fact", f.fact)
                            o.field("value", f.value)
                            o.field("eventId", f.eventId)
                        } }
                    }
                }
            }
            o.field("evidence") { w in
                w.array { a in
                    for e in r.evidence {
                        a.element { w in w.object { o in
                            o.field("source", e.source)
                            o.field("text", e.text)
                        } }
                    }
                }
            }
        }
    }

    private static func write(_ t: CareTask, to w: inout JSONWriter) {
        w.object { o in
            o.field("id", t.id)
            o.field("version", t.version)
            o.field("code", t.code.rawValue)
            o.field("status", t.status.rawValue)
            o.field("priority", t.priority.rawValue)
            if let period = t.executionPeriod {
                o.field("window") { w in w.object { o in
                    o.field("start", period.start.rfc3339)
                    o.field("end", period.end.rfc3339)
                } }
            } else {
                o.nullField("window")
            }
            o.nullable("statusReason", t.statusReason)
            o.field("basedOn", t.basedOn)
        }
    }

    private static func write(_ t: ScheduledTimer, event: String?, to w: inout JSONWriter) {
        w.object { o in
            o.field("id", t.id)
            o.field("code", t.code.rawValue)
            if let event { o.field("event", event) }
            o.field("dueAt", t.dueAt.rfc3339)
        }
    }
}

extension String {
    /// Pads with spaces to `width` characters.
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
