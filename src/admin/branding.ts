// Changing the deployment's branding (issue 18): the rules of each value (config/branding.ts for
// the colours, their contrast and the links; the client-name rules for the name), the logo's checks
// (base64 of a PNG, JPEG, WebP or GIF by its magic bytes, never SVG, at most MAX_LOGO_BYTES), and
// the branding as operators see it (the logo as its type, size and hash, never its bytes).
import { createHash } from 'node:crypto';
import {
  brandNameProblem,
  brandUrlProblem,
  colorProblem,
  MAX_BRAND_NAME,
  normalizeColor,
  textColorFor,
} from '../config/branding.ts';
import type { Config } from '../config/config.ts';
import type { Branding, BrandLogoFacts } from '../ports/branding.ts';
import { effectiveBrand } from '../protocol/branding.ts';
import { displayTextProblem } from '../protocol/clients/metadata.ts';
import { sniffImage } from '../protocol/images.ts';
import { AdminError } from './errors.ts';

/** Most bytes of the deployment's logo. */
export const MAX_LOGO_BYTES = 256 * 1024;

/** A change: a value sets it, null returns it to the default (the environment's, then Tessera's), absent keeps it. */
export interface BrandingChange {
  name?: string | null;
  primary_color?: string | null;
  primary_text_color?: string | null;
  privacy_url?: string | null;
  terms_url?: string | null;
  support_url?: string | null;
  /** Base64 of the image (PNG, JPEG, WebP or GIF). */
  logo?: string;
}

/** The logo's bytes from base64 (standard or URL-safe, padding optional), checked; throws AdminError. */
export function decodeLogo(base64: string): { bytes: Buffer; facts: BrandLogoFacts } {
  const text = base64.replace(/^data:[^,]{0,100},/, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text) || text.length === 0)
    throw new AdminError('logo must be the base64 of a PNG, JPEG, WebP or GIF image');
  const bytes = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (bytes.length > MAX_LOGO_BYTES)
    throw new AdminError(`logo is ${bytes.length} bytes; at most ${MAX_LOGO_BYTES} (256 KiB) are accepted`);
  const type = sniffImage(bytes);
  if (!type) throw new AdminError('logo must be a PNG, JPEG, WebP or GIF image (SVG and other formats are refused)');
  return { bytes, facts: { type, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('base64url') } };
}

/**
 * The stored branding after `change` (the logo's bytes apart, when a new one is given); throws an
 * AdminError listing every problem. The colours are checked as they will show: the primary colour
 * (stored, else the environment's) with its text colour (given, else white or black).
 */
export function applyBrandingChange(
  config: Pick<Config, 'brandPrimaryColor'>,
  current: Branding,
  change: BrandingChange,
): { branding: Branding; logo?: Buffer } {
  const problems: string[] = [];
  const next: Branding = { ...current };
  const set = <K extends keyof Branding>(key: K, value: Branding[K] | null | undefined) => {
    if (value === undefined) return;
    if (value === null) delete next[key];
    else next[key] = value;
  };
  if (change.name !== undefined && change.name !== null) {
    const p = brandNameProblem('name', change.name) ?? displayTextProblem('name', change.name, MAX_BRAND_NAME);
    if (p) problems.push(p);
  }
  set('name', change.name);
  for (const [field, key] of [
    ['primary_color', 'primaryColor'],
    ['primary_text_color', 'primaryTextColor'],
  ] as const) {
    const v = change[field];
    if (v === undefined || v === null) set(key, v);
    else {
      const c = normalizeColor(v);
      if (!c) problems.push(`${field} must be a CSS hex colour, #rgb or #rrggbb`);
      else set(key, c);
    }
  }
  if (next.primaryTextColor !== undefined && next.primaryColor === undefined && config.brandPrimaryColor === undefined)
    problems.push('primary_text_color needs primary_color');
  const primary = next.primaryColor ?? config.brandPrimaryColor;
  if (primary !== undefined && problems.length === 0) {
    const p = colorProblem(primary, next.primaryTextColor ?? textColorFor(primary), {
      primary: 'primary_color',
      text: 'primary_text_color',
    });
    if (p) problems.push(p);
  }
  for (const [field, key] of [
    ['privacy_url', 'privacyUrl'],
    ['terms_url', 'termsUrl'],
    ['support_url', 'supportUrl'],
  ] as const) {
    const v = change[field];
    if (v !== undefined && v !== null) {
      const p = brandUrlProblem(field, v);
      if (p) {
        problems.push(p);
        continue;
      }
      set(key, new URL(v).href);
    } else set(key, v);
  }
  let logo: Buffer | undefined;
  if (change.logo !== undefined) {
    try {
      const decoded = decodeLogo(change.logo);
      logo = decoded.bytes;
      next.logo = decoded.facts;
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length) throw new AdminError(problems.join('; '));
  return { branding: next, ...(logo ? { logo } : {}) };
}

/** The branding as operators see it: what is stored (null: the default), and what is in effect. */
export function describeBranding(config: Config, stored: Branding | undefined, updatedAt?: number) {
  const s = stored ?? {};
  const e = effectiveBrand(config, stored);
  return {
    name: s.name ?? null,
    primary_color: s.primaryColor ?? null,
    primary_text_color: s.primaryTextColor ?? null,
    privacy_url: s.privacyUrl ?? null,
    terms_url: s.termsUrl ?? null,
    support_url: s.supportUrl ?? null,
    logo: s.logo ? { type: s.logo.type, size: s.logo.size, sha256: s.logo.sha256 } : null,
    effective: {
      name: e.name,
      primary_color: e.primaryColor ?? null,
      primary_text_color: e.primaryTextColor ?? null,
      privacy_url: e.privacyUrl ?? null,
      terms_url: e.termsUrl ?? null,
      support_url: e.supportUrl ?? null,
    },
    updated_at: updatedAt ?? null,
  };
}
