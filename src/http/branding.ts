// The deployment's branding on the HTTP side (issue 18): the pages' PageBrand (made from the branding in effect,
// protocol/branding.ts, without a database read per page), GET /branding/logo (the stored logo) and GET
// /clients/<client_id>/logo (a client's logo as protocol/client-logos.ts fetched it for a consent page; the route
// itself never fetches). Both images are served with their sniffed type, nosniff, a CSP that lets them do nothing and
// an ETag; neither route takes a URL, so neither is a proxy.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { effectiveBrand } from '../protocol/branding.ts';
import { isMetadataDocumentId } from '../protocol/clients/metadata-document.ts';
import { imageHeaders, type ImageType } from '../protocol/images.ts';
import type { Provider } from '../protocol/provider.ts';
import type { Branding } from '../ports/branding.ts';
import type { PageBrand } from '../ui/html.ts';

/** How long browsers keep the brand logo (its URL changes with it) and a client's logo. */
const BRAND_LOGO_MAX_AGE = 86400;
const CLIENT_LOGO_MAX_AGE = 300;

/**
 * The pages' branding, from this process's copy of the stored branding over the environment's
 * defaults; computed again only when that copy changes.
 */
export function pageBrands(p: Pick<Provider, 'config' | 'branding'>, basePath: string): () => PageBrand {
  let last: { stored: Branding | undefined; brand: PageBrand } | undefined;
  return () => {
    const stored = p.branding?.current();
    if (last && last.stored === stored) return last.brand;
    const e = effectiveBrand(p.config, stored);
    const brand: PageBrand = {
      name: e.name,
      // The hash in the URL: a new logo is a new URL, so the old one may be cached for long.
      ...(e.logo ? { logoUrl: `${basePath}/branding/logo?v=${e.logo.sha256.slice(0, 16)}` } : {}),
      ...(e.primaryColor && e.primaryTextColor
        ? { primaryColor: e.primaryColor, primaryTextColor: e.primaryTextColor }
        : {}),
      ...(e.privacyUrl ? { privacyUrl: e.privacyUrl } : {}),
      ...(e.termsUrl ? { termsUrl: e.termsUrl } : {}),
      ...(e.supportUrl ? { supportUrl: e.supportUrl } : {}),
    };
    last = { stored, brand };
    return brand;
  };
}

const notFound = (reply: FastifyReply) =>
  reply
    .code(404)
    .headers({ 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'; sandbox" })
    .type('text/plain; charset=utf-8')
    .send('Not found.');

function sendImage(
  req: FastifyRequest,
  reply: FastifyReply,
  image: { type: string; etag: string; bytes: Uint8Array },
  maxAge: number,
) {
  reply.headers(imageHeaders(image.type as ImageType, image.etag, maxAge));
  if (req.headers['if-none-match'] === image.etag) return reply.code(304).send();
  return reply.code(200).send(Buffer.from(image.bytes.buffer, image.bytes.byteOffset, image.bytes.byteLength));
}

/**
 * Mounts GET (and HEAD) /branding/logo and /clients/:client_id/logo under `basePath`. `limit`: the
 * client logo route's per-address rate limit (the `authorization` policy's, counted before anything
 * is read), when rate limits are on.
 */
export function mountBranding(
  app: FastifyInstance,
  p: Provider,
  basePath: string,
  limit?: (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void,
): void {
  app.get(`${basePath}/branding/logo`, { config: { kind: 'json' } }, async (req, reply) => {
    const logo = await p.branding?.logo();
    if (!logo) return notFound(reply);
    // The pages name the logo by its version (?v=); an instance whose copy is older than the page's
    // sends its bytes uncached, so a browser never keeps the old logo under the new name.
    const v = (req.query as { v?: string }).v;
    const current = v === undefined || v === logo.facts.sha256.slice(0, 16);
    return sendImage(
      req,
      reply,
      { type: logo.facts.type, etag: `"${logo.facts.sha256}"`, bytes: logo.bytes },
      current ? BRAND_LOGO_MAX_AGE : 0,
    );
  });
  app.get<{ Params: { client_id: string } }>(
    `${basePath}/clients/:client_id/logo`,
    { config: { kind: 'json' }, ...(limit ? { onRequest: limit } : {}) },
    async (req, reply) => {
      const clientId = req.params.client_id;
      if (!p.clientLogos || clientId.length === 0) return notFound(reply);
      // Metadata document clients and self-registered ones show no logo (their logo is their own
      // claim, as their name is), so theirs is never served; nor is their document read here.
      if (isMetadataDocumentId(clientId)) return notFound(reply);
      const client = await p.stores.clients.get(clientId);
      if (!client || client.disabled || client.metadata.registration !== undefined) return notFound(reply);
      const logoUri = client.metadata.logo_uri;
      if (!logoUri) return notFound(reply);
      // Only a logo the consent page had fetched: this anonymous route never starts a fetch.
      const logo = p.clientLogos.known(clientId, logoUri);
      if (!logo) return notFound(reply);
      return sendImage(req, reply, logo, CLIENT_LOGO_MAX_AGE);
    },
  );
}
