// The header fields answers start from: the security headers every response carries, and those of
// the JSON answers (the API's Content-Security-Policy and content type).
import type { Provider } from '../protocol/provider.ts';

const BASE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};
const HSTS = { 'strict-transport-security': 'max-age=63072000; includeSubDomains' };

export const API_CSP = "default-src 'none'; frame-ancestors 'none'";
export const VARY_ORIGIN = { vary: 'Origin' };
export const JSON_HEADERS = { 'content-security-policy': API_CSP, 'content-type': 'application/json; charset=utf-8' };

/** The fields every response of a server carries; HSTS in production only. */
export function securityHeadersFor(config: Provider['config']): Record<string, string> {
  const hsts: Record<string, string> = config.env === 'production' ? HSTS : {};
  return { ...BASE_HEADERS, ...hsts };
}
