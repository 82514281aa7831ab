import Foundation
import Testing

@testable import TailcastCore

@Suite struct JournalPositionTests {
    func loaded(_ json: String) -> (JournalPosition?, [String]) {
        let dir = NSTemporaryDirectory() + "/tc-jp-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(FileManager.default.createFile(atPath: dir + "/journal-j.json", contents: Data(json.utf8)))
        var reasons: [String] = []
        let p = JournalPosition.load(directory: dir, source: "j") { path, why in
            #expect(path.hasSuffix("/journal-j.json"))
            reasons.append(why)
        }
        return (p, reasons)
    }

    @Test func aValidPositionLoads() {
        let (p, reasons) = loaded(#"{"epoch":"e1","nextSeq":42,"cursor":"s=abc;i=1"}"#)
        #expect(p == JournalPosition(epoch: "e1", nextSeq: 42, cursor: "s=abc;i=1"))
        #expect(reasons.isEmpty)
    }

    @Test func outOfRangeOrBrokenPositionsAreRejectedWithAReason() {
        for json in [
            #"{"epoch":"e1","nextSeq":18446744073709551615,"cursor":"s=a"}"#,
            #"{"epoch":"e1","nextSeq":0,"cursor":"s=a"}"#,
            #"{"epoch":"bad epoch!","nextSeq":5,"cursor":"s=a"}"#,
            #"{"epoch":"e1","nextSeq":5,"cursor":""}"#,
            #"{"epoch":"e1","nextSeq":-5,"cursor":"s=a"}"#,
            "{not json",
        ] {
            let (p, reasons) = loaded(json)
            #expect(p == nil, "\(json)")
            #expect(reasons.count == 1, "\(json)")
        }
    }
}
