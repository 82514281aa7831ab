import NIOSSL
import TailcastCore

/// Loading the `[tls]` certificate chain and key into a hardened server context.
enum TLSMaterial {
    /// Reads the PEM chain and key named by `settings` and builds a hardened server context; a
    /// key that does not belong to the certificate is refused.
    /// Blocks on file reads (call it at start or from the reload service, never on an event loop).
    /// - Throws: one ``ConfigError`` (key `tls`) naming both files and what went wrong.
    static func load(_ settings: TLSSettings) throws(ConfigErrors) -> NIOSSLContext {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(settings.certificate).map { NIOSSLCertificateSource.certificate($0) }
            guard !chain.isEmpty else {
                throw ConfigErrors([ConfigError(line: 0, key: "tls", message: "[tls] \(settings.certificate) holds no PEM certificate")])
            }
            let key = try NIOSSLPrivateKey(file: settings.key, format: .pem)
            let configuration = TailcastServer.hardened(
                TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
            do {
                return try NIOSSLContext(configuration: configuration)
            } catch NIOSSLError.failedToLoadPrivateKey {
                // The key parsed: BoringSSL refuses it because it does not match the certificate.
                throw ConfigErrors([
                    ConfigError(
                        line: 0, key: "tls",
                        message: "[tls] \(settings.key) is not the private key of \(settings.certificate)")
                ])
            }
        } catch let errors as ConfigErrors {
            throw errors
        } catch {
            throw ConfigErrors([
                ConfigError(line: 0, key: "tls", message: "[tls] cannot load \(settings.certificate) / \(settings.key): \(error)")
            ])
        }
    }
}
