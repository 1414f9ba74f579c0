/**
 * The deployment's branding (issue 18): its name, colours, footer links and logo, as operators set
 * them through the admin actions (admin/branding.ts). Whatever is not set here falls back to the
 * environment's defaults (TESSERA_BRAND_*), then to Tessera's own. Values are stored as the actions
 * validated them; the store checks nothing.
 */

/** The logo's facts kept with the branding (the bytes are read apart: BrandingStore.logo). */
export interface BrandLogoFacts {
  /** Its type, from its magic bytes: image/png, image/jpeg, image/webp or image/gif. */
  type: string;
  /** Its size in bytes. */
  size: number;
  /** The SHA-256 of its bytes, base64url: its ETag and the version in its URL. */
  sha256: string;
}

export interface Branding {
  /** The name shown in each page's header and title, and in mails. */
  name?: string;
  /** The primary colour (buttons, links) and the text on it: CSS hex colours (#rgb or #rrggbb). */
  primaryColor?: string;
  primaryTextColor?: string;
  /** Footer links on every page. */
  privacyUrl?: string;
  termsUrl?: string;
  supportUrl?: string;
  logo?: BrandLogoFacts;
}

export interface StoredBranding {
  branding: Branding;
  /** When it was last changed, in epoch seconds. */
  updatedAt: number;
}

export interface BrandingStore {
  /** The stored branding; undefined when none was ever stored. */
  get(): Promise<StoredBranding | undefined>;
  /**
   * Replaces the branding. `logo`: the logo's bytes to store (its facts must be branding.logo's),
   * null to remove the stored bytes, undefined to keep them as they are.
   */
  put(branding: Branding, at: number, logo?: Uint8Array | null): Promise<void>;
  /** The logo's bytes; undefined when there are none. */
  logo(): Promise<Uint8Array | undefined>;
}
