// The container's health check (deploy/Dockerfile HEALTHCHECK): asks this instance's own listener for
// /health and exits 0 when it answers 200, 1 otherwise. The image has no curl; Node runs this file.
// It reads the same settings Tessera does: the port (TESSERA_PORT), the issuer's path (Tessera serves
// every route under it) and whether the listener speaks TLS (TESSERA_TLS_CERT_FILE). The certificate is
// not checked: the check talks to its own process over loopback, where the name in it would not match.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const TIMEOUT_MS = 2500;

/** The URL of /health on the loopback address, from the settings in `env`. */
export function healthUrl(env: NodeJS.ProcessEnv): URL {
  const port = Number(env.TESSERA_PORT || 4000);
  let basePath = '';
  try {
    if (env.TESSERA_ISSUER) basePath = new URL(env.TESSERA_ISSUER).pathname.replace(/\/$/, '');
  } catch {
    // A bad issuer stops Tessera at start-up; the check then fails on the connection instead.
  }
  const scheme = env.TESSERA_TLS_CERT_FILE ? 'https' : 'http';
  return new URL(`${scheme}://127.0.0.1:${port}${basePath}/health`);
}

/** Resolves true when /health answers 200 within the time limit. */
export function checkHealth(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'GET', timeout: TIMEOUT_MS, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

if (import.meta.main) {
  const url = healthUrl(process.env);
  const ok = await checkHealth(url);
  if (!ok) process.stderr.write(`unhealthy: ${url.pathname} on port ${url.port} did not answer 200\n`);
  process.exit(ok ? 0 : 1);
}
