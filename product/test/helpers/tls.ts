// A TLS listener in front of a dev server (which has no TLS flags): test certificates made with openssl,
// and a small HTTP/2 proxy that terminates TLS (optionally requiring a client certificate of a CA, or an
// API key) and forwards each gRPC call to the dev server's plaintext port.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

export interface Pem {
  cert: string;
  key: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed CA: files `<name>.crt` and `<name>.key` in `dir`. */
export function makeCa(dir: string, name: string): Pem {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], dir);
  openssl(['req', '-x509', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-days', '2', '-out', `${name}.crt`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

/** A leaf certificate signed by `ca`: for a server (localhost, 127.0.0.1) or a client. */
export function makeLeaf(dir: string, name: string, ca: Pem, usage: 'server' | 'client'): Pem {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], dir);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`], dir);
  const ext = path.join(dir, `${name}.ext`);
  fs.writeFileSync(
    ext,
    usage === 'server'
      ? 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n'
      : 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n',
  );
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', `${name}.crt`], dir);
  return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

export interface TlsProxy {
  /** host:port of the TLS listener. */
  address: string;
  /** Calls forwarded to the dev server (those refused for a missing or wrong API key are not counted). */
  forwarded: number;
  close(): Promise<void>;
}

export async function startTlsProxy(opts: { target: string; server: Pem; clientCa?: string; apiKey?: string }): Promise<TlsProxy> {
  const upstream = http2.connect(`http://${opts.target}`);
  const server = http2.createSecureServer({
    cert: fs.readFileSync(opts.server.cert),
    key: fs.readFileSync(opts.server.key),
    ...(opts.clientCa ? { ca: fs.readFileSync(opts.clientCa), requestCert: true, rejectUnauthorized: true } : {}),
  });
  const proxy: TlsProxy = { address: '', forwarded: 0, close: async () => undefined };
  server.on('stream', (stream, headers) => {
    if (opts.apiKey !== undefined && headers.authorization !== `Bearer ${opts.apiKey}`) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'invalid API key' }, { endStream: true });
      return;
    }
    proxy.forwarded++;
    const forward: http2.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) if (!name.startsWith(':') || name === ':method' || name === ':path') forward[name] = value;
    const call = upstream.request(forward);
    let trailers: http2.IncomingHttpHeaders = {};
    stream.pipe(call);
    call.on('response', (h, flags) => {
      // A trailers-only answer (an error) ends the stream with its headers.
      if ((flags ?? 0) & http2.constants.NGHTTP2_FLAG_END_STREAM) stream.respond(h, { endStream: true });
      else stream.respond(h, { waitForTrailers: true });
    });
    call.on('trailers', (t) => (trailers = t));
    stream.on('wantTrailers', () => stream.sendTrailers(Object.fromEntries(Object.entries(trailers).filter(([k]) => !k.startsWith(':')))));
    call.on('data', (chunk: Buffer) => stream.write(chunk));
    call.on('end', () => (stream.closed ? undefined : stream.end()));
    call.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    stream.on('close', () => call.close());
    stream.on('error', () => call.close());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = async () => {
    upstream.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Open client sessions would keep close() waiting.
      for (const s of sessions) s.destroy();
    });
  };
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  return proxy;
}
