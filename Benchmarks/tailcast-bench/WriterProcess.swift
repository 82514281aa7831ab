import Foundation

/// Runs `tailcast-bench write` as a child process (the writer is a separate process from the
/// clients, as a user's is) and waits for it without blocking a thread of the cooperative pool.
enum WriterProcess {
    struct Failed: Error, CustomStringConvertible {
        let status: Int32
        let output: String
        var description: String { "writer exited with status \(status): \(output)" }
    }

    /// Returns the number of lines the writer wrote (its `written=N`).
    static func run(file: String, lines: Int, rate: Int, everyMs: Int = 0, tags: Int, timeout: Int) async throws -> Int {
        let process = Process()
        process.executableURL = URL(
            fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        process.arguments = [
            "write", "--file", file, "--lines", String(lines), "--rate", String(rate), "--tags", String(tags), "--timeout", String(timeout),
            "--every-ms", String(everyMs),
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard status == 0, let range = output.range(of: "written="),
            let written = Int(output[range.upperBound...].prefix(while: \.isNumber))
        else {
            throw Failed(status: status, output: output)
        }
        return written
    }
}
