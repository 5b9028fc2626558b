import Testing
import CarepathJSON

@Suite("JSON parser")
struct JSONParserTests {
    func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test("reads every kind of value, keeping member order")
    func values() throws {
        let v = try parse(#"{"b":1,"a":[true,false,null,"x",-2.5,1e2],"c":{}}"#)
        guard case .object(let o) = v else { Issue.record("not an object"); return }
        #expect(o.members.map(\.key) == ["b", "a", "c"])
        #expect(v["b"] == .number(JSONNumber(integer: 1)))
        #expect(v["a"] == .array([.bool(true), .bool(false), .null, .string("x"),
                                  .number(JSONNumber(double: -2.5)), .number(JSONNumber(integer: 100))]))
    }

    @Test("integral numbers count as integers, as JSON Schema counts them", arguments: ["7", "7.0", "7e0", "70E-1"])
    func integers(_ text: String) throws {
        guard case .number(let n) = try parse(text) else { Issue.record("not a number"); return }
        #expect(n.integerValue == 7)
    }

    @Test("fractions are not integers")
    func fractions() throws {
        guard case .number(let n) = try parse("7.5") else { Issue.record("not a number"); return }
        #expect(n.integerValue == nil)
        #expect(n.doubleValue == 7.5)
    }

    @Test("the last of repeated keys wins")
    func repeatedKeys() throws {
        #expect(try parse(#"{"a":1,"a":2}"#)["a"] == .number(JSONNumber(integer: 2)))
    }

    @Test("escapes, including surrogate pairs")
    func escapes() throws {
        #expect(try parse(#""a\"b\\c\/d\n\t\u00e9\ud83d\ude00""#) == .string("a\"b\\c/d\n\té😀"))
    }

    @Test("rejects malformed documents", arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "+1", "nul", "\"abc", "{\"a\" 1}", "[1 2]",
        "\"\u{01}\"", #""\ud800""#, #""\x""#, "1 2", "NaN", "1e999", "{'a':1}",
    ])
    func malformed(_ text: String) {
        #expect(throws: JSONSyntaxError.self) { try parse(text) }
    }

    @Test("rejects invalid UTF-8 inside strings")
    func invalidUTF8() {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse([0x22, 0xFF, 0xFE, 0x22]) }
    }

    @Test("finds the end of a string, a raw control character or bad UTF-8 wherever it falls")
    func stringScanning() throws {
        // Strings are scanned eight bytes at a time: put each byte at every position
        // of strings of every length up to 40.
        for length in 1...40 {
            for position in 0..<length {
                func text(_ byte: [UInt8]) -> [UInt8] {
                    var body = Array(repeating: UInt8(ascii: "a"), count: length)
                    body.replaceSubrange(position..<(position + 1), with: byte)
                    return [UInt8(ascii: "\"")] + body + [UInt8(ascii: "\"")]
                }
                let plain = String(repeating: "a", count: length)
                // A quote ends the string there; what follows is not JSON.
                #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text([UInt8(ascii: "\"")])) }
                #expect(try JSONParser.parse(Array(text([UInt8(ascii: "\"")]).prefix(position + 2))) == .string(String(plain.prefix(position))))
                // A raw control character is refused at its offset.
                for control: UInt8 in [0x00, 0x01, 0x0A, 0x1F] {
                    let error = #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text([control])) }
                    #expect(error?.offset == position + 1)
                    #expect(error?.message == "control character in a string")
                }
                // Escapes and UTF-8 are decoded; bad UTF-8 is refused.
                #expect(try JSONParser.parse(text(Array(#"\n"#.utf8))) == .string(String(plain.prefix(position)) + "\n" + String(plain.dropFirst(position + 1))))
                #expect(try JSONParser.parse(text(Array("é".utf8))) == .string(String(plain.prefix(position)) + "é" + String(plain.dropFirst(position + 1))))
                #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text([0xFF])) }
                #expect(try JSONParser.parse(text([0x7F])) == .string(String(plain.prefix(position)) + "\u{7f}" + String(plain.dropFirst(position + 1))))
            }
        }
    }

    @Test("rejects nesting deeper than the limit")
    func depth() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONSyntaxError.self) { try parse(deep) }
        let fine = String(repeating: "[", count: 10) + String(repeating: "]", count: 10)
        #expect((try? parse(fine)) != nil)
    }
}

