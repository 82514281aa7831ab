import Testing

@testable import TailcastCore

/// The root table of a document that must parse without errors.
private func doc(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> TOMLTable {
    let (d, errors) = TOMLDocument.parse(text)
    #expect(errors.isEmpty, "unexpected errors: \(errors.map { "\($0.line): \($0.message)" })", sourceLocation: sourceLocation)
    return d.root
}

/// The value of `v = TEXT`.
private func value(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> TOMLValue? {
    doc("v = " + text, sourceLocation: sourceLocation)["v"]?.value
}

/// The errors of a document.
private func errors(_ text: String) -> [ConfigError] { TOMLDocument.parse(text).1 }

/// The line of the first error, checking that there is one and that its message holds `words`.
private func errorLine(_ text: String, _ words: String, sourceLocation: SourceLocation = #_sourceLocation) -> Int? {
    let e = errors(text)
    #expect(!e.isEmpty, "accepted invalid TOML: \(text)", sourceLocation: sourceLocation)
    if let first = e.first {
        #expect(first.message.contains(words), "\(first.message) does not say \(words)", sourceLocation: sourceLocation)
    }
    return e.first?.line
}

private func date(_ y: Int, _ m: Int, _ d: Int) -> TOMLDateTime.LocalDate { .init(year: y, month: m, day: d) }
private func time(_ h: Int, _ m: Int, _ s: Int, _ ns: Int = 0) -> TOMLDateTime.LocalTime {
    .init(hour: h, minute: m, second: s, nanosecond: ns)
}

/// One test per construct of TOML 1.0 (https://toml.io/en/v1.0.0), in the spec's order.
@Suite struct TOMLDocumentTests {
    // MARK: Comment

    @Test func comments() {
        let t = doc("# full line\nkey = \"value\"  # end of line\nanother = \"# not a comment\"\n#last")
        #expect(t["key"]?.value == .string("value"))
        #expect(t["another"]?.value == .string("# not a comment"))
        #expect(errorLine("a = 1\n# bad \u{7} bell\n", "control character U+0007") == 2)
        #expect(errorLine("# del \u{7F}\n", "U+007F") == 1)
    }

    // MARK: Key/Value Pair

    @Test func keyValuePairs() {
        #expect(doc("key = \"value\"")["key"]?.line == 1)
        #expect(doc("\n\n  key\t=\t1\n")["key"]?.line == 3)
        #expect(errorLine("key = # INVALID\n", "bad value for key") == 1)
        #expect(errorLine("first = \"Tom\" last = \"Preston-Werner\"\n", "unexpected text after the value of first") == 1)
        #expect(errorLine("x\n", "no =") == 1)
        #expect(errorLine("a =\n1\n", "bad value for a") == 1)
    }

    // MARK: Keys

    @Test func bareKeys() {
        let t = doc("key = 1\nbare_key = 2\nbare-key = 3\n1234 = 4\n")
        #expect(t.entries.map(\.key) == ["key", "bare_key", "bare-key", "1234"])
        #expect(errorLine("k€y = 1\n", "expected") == 1)
    }

    @Test func quotedKeys() {
        let t = doc(
            #"""
            "127.0.0.1" = "value"
            "character encoding" = "value"
            "ʎǝʞ" = "value"
            'key2' = "value"
            'quoted "value"' = "value"
            "" = "blank"
            "tab\tkey" = 1
            """#)
        #expect(t.entries.map(\.key) == ["127.0.0.1", "character encoding", "ʎǝʞ", "key2", "quoted \"value\"", "", "tab\tkey"])
        #expect(errorLine("= \"no key name\"\n", "expected a key") == 1)
        #expect(errorLine("\"\"\"key\"\"\" = 1\n", "multi-line") == 1)
    }

    @Test func dottedKeys() {
        let t = doc(
            #"""
            name = "Orange"
            physical.color = "orange"
            physical.shape = "round"
            site."google.com" = true
            fruit . flavor = "banana"
            3.14159 = "pi"
            """#)
        #expect(t.value("physical", "color") == .string("orange"))
        #expect(t.value("physical", "shape") == .string("round"))
        #expect(t.value("site", "google.com") == .bool(true))
        #expect(t.value("fruit", "flavor") == .string("banana"))
        #expect(t.value("3", "14159") == .string("pi"))
        #expect(t["physical"]?.line == 2)
        if case .table(let physical)? = t["physical"]?.value {
            #expect(physical.entries.map(\.line) == [2, 3])
        } else {
            Issue.record("physical is not a table")
        }
    }

    @Test func dottedKeysOutOfOrder() {
        let t = doc("apple.type = \"fruit\"\norange.type = \"fruit\"\napple.skin = \"thin\"\norange.skin = \"thick\"\n")
        #expect(t.value("apple", "skin") == .string("thin"))
        #expect(t.value("orange", "type") == .string("fruit"))
    }

    @Test func keysDefinedTwice() {
        let e = errors("name = \"Tom\"\nname = \"Pradyun\"\n")
        #expect(e.map(\.line) == [2])
        #expect(e.first?.message == "key name is defined twice (first on line 1)")
        #expect(errorLine("spelling = \"favorite\"\n\"spelling\" = \"favourite\"\n", "defined twice") == 2)
        #expect(errorLine("fruit.apple = 1\nfruit.apple.smooth = true\n", "already holds a value (line 1)") == 2)
        #expect(errorLine("a = {}\na.b = 1\n", "inline table") == 2)
    }

    // MARK: String

    @Test func basicStrings() {
        #expect(
            value(#""I'm a string. \"You can quote me\". Name\tJos\u00E9\nLocation\tSF.""#)
                == .string("I'm a string. \"You can quote me\". Name\tJos\u{E9}\nLocation\tSF."))
        #expect(value(#""\b\t\n\f\r\"\\""#) == .string("\u{08}\t\n\u{0C}\r\"\\"))
        #expect(value(#""\u00e9 \U0001F600 \u0000""#) == .string("\u{E9} \u{1F600} \u{0}"))
        #expect(value("\"tab\there\"") == .string("tab\there"))
    }

    @Test func basicStringErrors() {
        #expect(errorLine("a = 1\nb = \"\\e\"\n", "unknown escape \\e") == 2)
        #expect(errorLine("b = \"\\x41\"\n", "unknown escape") == 1)
        #expect(errorLine("b = \"\\uD800\"\n", "not a Unicode scalar") == 1)
        #expect(errorLine("b = \"\\U00110000\"\n", "not a Unicode scalar") == 1)
        #expect(errorLine("b = \"\\u12\"\n", "4 hex digits") == 1)
        #expect(errorLine("b = \"open\nc = 1\n", "unterminated") == 1)
        #expect(errorLine("b = \"bell \u{7}\"\n", "control character U+0007") == 1)
        #expect(errorLine("b = \"nul \u{0}\"\n", "control character U+0000") == 1)
    }

    @Test func multiLineBasicStrings() {
        #expect(value("\"\"\"\nRoses are red\nViolets are blue\"\"\"") == .string("Roses are red\nViolets are blue"))
        #expect(value("\"\"\"\r\nOne\r\nTwo\"\"\"") == .string("One\nTwo"))
        let folded = "\"\"\"\nThe quick brown \\\n\n\n  fox jumps over \\\n    the lazy dog.\"\"\""
        #expect(value(folded) == .string("The quick brown fox jumps over the lazy dog."))
        let trailingSpace = "\"\"\"\\   \n  joined\\\t\r\n  \"\"\""
        #expect(value(trailingSpace) == .string("joined"))
        #expect(
            value("\"\"\"Here are two quotation marks: \"\". Simple enough.\"\"\"")
                == .string("Here are two quotation marks: \"\". Simple enough."))
        #expect(
            value("\"\"\"Here are fifteen quotation marks: \"\"\\\"\"\"\\\"\"\"\\\"\"\"\\\"\"\"\\\".\"\"\"")
                == .string("Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\"."))
        #expect(
            value("\"\"\"\"This,\" she said, \"is just a pointless statement.\"\"\"\"")
                == .string("\"This,\" she said, \"is just a pointless statement.\""))
        #expect(value("\"\"\"tab\tand \\u00e9\"\"\"") == .string("tab\tand \u{E9}"))
        // The line after a multi-line string counts its lines.
        #expect(doc("a = \"\"\"\none\ntwo\"\"\"\nb = 1\n")["b"]?.line == 4)
    }

    @Test func multiLineBasicStringErrors() {
        #expect(errorLine("a = \"\"\"x\"\"\"\"\"\"\n", "quotes in a row") == 1)
        #expect(errorLine("a = \"\"\"\nnever closed\n", "unterminated multi-line string (opened on line 1)") == 3)
        #expect(errorLine("a = \"\"\"\\ x\"\"\"\n", "unknown escape") == 1)
        #expect(errorLine("a = \"\"\"\nbell\u{7}\"\"\"\n", "control character") == 2)
        #expect(errorLine("a = \"\"\"x\ry\"\"\"\n", "control character U+000D") == 1)
    }

    @Test func literalStrings() {
        #expect(value(#"'C:\Users\nodejs\templates'"#) == .string(#"C:\Users\nodejs\templates"#))
        #expect(value(#"'\\ServerX\admin$\system32\'"#) == .string(#"\\ServerX\admin$\system32\"#))
        #expect(value(#"'Tom "Dubs" Preston-Werner'"#) == .string(#"Tom "Dubs" Preston-Werner"#))
        #expect(value("'<\\i\\c*\\s*>'") == .string("<\\i\\c*\\s*>"))
        #expect(errorLine("a = 'no\nb = 1\n", "unterminated") == 1)
        #expect(errorLine("a = 'bell \u{7}'\n", "control character") == 1)
    }

    @Test func multiLineLiteralStrings() {
        #expect(value("'''I [dw]on't need \\d{2} apples'''") == .string("I [dw]on't need \\d{2} apples"))
        let lines = "'''\nThe first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n'''"
        #expect(value(lines) == .string("The first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n"))
        #expect(
            value("'''Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\"'''")
                == .string("Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\""))
        #expect(value("''''That,' she said, 'is still pointless.''''") == .string("'That,' she said, 'is still pointless.'"))
        #expect(value("'''no \\escape\\'''") == .string("no \\escape\\"))
        #expect(errorLine("a = '''x''''''\n", "quotes in a row") == 1)
        #expect(errorLine("a = '''\nopen\n", "unterminated") == 3)
    }

    // MARK: Integer

    @Test func decimalIntegers() {
        #expect(value("+99") == .integer(99))
        #expect(value("42") == .integer(42))
        #expect(value("0") == .integer(0))
        #expect(value("-17") == .integer(-17))
        #expect(value("+0") == .integer(0))
        #expect(value("-0") == .integer(0))
        #expect(value("1_000") == .integer(1000))
        #expect(value("5_349_221") == .integer(5_349_221))
        #expect(value("53_49_221") == .integer(5_349_221))
        #expect(value("1_2_3_4_5") == .integer(12345))
        #expect(value("9223372036854775807") == .integer(Int.max))
        #expect(value("-9223372036854775808") == .integer(Int.min))
    }

    @Test func hexOctalBinaryIntegers() {
        #expect(value("0xDEADBEEF") == .integer(0xDEAD_BEEF))
        #expect(value("0xdeadbeef") == .integer(0xDEAD_BEEF))
        #expect(value("0xdead_beef") == .integer(0xDEAD_BEEF))
        #expect(value("0x186A0") == .integer(100_000))
        #expect(value("0o01234567") == .integer(0o1234567))
        #expect(value("0o755") == .integer(0o755))
        #expect(value("0b11010110") == .integer(0b11010110))
        #expect(value("0x7FFFFFFFFFFFFFFF") == .integer(Int.max))
    }

    @Test func integerErrors() {
        #expect(errorLine("a = 01\n", "leading zeros") == 1)
        #expect(errorLine("a = -01\n", "leading zeros") == 1)
        #expect(errorLine("a = 0_1\n", "leading zeros") == 1)
        #expect(errorLine("a = 1__000\n", "_ only between two digits") == 1)
        #expect(errorLine("a = 1_\n", "_ only between two digits") == 1)
        #expect(errorLine("a = _1\n", "expected a value") == 1)
        #expect(errorLine("a = +0x1\n", "take no sign") == 1)
        #expect(errorLine("a = 0x\n", "not a valid hexadecimal integer") == 1)
        #expect(errorLine("a = 0xG1\n", "not a valid hexadecimal integer") == 1)
        #expect(errorLine("a = 0o8\n", "not a valid octal integer") == 1)
        #expect(errorLine("a = 0b102\n", "not a valid binary integer") == 1)
        #expect(errorLine("a = 0X10\n", "not a number") == 1)
        #expect(errorLine("a = 9223372036854775808\n", "out of range") == 1)
        #expect(errorLine("a = 0x8000000000000000\n", "out of range") == 1)
        #expect(errorLine("a = 12abc\n", "not a number") == 1)
    }

    // MARK: Float

    @Test func floats() {
        #expect(value("+1.0") == .float(1.0))
        #expect(value("3.1415") == .float(3.1415))
        #expect(value("-0.01") == .float(-0.01))
        #expect(value("5e+22") == .float(5e+22))
        #expect(value("1e06") == .float(1e6))
        #expect(value("-2E-2") == .float(-2e-2))
        #expect(value("6.626e-34") == .float(6.626e-34))
        #expect(value("224_617.445_991_228") == .float(224_617.445_991_228))
        #expect(value("-0.0") == .float(-0.0))
        #expect(value("1e1_0") == .float(1e10))
        #expect(value("inf") == .float(.infinity))
        #expect(value("+inf") == .float(.infinity))
        #expect(value("-inf") == .float(-.infinity))
        for nan in ["nan", "+nan", "-nan"] {
            guard case .float(let d)? = value(nan) else {
                Issue.record("\(nan) is not a float")
                continue
            }
            #expect(d.isNaN)
        }
    }

    @Test func floatErrors() {
        #expect(errorLine("a = .7\n", "expected a value") == 1)
        #expect(errorLine("a = 7.\n", "digit must follow the decimal point") == 1)
        #expect(errorLine("a = 3.e+20\n", "digit must follow the decimal point") == 1)
        #expect(errorLine("a = 1e\n", "exponent needs digits") == 1)
        #expect(errorLine("a = 1.5_\n", "decimal point") == 1)
        #expect(errorLine("a = 01.5\n", "leading zeros") == 1)
        #expect(errorLine("a = infinity\n", "not a number") == 1)
        #expect(errorLine("a = NaN\n", "expected a value") == 1)
    }

    // MARK: Boolean

    @Test func booleans() {
        #expect(value("true") == .bool(true))
        #expect(value("false") == .bool(false))
        #expect(errorLine("a = True\n", "expected a value") == 1)
        #expect(errorLine("a = truex\n", "unexpected text after the value of a") == 1)
    }

    // MARK: Date and time

    @Test func offsetDateTimes() {
        #expect(value("1979-05-27T07:32:00Z") == .dateTime(.init(date: date(1979, 5, 27), time: time(7, 32, 0), offsetMinutes: 0)))
        #expect(value("1979-05-27T00:32:00-07:00") == .dateTime(.init(date: date(1979, 5, 27), time: time(0, 32, 0), offsetMinutes: -420)))
        #expect(
            value("1979-05-27T00:32:00.999999+05:30")
                == .dateTime(.init(date: date(1979, 5, 27), time: time(0, 32, 0, 999_999_000), offsetMinutes: 330)))
        #expect(value("1979-05-27 07:32:00z") == .dateTime(.init(date: date(1979, 5, 27), time: time(7, 32, 0), offsetMinutes: 0)))
        #expect(value("1979-05-27t07:32:00Z").map { "\($0)" } == "dateTime(1979-05-27T07:32:00Z)")
    }

    @Test func localDateTimesDatesAndTimes() {
        #expect(value("1979-05-27T07:32:00") == .dateTime(.init(date: date(1979, 5, 27), time: time(7, 32, 0))))
        #expect(value("1979-05-27 00:32:00.999999") == .dateTime(.init(date: date(1979, 5, 27), time: time(0, 32, 0, 999_999_000))))
        #expect(value("1979-05-27") == .dateTime(.init(date: date(1979, 5, 27))))
        #expect(value("07:32:00") == .dateTime(.init(time: time(7, 32, 0))))
        #expect(value("00:32:00.1234567891") == .dateTime(.init(time: time(0, 32, 0, 123_456_789))))
        #expect(value("2000-02-29") == .dateTime(.init(date: date(2000, 2, 29))))
        #expect(value("1990-12-31T23:59:60Z") != nil)  // a leap second
        // A date, then a comment: not a date-time.
        #expect(doc("d = 1979-05-27 # birthday\n")["d"]?.value == .dateTime(.init(date: date(1979, 5, 27))))
        #expect(
            TOMLDateTime(date: date(1979, 5, 27), time: time(0, 32, 0, 500_000_000), offsetMinutes: -420).description
                == "1979-05-27T00:32:00.5-07:00")
    }

    @Test func dateTimeErrors() {
        #expect(errorLine("a = 1979-13-01\n", "not a valid date-time") == 1)
        #expect(errorLine("a = 1979-02-30\n", "not a valid date-time") == 1)
        #expect(errorLine("a = 1900-02-29\n", "not a valid date-time") == 1)
        #expect(errorLine("a = 1979-05-27T25:00:00\n", "not a valid date-time") == 1)
        #expect(errorLine("a = 1979-05-27T07:32\n", "not a valid date-time") == 1)
        #expect(errorLine("a = 1979-05-27T07:32:00+7:00\n", "not a valid date-time") == 1)
        #expect(errorLine("a = 1979-05-27T07:32:00.\n", "not a valid date-time") == 1)
        #expect(errorLine("a = 07:32\n", "not a valid local time") == 1)
        #expect(errorLine("a = 07:60:00\n", "not a valid local time") == 1)
        #expect(errorLine("a = 1979-5-27\n", "not a number") == 1)
    }

    // MARK: Array

    @Test func arrays() {
        #expect(value("[ 1, 2, 3 ]") == .array([.integer(1), .integer(2), .integer(3)]))
        #expect(value(#"[ "red", "yellow", "green" ]"#) == .array([.string("red"), .string("yellow"), .string("green")]))
        #expect(
            value("[ [ 1, 2 ], [3, 4, 5] ]")
                == .array([.array([.integer(1), .integer(2)]), .array([.integer(3), .integer(4), .integer(5)])]))
        #expect(
            value(#"[ "all", 'strings', """are the same""", '''type''' ]"#)
                == .array([.string("all"), .string("strings"), .string("are the same"), .string("type")]))
        #expect(value("[ 0.1, 0.2, 0.5, 1, 2, 5 ]")?.typeName == "an array")
        #expect(
            value(#"[ { x = 1, y = 2, z = 3 }, { x = 7, y = 8, z = 9 } ]"#).map { v in
                if case .array(let a) = v { a.count } else { 0 }
            } == 2)
        #expect(value("[]") == .array([]))
        #expect(value("[ ]") == .array([]))
    }

    @Test func mixedTypeArrays() {
        let v = value(#"[ [ 1, 2 ], ["a", "b", "c"], 1.5, true, 1979-05-27, { a = 1 } ]"#)
        guard case .array(let a)? = v else {
            Issue.record("not an array")
            return
        }
        #expect(a.items.map(\.typeName) == ["an array", "an array", "a float", "a boolean", "a date-time", "a table"])
    }

    @Test func multiLineArraysWithComments() {
        let t = doc(
            """
            integers3 = [
              1, # one
              2,
            # a whole-line comment
              3,   # trailing comma next
            ]
            after = true
            """)
        guard case .array(let a)? = t["integers3"]?.value else {
            Issue.record("not an array")
            return
        }
        #expect(a == [.integer(1), .integer(2), .integer(3)])
        #expect(a.lines == [2, 3, 5])
        #expect(t["after"]?.line == 7)
    }

    @Test func arrayErrors() {
        #expect(errorLine("a = [1,,2]\n", "expected a value") == 1)
        #expect(errorLine("a = [,]\n", "expected a value") == 1)
        #expect(errorLine("a = [1 2]\n", "expected , or ]") == 1)
        #expect(errorLine("a = [\n1,\n", "unterminated array (opened on line 1)") == 3)
        #expect(errorLine("a = [ # \u{1}\n]\n", "control character U+0001 is not allowed in a comment") == 1)
        let deep = "a = " + String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(errorLine(deep, "nest more than") == 1)
    }

    // MARK: Table

    @Test func tables() {
        let t = doc(
            """
            top = 1
            [table-1]
            key1 = "some string"
            key2 = 123

            [table-2]
            key1 = "another string"
            key2 = 456
            [empty]
            """)
        #expect(t.entries.map(\.key) == ["top", "table-1", "table-2", "empty"])
        #expect(t.entries.map(\.line) == [1, 2, 6, 9])
        #expect(t.value("table-1", "key2") == .integer(123))
        #expect(t.value("table-2", "key1") == .string("another string"))
        #expect(t.value("empty") == .table(TOMLTable(line: 9, entries: [])))
    }

    @Test func dottedAndQuotedTableHeaders() {
        let t = doc(
            """
            [dog."tater.man"]
            type.name = "pug"
            [a.b.c]
            x = 1
            [ d.e.f ]
            [ g .  h  . i ]
            [ j . "ʞ" . 'l' ]
            """)
        #expect(t.value("dog", "tater.man", "type", "name") == .string("pug"))
        #expect(t.value("a", "b", "c", "x") == .integer(1))
        #expect(t.value("d", "e", "f") != nil)
        #expect(t.value("g", "h", "i") != nil)
        #expect(t.value("j", "ʞ", "l") != nil)
    }

    @Test func superTablesDefinedLater() {
        let t = doc("[x.y.z.w]\na = 1\n[x]\nb = 2\n")
        #expect(t.value("x", "y", "z", "w", "a") == .integer(1))
        #expect(t.value("x", "b") == .integer(2))
        if case .table(let x)? = t["x"]?.value { #expect(x.line == 3) }
    }

    @Test func tablesDefinedTwice() {
        let e = errors("[fruit]\napple = \"red\"\n\n[fruit]\norange = \"orange\"\n")
        #expect(e.map(\.line) == [4])
        #expect(e.first?.message == "table [fruit] is defined twice (first on line 1)")
        #expect(e.first?.key == "fruit")
        #expect(errorLine("[fruit]\napple = \"red\"\n[fruit.apple]\n", "already holds a value (line 2)") == 3)
        #expect(errorLine("[a.b]\n[a]\n[a.b]\n", "defined twice") == 3)
    }

    @Test func dottedKeysAndHeaders() {
        let t = doc(
            """
            [fruit]
            apple.color = "red"
            apple.taste.sweet = true
            [fruit.apple.texture]
            smooth = true
            """)
        #expect(t.value("fruit", "apple", "texture", "smooth") == .bool(true))
        #expect(t.value("fruit", "apple", "taste", "sweet") == .bool(true))
        #expect(errorLine("[fruit]\napple.color = \"red\"\n[fruit.apple]\n", "already defined by dotted keys on line 2") == 3)
        #expect(errorLine("[fruit]\napple.taste.sweet = true\n[fruit.apple.taste]\n", "dotted keys") == 3)
        #expect(errorLine("[a.b]\nz = 1\n[a]\nb.y = 2\n", "cannot add to it") == 4)
        // A table made only as a header's prefix is defined by the first dotted key into it.
        #expect(doc("[a.b.c]\nz = 1\n[a]\nb.y = 2\n").value("a", "b", "y") == .integer(2))
        #expect(errorLine("[a.b.c]\n[a]\nb.y = 2\n[a.b]\n", "dotted keys on line 3") == 4)
        #expect(errorLine("[a.b.c]\n[a]\nb.c.d = 2\n", "cannot add to it") == 3)
        #expect(errorLine("server.listen = \"x\"\n[server]\n", "dotted keys") == 2)
    }

    @Test func headerErrors() {
        #expect(errorLine("[server\n", "expected ] to close the header [server]") == 1)
        #expect(errorLine("[]\n", "expected a key") == 1)
        #expect(errorLine("[a] b = 1\n", "unexpected text after the table header") == 1)
        #expect(errorLine("[[a]\n", "expected ]] to close") == 1)
        #expect(errorLine("[ [a] ]\n", "expected a key") == 1)
        // Keys under a bad header are not reported again, nor put anywhere.
        let (d, e) = TOMLDocument.parse("[a.]\nx = 1\n")
        #expect(e.count == 1)
        #expect(d.root.entries.isEmpty)
    }

    // MARK: Inline Table

    @Test func inlineTables() {
        let t = doc(
            #"""
            name = { first = "Tom", last = "Preston-Werner" }
            point = { x = 1, y = 2 }
            animal = { type.name = "pug" }
            empty = {}
            nested = { a = { b = [1, 2] }, "q k" = 'v' }
            multi = { list = [
              1,
              2,
            ] }
            """#)
        #expect(t.value("name", "last") == .string("Preston-Werner"))
        #expect(t.value("point", "y") == .integer(2))
        #expect(t.value("animal", "type", "name") == .string("pug"))
        #expect(t.value("empty") == .table(TOMLTable(line: 0, entries: [])))
        #expect(t.value("nested", "a", "b") == .array([.integer(1), .integer(2)]))
        #expect(t.value("nested", "q k") == .string("v"))
        #expect(t.value("multi", "list") == .array([.integer(1), .integer(2)]))
        if case .table(let p)? = t["point"]?.value { #expect(p.line == 2) }
    }

    @Test func inlineTableErrors() {
        #expect(errorLine("a = { x = 1, }\n", "no comma after its last") == 1)
        #expect(errorLine("a = { x = 1,\n y = 2 }\n", "must end with } on the line it starts on") == 1)
        #expect(errorLine("a = { x = 1 y = 2 }\n", "expected , or }") == 1)
        #expect(errorLine("a = { x = 1, x = 2 }\n", "key x is defined twice") == 1)
        #expect(errorLine("[product]\ntype = { name = \"Nail\" }\ntype.edible = false\n", "inline table (line 2)") == 3)
        #expect(errorLine("[product]\ntype.name = \"Nail\"\n[product]\n", "defined twice") == 3)
        #expect(errorLine("a = { b = 1 }\n[a.c]\n", "inline table (line 1), which cannot be extended") == 2)
        #expect(errorLine("a = { b = {} }\n[a.b]\n", "inline table") == 2)
    }

    // MARK: Array of Tables

    @Test func arraysOfTables() {
        let t = doc(
            """
            [[products]]
            name = "Hammer"
            sku = 738594937

            [[products]]  # empty table within the array

            [[products]]
            name = "Nail"
            color = "gray"
            """)
        guard case .array(let a)? = t["products"]?.value else {
            Issue.record("not an array")
            return
        }
        #expect(a.count == 3)
        #expect(a.lines == [1, 5, 7])
        #expect(t["products"]?.line == 1)
        #expect(a[1] == .table(TOMLTable(line: 0, entries: [])))
        if case .table(let nail) = a[2] { #expect(nail["color"]?.value == .string("gray")) }
    }

    @Test func nestedArraysOfTables() {
        let t = doc(
            """
            [[fruits]]
            name = "apple"

            [fruits.physical]  # subtable
            color = "red"

            [[fruits.varieties]]  # nested array of tables
            name = "red delicious"

            [[fruits.varieties]]
            name = "granny smith"

            [[fruits]]
            name = "banana"

            [[fruits.varieties]]
            name = "plantain"
            """)
        guard case .array(let fruits)? = t["fruits"]?.value, fruits.count == 2,
            case .table(let apple) = fruits[0], case .table(let banana) = fruits[1]
        else {
            Issue.record("fruits is not an array of two tables")
            return
        }
        #expect(apple.value("physical", "color") == .string("red"))
        guard case .array(let varieties)? = apple["varieties"]?.value else {
            Issue.record("no varieties")
            return
        }
        #expect(
            varieties == [
                .table(TOMLTable(line: 0, entries: [TOMLEntry(key: "name", value: .string("red delicious"), line: 0)])),
                .table(TOMLTable(line: 0, entries: [TOMLEntry(key: "name", value: .string("granny smith"), line: 0)])),
            ])
        #expect(varieties.lines == [7, 10])
        #expect(
            banana.value("varieties")
                == .array([.table(TOMLTable(line: 0, entries: [TOMLEntry(key: "name", value: .string("plantain"), line: 0)]))]))
    }

    @Test func arrayOfTablesErrors() {
        #expect(errorLine("fruits = []\n[[fruits]]\n", "already holds a value (line 1)") == 2)
        #expect(errorLine("[fruit]\n[[fruit]]\n", "is a table (line 1)") == 2)
        #expect(errorLine("[[fruit]]\n[fruit]\n", "array of tables") == 2)
        #expect(errorLine("[[fruits]]\n[fruits.physical]\n[[fruits.physical]]\n", "is a table") == 3)
        #expect(errorLine("[[fruits]]\nname = \"x\"\n[[fruits.varieties]]\n[fruits.varieties]\n", "array of tables") == 4)
        #expect(errorLine("a = [{ b = 1 }]\n[[a]]\n", "already holds a value") == 2)
        #expect(errorLine("a = [{ b = 1 }]\n[a.c]\n", "already holds a value") == 2)
        #expect(errorLine("[[a]]\na.b = 1\n[[a.a]]\n", "is a table") == 3)
    }

    // MARK: Whitespace, newlines and encoding

    @Test func lineEndingsAndByteOrderMark() {
        let crlf = doc("# c\r\n[t]\r\na = 1\r\nb = [\r\n  2,\r\n]\r\n")
        #expect(crlf.value("t", "b") == .array([.integer(2)]))
        if case .table(let t)? = crlf["t"]?.value { #expect(t.entries.map(\.line) == [3, 4]) }
        #expect(doc("\u{FEFF}a = 1\n")["a"]?.value == .integer(1))
        #expect(errorLine("a = 1\rb = 2\n", "carriage return") == 1)
        #expect(errorLine("\r\n\r", "carriage return") == 2)
    }

    @Test func everyErrorIsReportedWithItsLine() {
        let e = errors(
            """
            ok = 1
            a = 01
            b = "\\q"
            ok = 3
            c = [1,,2]
            d = { x = 1, }
            [t
            x = 1
            """)
        #expect(e.map(\.line) == [2, 3, 4, 5, 6, 7])
        #expect(e.map(\.key) == ["a", "b", "ok", "c", "d", "t"])
        #expect(e.allSatisfy { $0.line > 0 && !$0.message.isEmpty })
    }
}
