// Why a TLS connection to Temporal failed. The gRPC clients report only "Failed to connect before the
// deadline" (or a transport error without the certificate's story); after such a failure one plain TLS
// handshake with the same settings names the problem and the setting to change. Loaded on failure only.
import net from 'node:net';
import tls from 'node:tls';
import type { TemporalConfig } from './temporal-config';

const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
]);

const pem = (data: Uint8Array | undefined) => (data ? Buffer.from(data) : undefined);

/**
 * The TLS options of a connection to Temporal from its settings (system CAs or the configured CA, client
 * certificate, server name), or undefined when TLS is off: for this probe and `ct status`'s own calls (grpc-wire.ts).
 */
export function tlsConnectOptions(config: TemporalConfig): tls.ConnectionOptions | undefined {
  if (!config.tls) return undefined;
  const settings = config.tls === true ? {} : config.tls;
  const host = config.address.slice(0, config.address.lastIndexOf(':'));
  return {
    servername: settings.serverNameOverride ?? (net.isIP(host) ? undefined : host),
    ca: pem(settings.serverRootCACertificate),
    cert: pem(settings.clientCertPair?.crt),
    key: pem(settings.clientCertPair?.key),
    ALPNProtocols: ['h2'],
    checkServerIdentity: settings.serverNameOverride ? (_host, cert) => tls.checkServerIdentity(settings.serverNameOverride!, cert) : undefined,
  };
}

/** A sentence for a failed handshake, or undefined when TLS is off or the handshake succeeds. */
export async function probeTls(config: TemporalConfig, timeoutMs = 3000): Promise<string | undefined> {
  const options = tlsConnectOptions(config);
  if (!options) return undefined;
  const at = config.address.lastIndexOf(':');
  const failure = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    const socket = tls.connect({ ...options, host: config.address.slice(0, at), port: Number(config.address.slice(at + 1)) });
    const done = (err: NodeJS.ErrnoException | null) => {
      socket.destroy();
      resolve(err);
    };
    socket.setTimeout(timeoutMs, () => done(Object.assign(new Error(`no TLS handshake within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    socket.once('error', done);
    // With TLS 1.3 the server refuses a client certificate after the client's side of the handshake: wait for it.
    socket.once('secureConnect', () => setTimeout(() => done(null), 300));
  });
  if (!failure) return undefined;
  const code = failure.code ?? '';
  if (UNTRUSTED.has(code)) {
    return `TLS: the server's certificate is not signed by the CA in use (${code}): check TEMPORAL_TLS_SERVER_CA_CERT_PATH or the profile's tls.server_ca_cert_path`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `TLS: ${failure.message}: set TEMPORAL_TLS_SERVER_NAME (or the profile's tls.server_name)`;
  if (code === 'CERT_HAS_EXPIRED') return "TLS: the server's certificate has expired";
  if (/CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN/.test(code)) {
    return `TLS: the server refused the client certificate (${code}): check TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (or the profile's tls.client_cert_path, tls.client_key_path)`;
  }
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG/.test(code)) return 'TLS: the server does not speak TLS here: set TEMPORAL_TLS=false (or the profile\'s tls.disabled = true)';
  return `TLS: ${failure.message}`;
}
