import Foundation

/// Writes a file in `state_dir` atomically: a temporary file renamed over the old one, so a
/// crash leaves either the old content or the new, never a torn file.
enum StateFile {
    /// Writes `value` as JSON to `directory/name`; returns a message when it could not.
    static func write<T: Encodable>(_ value: T, directory: String, name: String) -> String? {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let target = directory + "/" + name
            let tmp = target + ".tmp"
            guard FileManager.default.createFile(atPath: tmp, contents: try JSONEncoder().encode(value)) else {
                return "cannot write \(tmp)"
            }
            guard rename(tmp, target) == 0 else { return "cannot rename \(tmp) to \(target): errno \(errno)" }
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Reads `directory/name` as JSON, or `nil` when it is missing or unreadable.
    static func read<T: Decodable>(_ type: T.Type, directory: String, name: String) -> T? {
        guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { return nil }
        return try? JSONDecoder().decode(type, from: data)
    }
}
