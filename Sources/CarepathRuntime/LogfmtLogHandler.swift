import Glibc
public import Logging
import Synchronization

/// Writes one logfmt line a record to standard error:
/// `time=… level=info msg="carepath started" kafka.group=carepath …`.
/// Metadata carries ids and counts; patient payloads are never logged at info.
public struct LogfmtLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private static let lock = Mutex(())

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "time=\(WallClock.system.now().rfc3339) level=\(event.level) msg=\(Self.quoted(event.message.description))"
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        for (key, value) in all.sorted(by: { $0.key < $1.key }) { line += " \(key)=\(Self.quoted("\(value)"))" }
        line += "\n"
        Self.lock.withLock { _ in
            var bytes = Array(line.utf8)
            _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        }
    }

    private static func quoted(_ text: String) -> String {
        let needsQuotes = text.isEmpty || text.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "\n" }
        guard needsQuotes else { return text }
        var out = "\""
        for c in text {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out + "\""
    }
}
