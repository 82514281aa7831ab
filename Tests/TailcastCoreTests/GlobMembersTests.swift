import Foundation
import Testing

@testable import TailcastCore

/// Which files a glob follows: no disk.
@Suite struct GlobMembersTests {
    func info(_ inode: UInt64, _ size: Int64 = 10) -> FileInfo {
        FileInfo(identity: FileIdentity(device: 1, inode: inode), size: size)
    }

    func id(_ inode: UInt64) -> FileIdentity { FileIdentity(device: 1, inode: inode) }

    func starts(_ out: [(path: String, start: FileFollower.Start)]) -> [String: FileFollower.Start] {
        Dictionary(uniqueKeysWithValues: out.map { ($0.path, $0.start) })
    }

    @Test func firstScanStartsAtTheEndLaterFilesFromTheirStart() {
        var g = GlobMembers(saved: nil)
        let first = g.scanned([("/l/a.log", info(1)), ("/l/b.log", info(2))], open: [])
        #expect(starts(first) == ["/l/a.log": .atEnd, "/l/b.log": .atEnd])
        g.added("/l/a.log", id: 1)
        g.added("/l/b.log", id: 2)
        let later = g.scanned([("/l/a.log", info(1)), ("/l/c.log", info(3))], open: [])
        #expect(starts(later) == ["/l/c.log": .fromStart])
    }

    @Test func rotatedFileMatchedAgainIsNotReadTwice() {
        var g = GlobMembers(saved: nil)
        _ = g.scanned([("/l/app.log", info(1))], open: [])
        g.added("/l/app.log", id: 1)
        // app.log was renamed to app.log.1 (still drained by the app.log member), a new app.log exists.
        #expect(g.scanned([("/l/app.log.1", info(1, 80))], open: [id(1), id(2)]).isEmpty)
        g.closed(ClosedFile(identity: id(1), offset: 80, linked: true))
        #expect(
            starts(g.scanned([("/l/app.log.1", info(1, 80))], open: [id(2)]))
                == ["/l/app.log.1": .resume(id(1), offset: 80, publishedTo: 80)])
    }

    @Test func fileThatStopsMatchingContinuesWhenItMatchesAgain() {
        var g = GlobMembers(saved: nil)
        _ = g.scanned([("/l/b.log", info(2))], open: [])
        g.added("/l/b.log", id: 1)
        // Renamed to b.old (no match): the member drains it, reports missing, closes it, ends.
        g.closed(ClosedFile(identity: id(2), offset: 50, linked: true))
        g.ended("/l/b.log")
        #expect(g.members.isEmpty)
        #expect(
            starts(g.scanned([("/l/b2.log", info(2, 60))], open: []))
                == ["/l/b2.log": .resume(id(2), offset: 50, publishedTo: 50)])
    }

    @Test func renamedFileThatShrankIsReadFromItsStart() {
        var g = GlobMembers(saved: nil)
        _ = g.scanned([], open: [])
        g.closed(ClosedFile(identity: id(2), offset: 50, linked: true))
        #expect(starts(g.scanned([("/l/b.log", info(2, 40))], open: [])) == ["/l/b.log": .fromStart])
    }

    @Test func deletedFileWhoseInodeIsReusedIsReadFromItsStart() {
        var g = GlobMembers(saved: nil)
        _ = g.scanned([("/l/a.log", info(1)), ("/l/b.log", info(2)), ("/l/k.log", info(3))], open: [])
        for (i, p) in ["/l/a.log", "/l/b.log", "/l/k.log"].enumerated() { g.added(p, id: i + 1) }
        // b.log deleted: its member reports missing and closes it (no name left), then ends.
        g.closed(ClosedFile(identity: id(2), offset: 90, linked: false))
        g.ended("/l/b.log")
        // A new b.log with ten lines on the freed inode.
        #expect(
            starts(g.scanned([("/l/a.log", info(1)), ("/l/b.log", info(2, 100)), ("/l/k.log", info(3))], open: [id(1), id(3)]))
                == ["/l/b.log": .fromStart])
        #expect(g.rememberedCount == 0)
    }

    @Test func restartMatchesSavedFilesByIdentity() {
        var g = GlobMembers(saved: [
            SavedFile(path: "/l/a.log", identity: id(1), offset: 10),
            SavedFile(path: "/l/app.log", identity: id(5), offset: 30),
        ])
        let out = g.scanned(
            [
                ("/l/a.log", info(1, 15)), ("/l/app.log", info(6, 3)), ("/l/app.log.1", info(5, 30)),
                ("/l/new.log", info(7, 8)),
            ], open: [])
        #expect(
            starts(out) == [
                "/l/a.log": .resume(id(1), offset: 10, publishedTo: 10),
                "/l/app.log": .fromStart,  // its old file is app.log.1 now
                "/l/app.log.1": .resume(id(5), offset: 30, publishedTo: 30),
                "/l/new.log": .fromStart,  // appeared while tailcast was down
            ])
    }

    @Test func restartWithTheSavedFileRotatedOutOfTheMatchSearchesForIt() {
        var g = GlobMembers(saved: [SavedFile(path: "/l/app.log", identity: id(5), offset: 30)])
        #expect(
            starts(g.scanned([("/l/app.log", info(6, 3))], open: []))
                == ["/l/app.log": .resume(id(5), offset: 30, publishedTo: 30)])
    }

    @Test func thousandsOfFiles() {
        var g = GlobMembers(saved: nil)
        let found = (0..<5000).map { (path: "/l/f\($0).log", info: info(UInt64($0) + 1)) }
        let clock = ContinuousClock()
        let t0 = clock.now
        let first = g.scanned(found, open: [])
        #expect(first.count == 5000 && first.allSatisfy { $0.start == .atEnd })
        for (i, f) in first.enumerated() { g.added(f.path, id: i) }
        #expect(g.scanned(found, open: []).isEmpty)
        for i in 0..<5000 { g.closed(ClosedFile(identity: id(UInt64(i) + 10_000), offset: 1, linked: true)) }
        #expect(g.rememberedCount <= GlobMembers.maxRemembered)
        #expect(clock.now - t0 < .seconds(2))
    }
}

