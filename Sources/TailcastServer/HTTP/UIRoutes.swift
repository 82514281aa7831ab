import Foundation
import Hummingbird

/// `/` and the UI's static files, served from the binary's resources.
enum UIRoutes {
    static func add(to router: Router<TailcastRequestContext>) {
        let files: [(String, String, String)] = [
            ("/", "index.html", "text/html; charset=utf-8"),
            ("/app.js", "app.js", "text/javascript; charset=utf-8"),
            ("/app.css", "app.css", "text/css; charset=utf-8"),
            ("/favicon.svg", "favicon.svg", "image/svg+xml"),
            ("/favicon.ico", "favicon.svg", "image/svg+xml"),
        ]
        for (path, file, type) in files {
            guard let url = Bundle.module.url(forResource: file, withExtension: nil, subdirectory: "Resources"),
                  let data = try? Data(contentsOf: url) else { continue }
            let body = ByteBuffer(bytes: data)
            router.get(RouterPath(path)) { _, _ in
                Response(status: .ok, headers: [
                    .contentType: type,
                    .cacheControl: "no-cache",
                    .contentSecurityPolicy: "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
                    .init("X-Content-Type-Options")!: "nosniff",
                ], body: .init(byteBuffer: body))
            }
        }
    }
}
