import Glibc
public import Logging
import Synchronization

/// Writes one logfmt line a record to standard error:
/// `time=… level=info msg="carepath started" kafka.group=carepath …`.
/// Metadata carries ids and counts; patient payloads are never logged at info.
///
/// A line cannot be forged: whatever a message or a metadata value holds, the
/// record stays on one line and a value cannot pose as another key.
/// - A value is written bare unless it is empty or holds a space, `=`, `"`,
///   `\` or a control character; then it is quoted.
/// - Inside quotes, `"` and `\` are escaped with a backslash; line feed,
///   carriage return and tab are written `\n`, `\r`, `\t`; every other control
///   character is written Swift-style as `\u{XX}`, its Unicode scalar value in
///   (at least two) upper-case hex digits: NUL is `\u{00}`, ESC `\u{1B}`, DEL
///   `\u{7F}`. Control characters are U+0000-U+001F and U+007F, and also the
///   C1 controls U+0080-U+009F (NEL, U+0085, ends a line for some readers) and
///   the line and paragraph separators U+2028 and U+2029.
/// - A metadata key is written bare; a space, `=`, `"`, `\` or control
///   character in it becomes `_` (keys come from code, but not only from ours).
public struct LogfmtLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private static let lock = Mutex(())

    /// Creates a handler.
    /// - Parameters:
    ///   - label: the logger's label.
    ///   - level: the least severe level written.
    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let text = line(time: WallClock.system.now().rfc3339, level: event.level, message: event.message, metadata: event.metadata)
        Self.lock.withLock { _ in
            var bytes = Array(text.utf8)
            _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        }
    }

    /// The line this handler writes for a record, newline included: `time`,
    /// `level`, `msg`, then the handler's metadata merged with the record's
    /// (the record's win), sorted by key. Pure: it writes nothing.
    /// - Parameters:
    ///   - time: when, RFC 3339.
    ///   - level: the record's level.
    ///   - message: the record's message.
    ///   - metadata: the record's own metadata.
    /// - Returns: one line, ending in its only line feed, with no other control character.
    func line(time: String, level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?) -> String {
        var all = self.metadata
        if let metadata { all.merge(metadata) { _, new in new } }
        var line = "time=\(Self.value(time)) level=\(level) msg=\(Self.value(message.description))"
        for (key, value) in all.sorted(by: { $0.key < $1.key }) { line += " \(Self.key(key))=\(Self.value("\(value)"))" }
        return line + "\n"
    }

    /// A value as logfmt: bare, or quoted with escapes (see the type's documentation).
    static func value(_ text: String) -> String {
        let needsQuotes = text.isEmpty || text.unicodeScalars.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "\\" || isControl($0) }
        guard needsQuotes else { return text }
        var out = "\""
        // Unicode scalars, not Characters: "\r\n" is one Character, and so is a
        // control character followed by a combining mark; neither may slip through.
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where isControl(scalar):
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\u{" + (hex.count < 2 ? "0" + hex : hex) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A key as logfmt: bare, anything that would end it or break the line replaced by `_`.
    static func key(_ text: String) -> String {
        guard !text.isEmpty else { return "_" }
        var out = ""
        for scalar in text.unicodeScalars {
            let unsafe = scalar == " " || scalar == "=" || scalar == "\"" || scalar == "\\" || isControl(scalar)
            out.unicodeScalars.append(unsafe ? "_" : scalar)
        }
        return out
    }

    /// C0 controls, DEL, C1 controls, and the Unicode line and paragraph separators.
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029: true
        default: false
        }
    }
}
