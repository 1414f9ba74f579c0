// Static scripts of the pages, read once at start and served from memory: /assets/webauthn.js (the
// @simplewebauthn/browser bundle, which defines the global SimpleWebAuthnBrowser) and
// /assets/passkeys.js (Tessera's own, src/ui/assets/passkeys.js). Pages load them with a nonce'd
// <script src> (the page CSP allows nothing else); their URLs carry a version (a hash of both
// files), so they may be cached for a year and a new release is fetched anew.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

interface Asset {
  body: Buffer;
  etag: string;
}

/** The browser bundle's file, found from where Node resolves the package. */
function bundlePath(): URL {
  const entry = import.meta.resolve('@simplewebauthn/browser');
  const root = entry.slice(0, entry.lastIndexOf('/@simplewebauthn/browser/') + '/@simplewebauthn/browser/'.length);
  return new URL('dist/bundle/index.umd.min.js', root);
}

function load(file: URL): Asset {
  const body = readFileSync(file);
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

const ASSETS: Readonly<Record<string, Asset>> = {
  'webauthn.js': load(bundlePath()),
  'passkeys.js': load(new URL('../ui/assets/passkeys.js', import.meta.url)),
};

/** The version the pages put in the scripts' URLs (?v=): changes whenever either file does. */
export const ASSET_VERSION = createHash('sha256')
  .update(
    Object.values(ASSETS)
      .map((a) => a.etag)
      .join(),
  )
  .digest('base64url')
  .slice(0, 12);

const HEADERS = {
  'content-type': 'text/javascript; charset=utf-8',
  'cache-control': 'public, max-age=31536000, immutable',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
};

/** Mounts GET (and HEAD) of each asset under `basePath`/assets/. */
export function mountAssets(app: FastifyInstance, basePath: string): void {
  for (const [name, asset] of Object.entries(ASSETS)) {
    app.get(`${basePath}/assets/${name}`, (req, reply) => {
      reply.headers({ ...HEADERS, etag: asset.etag });
      if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
      return reply.code(200).send(asset.body);
    });
  }
}
