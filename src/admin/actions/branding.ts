// The deployment's branding (issue 18): read it, change it (name, colours, footer links, logo), remove
// the logo. Under /settings/branding, so the console shows them in its Settings section.
import { z } from 'zod';
import { defineAction, etagOf, requireMatch, type ActionContext } from '../action.ts';
import { applyBrandingChange, describeBranding, MAX_LOGO_BYTES } from '../branding.ts';

const nullableText = (max: number) => z.string().max(max).nullable().optional();

/** The branding now, as the actions show it (and its ETag is of). */
async function current(ctx: Pick<ActionContext, 'stores' | 'p'>) {
  const stored = await ctx.stores.branding.get();
  return { stored, view: describeBranding(ctx.p.config, stored?.branding, stored?.updatedAt) };
}

/**
 * Stores the branding (and the logo: new bytes, null to remove, undefined to keep) and answers with it.
 * Other instances see a change within their cache time (protocol/branding.ts); this one at once.
 */
async function save(
  ctx: ActionContext,
  branding: Parameters<ActionContext['stores']['branding']['put']>[0],
  logo: Parameters<ActionContext['stores']['branding']['put']>[2],
  before: unknown,
  details: Record<string, boolean>,
) {
  await ctx.stores.branding.put(branding, ctx.now, logo);
  const after = describeBranding(ctx.p.config, branding, ctx.now);
  ctx.after(() => ctx.p.branding?.forget());
  return { result: after, before, after, etag: etagOf(after), details };
}

export const brandingActions = [
  defineAction({
    name: 'branding.read',
    summary:
      "The deployment's branding: the stored name, colours, footer links and logo (its type, size and hash), null where the default applies, and the values in effect.",
    permission: 'admin:settings:read',
    event: 'admin_branding_read',
    input: z.object({}).strict(),
    http: { method: 'GET', path: '/settings/branding' },
    async run(ctx) {
      const { view } = await current(ctx);
      return { result: view, etag: etagOf(view) };
    },
  }),
  defineAction({
    name: 'branding.update',
    summary:
      "Changes the deployment's branding: a value sets it, null returns it to the default (TESSERA_BRAND_*, then Tessera's), a field left out stays. Colours are CSS hex colours whose contrast must reach 4.5:1 (WCAG AA); links https; the logo base64 of a PNG, JPEG, WebP or GIF of at most 256 KiB (never SVG). If-Match: the ETag of the version read.",
    permission: 'admin:settings:write',
    event: 'branding_updated',
    input: z
      .object({
        name: nullableText(200).describe("The deployment's name (at most 60 characters)"),
        primary_color: nullableText(7).describe('#rgb or #rrggbb'),
        primary_text_color: nullableText(7).describe('#rgb or #rrggbb; default white or black, whichever reads better'),
        privacy_url: nullableText(2048),
        terms_url: nullableText(2048),
        support_url: nullableText(2048),
        logo: z
          .string()
          .max(Math.ceil((MAX_LOGO_BYTES * 4) / 3) + 200)
          .optional()
          .describe('Base64 of a PNG, JPEG, WebP or GIF image, at most 256 KiB'),
      })
      .strict(),
    http: { method: 'PATCH', path: '/settings/branding', bodyLimit: 400 * 1024 },
    async run(ctx, input) {
      const { stored, view: before } = await current(ctx);
      requireMatch(ctx, before);
      const { branding, logo } = applyBrandingChange(ctx.p.config, stored?.branding ?? {}, input);
      return save(ctx, branding, logo, before, { logo_changed: logo !== undefined });
    },
  }),
  defineAction({
    name: 'branding.remove-logo',
    summary: "Removes the deployment's logo: the pages show the brand mark again.",
    permission: 'admin:settings:write',
    event: 'branding_updated',
    input: z.object({}).strict(),
    http: { method: 'DELETE', path: '/settings/branding/logo' },
    async run(ctx) {
      const { stored, view: before } = await current(ctx);
      requireMatch(ctx, before);
      const { logo: _, ...rest } = stored?.branding ?? {};
      return save(ctx, rest, null, before, { removed: stored?.branding.logo !== undefined });
    },
  }),
];
