import Foundation
import Hummingbird

/// `/` and the UI's static files (`/ui/NAME`, `/favicon.ico`), served from the binary's
/// resources, or from the folder named by `TAILCAST_UI_DIR` (for working on the UI).
///
/// Promises: files are read once at start; every answer carries a Content-Security-Policy that
/// allows no inline script and no foreign origin.
enum UIRoutes {
    static let contentSecurityPolicy =
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
        + "style-src 'self'; script-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
        + "frame-ancestors 'none'; form-action 'none'"

    static func add(to router: RouterGroup<TailcastRequestContext>, basePath: String) {
        let files = loadFiles()
        for (name, data) in files {
            var data = data
            if name == "index.html", !basePath.isEmpty,
                let html = String(data: data, encoding: .utf8)
            {
                // The UI's URLs are relative: under a path prefix they resolve against it.
                data = Data(html.replacingOccurrences(of: "<head>", with: "<head>\n<base href=\"\(basePath)/\">").utf8)
            }
            let body = ByteBuffer(bytes: data)
            let type = contentType(of: name)
            let response = { @Sendable () -> Response in
                Response(
                    status: .ok,
                    headers: [
                        .contentType: type,
                        .cacheControl: "no-cache",
                        .contentSecurityPolicy: contentSecurityPolicy,
                        .init("X-Content-Type-Options")!: "nosniff",
                        .init("Referrer-Policy")!: "no-referrer",
                    ], body: .init(byteBuffer: body))
            }
            var paths = ["/ui/\(name)"]
            if name == "index.html" { paths.append("/") }
            if name == "favicon.svg" { paths.append("/favicon.ico") }
            for path in paths {
                router.get(RouterPath(path)) { _, _ in response() }
                router.head(RouterPath(path)) { _, _ in response() }
            }
        }
    }

    private static func loadFiles() -> [(String, Data)] {
        let directory: URL?
        if let dir = ProcessInfo.processInfo.environment["TAILCAST_UI_DIR"], !dir.isEmpty {
            directory = URL(fileURLWithPath: dir)
        } else {
            directory = Bundle.module.url(forResource: "Resources", withExtension: nil)
        }
        guard let directory,
            let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path)
        else { return [] }
        return names.sorted().compactMap { name in
            guard !name.hasPrefix("."), let data = try? Data(contentsOf: directory.appendingPathComponent(name)) else { return nil }
            return (name, data)
        }
    }

    private static func contentType(of name: String) -> String {
        switch name.split(separator: ".").last ?? "" {
        case "html": "text/html; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "json": "application/json"
        default: "application/octet-stream"
        }
    }
}