@Suite("JSON writer")
struct JSONWriterTests {
    @Test("writes members in the order given, escaped, without white space")
    func object() {
        var w = JSONWriter()
        w.object { o in
            o.field("z", "a\"b\n\u{01}é")
            o.field("n", -42)
            o.field("d", 2.5)
            o.field("i", 3.0)
            o.field("t", true)
            o.nullField("x")
            o.field("l", strings: ["p", "q"])
        }
        #expect(w.string == #"{"z":"a\"b\n\u0001é","n":-42,"d":2.5,"i":3,"t":true,"x":null,"l":["p","q"]}"#)
    }

    @Test("round-trips parsed values byte for byte")
    func roundTrip() throws {
        let text = #"{"a":[1,2.5,"x",null,true,{"b":{}}],"c":"\u001f"}"#
        var w = JSONWriter()
        w.value(try JSONParser.parse(Array(text.utf8)))
        #expect(w.string == text)
    }

    @Test("escapes exactly the bytes JSON requires, wherever they fall in a string")
    func escapingPositions() throws {
        // The writer finds escapes eight bytes at a time; put each special
        // character at every position of strings of every length up to 40.
        let specials: [Character] = ["\"", "\\", "\n", "\u{01}", "\u{1f}", "\t", "é", "/", " ", "~", "\u{7f}"]
        for length in 1...40 {
            for special in specials {
                for position in 0..<length {
                    var characters = Array(repeating: Character("a"), count: length)
                    characters[position] = special
                    if position + 9 < length { characters[position + 9] = "\"" }
                    let text = String(characters)
                    var w = JSONWriter()
                    w.string(text)
                    #expect(w.bytes == Self.reference(text), "\(text.debugDescription)")
                    #expect(try JSONParser.parse(w.bytes) == .string(text))
                    // Members are written in one copy when short and clean: the same bytes.
                    let long = String(repeating: "x", count: length * 3)
                    var o = JSONWriter()
                    o.object { o in
                        o.field(text, text)
                        o.field("k", text + long)
                        o.field(long, 1)
                        text.utf8.withContiguousStorageIfAvailable { o.field(text, utf8: $0) }
                    }
                    let expected = [UInt8(ascii: "{")] + Self.reference(text) + [UInt8(ascii: ":")] + Self.reference(text)
                        + Array(#","k":"#.utf8) + Self.reference(text + long)
                        + [UInt8(ascii: ",")] + Self.reference(long) + Array(":1,".utf8)
                        + Self.reference(text) + [UInt8(ascii: ":")] + Self.reference(text) + [UInt8(ascii: "}")]
                    #expect(o.bytes == expected, "\(text.debugDescription)")
                }
            }
        }
    }

    /// JSON string escaping one byte at a time, as the writer documents it.
    static func reference(_ text: String) -> [UInt8] {
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "\""): out += Array(#"\""#.utf8)
            case UInt8(ascii: "\\"): out += Array(#"\\"#.utf8)
            case 0x0A: out += Array(#"\n"#.utf8)
            case 0x0D: out += Array(#"\r"#.utf8)
            case 0x09: out += Array(#"\t"#.utf8)
            case 0x08: out += Array(#"\b"#.utf8)
            case 0x0C: out += Array(#"\f"#.utf8)
            case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(b >> 4)], hex[Int(b & 0x0F)]]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    @Test("writes extreme integers", arguments: [Int.min + 1, -1, 0, 9, 10, Int.max])
    func integers(_ value: Int) {
        var w = JSONWriter()
        w.int(value)
        #expect(w.string == String(value))
    }
}
