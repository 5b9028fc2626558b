@testable import CarepathRuntime
import Logging
import Testing

/// Lines rendered through ``LogfmtLogHandler`` without writing them: whatever
/// a message or a metadata value holds, one record is one line, and no raw
/// control byte reaches the log.
@Suite("Logfmt lines cannot be forged")
struct LogfmtLineTests {
    static let time = "2026-03-02T10:15:00.000Z"

    /// The line for a record with this message and metadata.
    static func render(_ message: String, _ metadata: Logger.Metadata = [:], handlerMetadata: Logger.Metadata = [:]) -> String {
        var handler = LogfmtLogHandler(label: "carepath.tests", level: .debug)
        for (key, value) in handlerMetadata { handler[metadataKey: key] = value }
        return handler.line(time: time, level: .info, message: "\(message)", metadata: metadata)
    }

    /// Bytes below 0x20 and 0x7F in a line, apart from its final line feed.
    static func controlBytes(_ line: String) -> [UInt8] {
        Array(line.utf8.dropLast()).filter { $0 < 0x20 || $0 == 0x7F }
    }

    /// A rendered line is one line: it ends in a line feed, its only control byte.
    static func expectOneLine(_ line: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(line.utf8.last == UInt8(ascii: "\n"), sourceLocation: sourceLocation)
        #expect(controlBytes(line).isEmpty, "raw control bytes \(controlBytes(line)) in \(line.debugDescription)",
                sourceLocation: sourceLocation)
    }

    @Test("a forged newline in the message stays on the record's line, escaped")
    func forgedNewlineInMessage() {
        let line = Self.render("ok\nlevel=error msg=forged")
        Self.expectOneLine(line)
        #expect(line == #"time=2026-03-02T10:15:00.000Z level=info msg="ok\nlevel=error msg=forged""# + "\n")
    }

    @Test("a forged newline in a metadata value stays on the record's line, escaped")
    func forgedNewlineInMetadata() {
        let line = Self.render("batch done", ["patient": "P1\nlevel=error msg=forged"])
        Self.expectOneLine(line)
        #expect(line.hasSuffix(#" patient="P1\nlevel=error msg=forged""# + "\n"))
    }

    @Test("carriage return, CR LF, tab, NUL, ESC and DEL never come out raw", arguments: [
        ("a\rb", #""a\rb""#),
        ("a\r\nlevel=error", #""a\r\nlevel=error""#),
        ("a\tb", #""a\tb""#),
        ("a\u{0}b", #""a\u{00}b""#),
        ("\u{1B}[31mred\u{1B}[0m", #""\u{1B}[31mred\u{1B}[0m""#),
        ("a\u{7F}b", #""a\u{7F}b""#),
        ("a\u{1F}b", #""a\u{1F}b""#),
        ("a\u{85}b", #""a\u{85}b""#),
        ("a\u{2028}b", #""a\u{2028}b""#),
        // A line feed and a combining mark are one Character; the line feed is still escaped (the mark is no control).
        ("\n\u{301}", "\"\\n\u{301}\""),
    ])
    func controlCharacters(value: String, expected: String) {
        for line in [Self.render(value), Self.render("m", ["k": "\(value)"])] {
            Self.expectOneLine(line)
        }
        #expect(LogfmtLogHandler.value(value) == expected)
        #expect(Self.render(value) == "time=\(Self.time) level=info msg=\(expected)\n")
        #expect(Self.render("m", ["k": "\(value)"]) == "time=\(Self.time) level=info msg=m k=\(expected)\n")
    }

    @Test("every C0 control character and DEL is escaped, in messages and metadata")
    func everyControlCharacter() {
        let all = String(String.UnicodeScalarView((0x00...0x1F).compactMap(Unicode.Scalar.init) + [Unicode.Scalar(0x7F)]))
        let line = Self.render("x" + all, ["a": "\(all)y", "b": .array(["\(all)"]), "c": .dictionary(["d": "\(all)"])])
        Self.expectOneLine(line)
    }

    @Test("quotes and backslashes are escaped inside quotes; spaces, = and \" make a value quoted")
    func quoting() {
        #expect(LogfmtLogHandler.value(#"say "hi""#) == #""say \"hi\"""#)
        #expect(LogfmtLogHandler.value(#"C:\tmp"#) == #""C:\\tmp""#)
        #expect(LogfmtLogHandler.value("a=b") == #""a=b""#)
        #expect(LogfmtLogHandler.value("two words") == #""two words""#)
        #expect(LogfmtLogHandler.value("") == #""""#)
        // A value cannot close its quotes and start a key of its own.
        let line = Self.render("m", ["k": #"x" level=error msg="forged"#])
        #expect(line.hasSuffix(#" k="x\" level=error msg=\"forged""# + "\n"))
    }

    @Test("ordinary values are written as they are")
    func ordinaryValuesUnchanged() {
        for value in ["P000123", "42", "clinical.events[3]", "clinical.events[0],clinical.events[1]", "0.25", "Zürich", "café→ok",
                      "2026-03-02T10:15:00Z", "carepath-id:abc-123"] {
            #expect(LogfmtLogHandler.value(value) == value)
        }
        let line = Self.render("carepath started", ["kafka.group": "carepath", "kafka.partitions": "clinical.events[0],clinical.events[1]",
                                                    "count": "42"])
        #expect(line == #"time=2026-03-02T10:15:00.000Z level=info msg="carepath started" count=42 kafka.group=carepath kafka.partitions=clinical.events[0],clinical.events[1]"# + "\n")
    }

    @Test("the handler's metadata and the record's are merged (the record's win) and sorted by key")
    func mergedMetadata() {
        let line = Self.render("m", ["b": "record", "c": "3"], handlerMetadata: ["a": "1", "b": "handler"])
        #expect(line == "time=\(Self.time) level=info msg=m a=1 b=record c=3\n")
    }

    @Test("a key cannot break the line or pose as a value")
    func keys() {
        let line = Self.render("m", ["a b\nlevel=error\u{1B}\"": "v", "": "empty"])
        Self.expectOneLine(line)
        #expect(line == "time=\(Self.time) level=info msg=m _=empty a_b_level_error__=v\n")
    }
}
