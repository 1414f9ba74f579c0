import { OAuthError, invalidRequest } from './errors.ts';

/** Longest value accepted for any parameter, unless the endpoint says otherwise. */
export const MAX_PARAM_LENGTH = 4096;
/** Longest token value accepted (JWTs with many claims stay well below). */
export const MAX_TOKEN_LENGTH = 8192;
const MAX_PARAMS = 64;

export type Params = Readonly<Record<string, string>>;

/** Parameters that may be repeated (RFC 8707 resource); readParams joins their values with spaces. */
export const MULTI_VALUED: ReadonlySet<string> = new Set(['resource']);

/**
 * Reads form or query parameters the way RFC 6749 section 3.1 wants: a parameter sent without a
 * value counts as omitted, unknown parameters are ignored, and a defined parameter that appears
 * twice is an error. Values that were not valid UTF-8, over-long values and values with a NUL
 * character are refused.
 */
export function readParams(
  source: URLSearchParams,
  defined: ReadonlySet<string>,
  limits: Readonly<Record<string, number>> = {},
): Params {
  return collect(source, defined, limits, true);
}

function collect(
  source: URLSearchParams,
  defined: ReadonlySet<string>,
  limits: Readonly<Record<string, number>>,
  refuseNul: boolean,
): Params {
  const out: Record<string, string> = Object.create(null);
  let count = 0;
  for (const [name, value] of source) {
    if (++count > MAX_PARAMS) throw invalidRequest('Too many parameters.');
    if (!defined.has(name) || value === '') continue;
    if (value.length > (limits[name] ?? MAX_PARAM_LENGTH)) throw invalidRequest(`Parameter ${name} is too long.`);
    if (value.includes('\uFFFD')) throw invalidRequest(`Parameter ${name} is not valid UTF-8.`);
    // No parameter of the protocol has a use for NUL, and PostgreSQL's text cannot store it.
    if (refuseNul && value.includes('\u0000')) throw invalidRequest(`Parameter ${name} contains a NUL character.`);
    if (MULTI_VALUED.has(name)) {
      // RFC 8707: resource may be repeated; the values are kept space-separated. A URI has no spaces,
      // so a value with one is split into parts that each fail the URI check later (invalid_target).
      out[name] = name in out ? `${out[name]} ${value}` : value;
      continue;
    }
    if (name in out) throw invalidRequest(`Parameter ${name} is included more than once.`);
    out[name] = value;
  }
  return out;
}

/**
 * readParams for HTML forms: undefined instead of an error, so the page can answer for itself. A
 * value with a NUL character is kept: each form checks its fields for control characters and
 * answers with its own message (a 400 page that says which field), where an undefined form is
 * taken for a forged one.
 */
export function readFormParams(
  source: URLSearchParams,
  defined: ReadonlySet<string>,
  limits: Readonly<Record<string, number>> = {},
): Params | undefined {
  try {
    return collect(source, defined, limits, false);
  } catch (err) {
    if (err instanceof OAuthError) return undefined;
    throw err;
  }
}

/** Splits a space-delimited scope string into unique scope tokens, in order. */
export function splitScope(scope: string | undefined): string[] {
  if (!scope) return [];
  if (!scope.includes(' ')) return [scope];
  return [...new Set(scope.split(' ').filter(Boolean))];
}

/** NQCHAR per RFC 6749 appendix A.4. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
export function isScopeToken(s: string): boolean {
  return SCOPE_TOKEN.test(s);
}