@Suite struct SavedPositionsTests {
    func entry(epoch: String = "k3f9a2", nextSeq: String = "301", offset: String = "120") -> String {
        #"{"epoch":"\#(epoch)","nextSeq":\#(nextSeq),"device":1,"inode":2,"offset":\#(offset)}"#
    }

    @Test func validEntriesLoad() {
        let (entries, rejected) = SavedPositions.decode(Data("{\"app\":\(entry())}".utf8))
        #expect(rejected.isEmpty)
        #expect(entries["app"] == SavedPosition(epoch: "k3f9a2", nextSeq: 301, device: 1, inode: 2, offset: 120))
    }

    @Test func outOfRangeEntriesAreRejectedOneByOne() {
        let json =
            "{"
            + [
                "\"good\":\(entry())",
                "\"huge\":\(entry(nextSeq: "18446744073709551615"))",
                "\"over53\":\(entry(nextSeq: "9007199254740992"))",
                "\"zero\":\(entry(nextSeq: "0"))",
                "\"negativeSeq\":\(entry(nextSeq: "-1"))",
                "\"negativeOffset\":\(entry(offset: "-5"))",
                "\"badEpoch\":\(entry(epoch: "has space"))",
                "\"longEpoch\":\(entry(epoch: "abcdefghijklmnopq"))",
                "\"emptyEpoch\":\(entry(epoch: ""))",
                "\"missing\":{\"epoch\":\"a\"}",
            ].joined(separator: ",") + "}"
        let (entries, rejected) = SavedPositions.decode(Data(json.utf8))
        #expect(Array(entries.keys) == ["good"])
        #expect(
            Set(rejected.compactMap(\.0)) == [
                "huge", "over53", "zero", "negativeSeq", "negativeOffset", "badEpoch",
                "longEpoch", "emptyEpoch", "missing",
            ])
        #expect(rejected.allSatisfy { !$0.1.isEmpty })
    }

    @Test func largestExactSeqIsAccepted() {
        let (entries, _) = SavedPositions.decode(Data("{\"app\":\(entry(nextSeq: "9007199254740991"))}".utf8))
        #expect(entries["app"]?.nextSeq == SavedPosition.maxSeq)
    }

    @Test func unparsableFileIsRejectedWhole() {
        let (entries, rejected) = SavedPositions.decode(Data("{not json".utf8))
        #expect(entries.isEmpty)
        #expect(rejected.count == 1 && rejected[0].0 == nil)
    }

    @Test func globEntryWithNegativeFileOffsetIsRejected() {
        let json =
            #"{"web":{"epoch":"e","nextSeq":5,"device":0,"inode":0,"offset":0,"files":[{"path":"/l/a.log","device":1,"inode":2,"offset":-1}]}}"#
        let (entries, rejected) = SavedPositions.decode(Data(json.utf8))
        #expect(entries.isEmpty && rejected.count == 1)
    }
}
