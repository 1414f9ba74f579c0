// The rules of the deployment's branding (issue 18), shared by the settings (TESSERA_BRAND_*, checked
// at start) and the admin action that changes the stored branding (admin/actions/branding.ts): CSS
// hex colours only (so a colour can never carry CSS of its own into the pages' style element), the
// WCAG 2.x contrast of the button text on the primary colour and of the primary colour (links) on
// the pages' light background, footer links that are https (http only on a loopback host).

/** The pages' light card background (ui/html.ts --card), which links in the primary colour sit on. */
export const PAGE_BACKGROUND = '#ffffff';
/** WCAG 2.x AA for normal text. */
export const MIN_CONTRAST = 4.5;
/** Most characters of the brand name. */
export const MAX_BRAND_NAME = 60;
/** Most characters of a footer link. */
export const MAX_BRAND_URL = 2048;

const HEX = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

/** A CSS hex colour (#rgb or #rrggbb) as lower-case #rrggbb; undefined for anything else. */
export function normalizeColor(value: unknown): string | undefined {
  if (typeof value !== 'string' || !HEX.test(value)) return undefined;
  const v = value.toLowerCase();
  return v.length === 4 ? `#${v[1]}${v[1]}${v[2]}${v[2]}${v[3]}${v[3]}` : v;
}

/** The relative luminance of a #rrggbb colour (WCAG 2.x). */
function luminance(hex: string): number {
  const channel = (i: number) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

/** The contrast ratio of two #rrggbb colours (1 to 21). */
export function contrastRatio(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** The text colour that reads best on `background`: white or black. */
export function textColorFor(background: string): string {
  return contrastRatio(background, '#ffffff') >= contrastRatio(background, '#000000') ? '#ffffff' : '#000000';
}

/**
 * Why a primary colour and the text on it are refused (undefined: fine). Both normalized
 * (normalizeColor) already; `names` label the message (the setting or the field).
 */
export function colorProblem(
  primary: string,
  text: string,
  names: { primary: string; text: string },
): string | undefined {
  const onButton = contrastRatio(primary, text);
  if (onButton < MIN_CONTRAST)
    return `${names.text} on ${names.primary} has a contrast of ${onButton.toFixed(2)}:1; at least ${MIN_CONTRAST}:1 is needed (WCAG AA)`;
  const onPage = contrastRatio(primary, PAGE_BACKGROUND);
  if (onPage < MIN_CONTRAST)
    return `${names.primary} on the pages' white background (links) has a contrast of ${onPage.toFixed(2)}:1; at least ${MIN_CONTRAST}:1 is needed (WCAG AA): choose a darker colour`;
  return undefined;
}

/** Whether a URL's host is this machine (`localhost`, its subdomains, 127.0.0.1, [::1]). */
export const isLoopbackHost = (host: string): boolean =>
  host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || host.endsWith('.localhost');

/** Why a footer link is refused (undefined: fine): https, or http on a loopback host; no credentials. */
export function brandUrlProblem(name: string, value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return `${name} must be a URL`;
  if (value.length > MAX_BRAND_URL) return `${name} must be at most ${MAX_BRAND_URL} characters`;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return `${name} must be an absolute URL`;
  }
  if (u.username || u.password) return `${name} must not carry credentials`;
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:' && isLoopbackHost(u.hostname)) return undefined;
  return `${name} must use https (http only on a loopback host)`;
}

/** Why a brand name is refused by the basic rules (the admin action also applies the client-name rules). */
export function brandNameProblem(name: string, value: unknown): string | undefined {
  if (typeof value !== 'string' || value.trim().length === 0) return `${name} must be a non-empty string`;
  if ([...value].length > MAX_BRAND_NAME) return `${name} must be at most ${MAX_BRAND_NAME} characters`;
  // Controls, line breaks and bidirectional formatting: never in a title or a mail subject.
  if (/[\p{Cc}\p{Cf}\u2028\u2029]/u.test(value))
    return `${name} must not contain control, formatting or invisible characters`;
  if (value !== value.trim()) return `${name} must not start or end with a space`;
  return undefined;
}

/** The branding settings of the environment (TESSERA_BRAND_*), checked at start. */
export function brandSettingsProblems(raw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (raw.brandName !== undefined) {
    const p = brandNameProblem('TESSERA_BRAND_NAME', raw.brandName);
    if (p) problems.push(p);
  }
  if (raw.brandPrimaryColor !== undefined) {
    const primary = normalizeColor(raw.brandPrimaryColor);
    if (!primary) problems.push('TESSERA_BRAND_PRIMARY_COLOR: must be a CSS hex colour, #rgb or #rrggbb');
    else {
      raw.brandPrimaryColor = primary;
      const p = colorProblem(primary, textColorFor(primary), {
        primary: 'TESSERA_BRAND_PRIMARY_COLOR',
        text: 'its button text',
      });
      if (p) problems.push(p);
    }
  }
  for (const [key, env] of [
    ['brandPrivacyUrl', 'TESSERA_BRAND_PRIVACY_URL'],
    ['brandTermsUrl', 'TESSERA_BRAND_TERMS_URL'],
    ['brandSupportUrl', 'TESSERA_BRAND_SUPPORT_URL'],
  ] as const) {
    if (raw[key] === undefined) continue;
    const p = brandUrlProblem(env, raw[key]);
    if (p) problems.push(p);
  }
  return problems;
}
