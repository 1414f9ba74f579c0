// The deployment's branding as the pages and mails use it (issue 18): what operators stored
// (ports/branding.ts, changed through admin/actions/branding.ts), over the environment's defaults
// (TESSERA_BRAND_*), over Tessera's own. This process keeps a copy of the stored branding, read at
// most every BRANDING_CACHE_MS (a change made by another instance is seen within that time, a change
// made here at once), so that no page reads the database for it; the logo's bytes are read when its
// hash changes.
import type { Config } from '../config/config.ts';
import { textColorFor } from '../config/branding.ts';
import type { Branding, BrandingStore, BrandLogoFacts } from '../ports/branding.ts';

/** How long a process keeps its copy of the branding. */
export const BRANDING_CACHE_MS = 5000;
/** Tessera's own name, when neither operators nor the environment named the deployment. */
export const DEFAULT_BRAND_NAME = 'Tessera';

/** The branding in effect: every value decided. */
export interface EffectiveBrand {
  name: string;
  /** Absent: Tessera's own colours. */
  primaryColor?: string;
  primaryTextColor?: string;
  privacyUrl?: string;
  termsUrl?: string;
  supportUrl?: string;
  logo?: BrandLogoFacts;
}

/** The stored branding over the environment's defaults over Tessera's own. */
export function effectiveBrand(
  config: Pick<Config, 'brandName' | 'brandPrimaryColor' | 'brandPrivacyUrl' | 'brandTermsUrl' | 'brandSupportUrl'>,
  stored: Branding | undefined,
): EffectiveBrand {
  const s = stored ?? {};
  const primaryColor = s.primaryColor ?? config.brandPrimaryColor;
  // The stored text colour was checked against the primary colour in effect when it was stored.
  const primaryTextColor = primaryColor && (s.primaryTextColor ?? textColorFor(primaryColor));
  const privacyUrl = s.privacyUrl ?? config.brandPrivacyUrl;
  const termsUrl = s.termsUrl ?? config.brandTermsUrl;
  const supportUrl = s.supportUrl ?? config.brandSupportUrl;
  return {
    name: s.name ?? config.brandName ?? DEFAULT_BRAND_NAME,
    ...(primaryColor ? { primaryColor, primaryTextColor } : {}),
    ...(privacyUrl ? { privacyUrl } : {}),
    ...(termsUrl ? { termsUrl } : {}),
    ...(supportUrl ? { supportUrl } : {}),
    ...(s.logo ? { logo: s.logo } : {}),
  };
}

/** This process's copy of the stored branding (a protocol service on the Provider). */
export interface BrandingCache {
  /**
   * The stored branding as last read, without waiting (undefined until the first read, or when none
   * is stored); a copy older than BRANDING_CACHE_MS is read again in the background.
   */
  current(): Branding | undefined;
  /** The stored branding, fresh (read now when the copy is old). */
  read(): Promise<Branding | undefined>;
  /** The logo's bytes with their facts, when a logo is stored. */
  logo(): Promise<{ facts: BrandLogoFacts; bytes: Uint8Array } | undefined>;
  /**
   * Reads the stored branding again now (a change made in this process), keeping the old copy in use
   * until the new one is there; resolves once it is.
   */
  forget(): Promise<void>;
}

export function brandingCache(store: BrandingStore, nowMs: () => number = Date.now): BrandingCache {
  let copy: { at: number; value?: Branding } | undefined;
  let reading: Promise<Branding | undefined> | undefined;
  let logo: { sha256: string; bytes: Uint8Array } | undefined;
  const refresh = () => {
    if (!reading) {
      const started = nowMs();
      reading = store
        .get()
        .then((stored) => {
          copy = { at: started, ...(stored ? { value: stored.branding } : {}) };
          return stored?.branding;
        })
        .finally(() => {
          reading = undefined;
        });
    }
    return reading;
  };
  const fresh = () => copy !== undefined && nowMs() - copy.at < BRANDING_CACHE_MS;
  return {
    current() {
      // A failed background read leaves the old copy in use (the pages still render) and is tried again next time.
      if (!fresh()) refresh().catch(() => {});
      return copy?.value;
    },
    async read() {
      return fresh() ? copy?.value : refresh();
    },
    async logo() {
      const facts = (await this.read())?.logo;
      if (!facts) return undefined;
      if (logo?.sha256 !== facts.sha256) {
        const bytes = await store.logo();
        if (!bytes) return undefined;
        logo = { sha256: facts.sha256, bytes };
      }
      return { facts, bytes: logo.bytes };
    },
    async forget() {
      if (copy) copy = { ...copy, at: Number.NEGATIVE_INFINITY };
      // A read already under way may have started before the change: wait for it, then read again.
      await reading?.catch(() => {});
      await refresh();
    },
  };
}
