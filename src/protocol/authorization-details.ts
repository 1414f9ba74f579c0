import { isDeepStrictEqual } from 'node:util';
import {
  parseAuthorizationDetailsTypes,
  type AuthorizationDetailsType,
} from '../config/authorization-details-types.ts';
import { OAuthError } from './errors.ts';

// Rich authorization requests (RFC 9396): the authorization_details parameter, a JSON array of
// objects each with a `type`. Which types are accepted, and for each optionally which fields, is
// configured by TESSERA_AUTHORIZATION_DETAILS_TYPES (parsed by the configuration:
// config/authorization-details-types.ts); this module validates requests against it, compares a
// token request's subset with what was granted and describes the entries for the consent page.

export { parseAuthorizationDetailsTypes, type AuthorizationDetailsType };

export type AuthorizationDetail = { type: string } & Record<string, unknown>;

/** Longest authorization_details value accepted, characters of JSON. */
export const MAX_AUTHORIZATION_DETAILS_LENGTH = 4096;
/** Most entries in one authorization_details array. */
export const MAX_AUTHORIZATION_DETAILS_ENTRIES = 10;

/** RFC 9396 section 2.2: fields every type may carry, with their shapes. */
const COMMON_FIELDS: Readonly<Record<string, 'strings' | 'string'>> = {
  locations: 'strings',
  actions: 'strings',
  datatypes: 'strings',
  privileges: 'strings',
  identifier: 'string',
};

const invalid = (description: string) => new OAuthError('invalid_authorization_details', description);

/**
 * Validates an authorization_details value (RFC 9396 section 2): a JSON array of 1 to 10 objects,
 * each with a `type` this server accepts, only the fields that type allows, and the common fields
 * in their defined shapes. Anything else is invalid_authorization_details (section 5).
 */
export function parseAuthorizationDetails(
  value: string,
  types: readonly AuthorizationDetailsType[],
): AuthorizationDetail[] {
  if (value.length > MAX_AUTHORIZATION_DETAILS_LENGTH)
    throw invalid(`authorization_details is longer than ${MAX_AUTHORIZATION_DETAILS_LENGTH} characters.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw invalid('authorization_details is not valid JSON.');
  }
  if (!Array.isArray(parsed)) throw invalid('authorization_details must be a JSON array.');
  if (parsed.length === 0) throw invalid('authorization_details must not be empty.');
  if (parsed.length > MAX_AUTHORIZATION_DETAILS_ENTRIES)
    throw invalid(`authorization_details may hold at most ${MAX_AUTHORIZATION_DETAILS_ENTRIES} entries.`);
  return parsed.map((entry, i) => checkEntry(entry, i, types));
}

function checkEntry(entry: unknown, i: number, types: readonly AuthorizationDetailsType[]): AuthorizationDetail {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
    throw invalid(`authorization_details[${i}] must be an object.`);
  const e = entry as Record<string, unknown>;
  if (typeof e.type !== 'string') throw invalid(`authorization_details[${i}] has no type.`);
  const known = types.find((t) => t.type === e.type);
  if (!known) throw invalid(`authorization_details[${i}] has a type this server does not support.`);
  for (const [name, v] of Object.entries(e)) {
    if (name === 'type') continue;
    const shape = COMMON_FIELDS[name];
    if (shape === 'string' && typeof v !== 'string')
      throw invalid(`authorization_details[${i}].${name} must be a string.`);
    if (shape === 'strings' && !(Array.isArray(v) && v.every((x) => typeof x === 'string')))
      throw invalid(`authorization_details[${i}].${name} must be an array of strings.`);
    if (!shape && known.fields && !known.fields.includes(name))
      throw invalid(`authorization_details[${i}] has a field its type does not allow.`);
  }
  return e as AuthorizationDetail;
}

/**
 * RFC 9396 section 6: whether every entry asked for at the token endpoint is one of the granted
 * entries (compared whole, as JSON values). A client may narrow, never widen or alter, the grant.
 */
export function isSubsetOf(
  requested: readonly AuthorizationDetail[],
  granted: readonly AuthorizationDetail[],
): boolean {
  return requested.every((r) => granted.some((g) => isDeepStrictEqual(r, g)));
}

/** The entries in readable form for the consent page: the type, then each field with its value as text. */
export function describeAuthorizationDetails(
  details: readonly AuthorizationDetail[],
): { type: string; fields: { name: string; value: string }[] }[] {
  return details.map((d) => ({
    type: d.type,
    fields: Object.entries(d)
      .filter(([k]) => k !== 'type')
      .map(([name, v]) => ({ name, value: describeValue(v) })),
  }));
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(', ');
  return JSON.stringify(v);
}

type RarSettings = {
  readonly featuresDisabled: readonly string[];
  readonly authorizationDetailsTypes: readonly AuthorizationDetailsType[];
};

/** Whether authorization_details is accepted at all: the feature is on and at least one type is configured. */
export function rarEnabled(config: RarSettings): boolean {
  return !config.featuresDisabled.includes('rar') && config.authorizationDetailsTypes.length > 0;
}

/**
 * The authorization_details parameter of a request, validated, as canonical JSON text. `clientTypes`
 * (RFC 9396 section 10.2 client metadata) narrows the configured types for one client.
 */
export function readAuthorizationDetails(config: RarSettings, value: string, clientTypes?: readonly string[]): string {
  if (!rarEnabled(config)) throw invalid('authorization_details is not supported by this server.');
  const details = parseAuthorizationDetails(value, config.authorizationDetailsTypes);
  if (clientTypes && details.some((d) => !clientTypes.includes(d.type)))
    throw invalid('authorization_details has a type this client may not use.');
  return JSON.stringify(details);
}

/**
 * The authorization_details an access token gets at the token endpoint: what was granted, or the
 * subset the client asked for (RFC 9396 section 6). Undefined when none were granted or asked for.
 */
export function narrowAuthorizationDetails(
  config: RarSettings,
  requested: string | undefined,
  granted: string | null | undefined,
): AuthorizationDetail[] | undefined {
  const grantedDetails = granted ? (JSON.parse(granted) as AuthorizationDetail[]) : undefined;
  if (requested === undefined) return grantedDetails;
  if (!rarEnabled(config)) throw invalid('authorization_details is not supported by this server.');
  const asked = parseAuthorizationDetails(requested, config.authorizationDetailsTypes);
  if (!grantedDetails || !isSubsetOf(asked, grantedDetails))
    throw invalid('authorization_details asks for more than was authorized.');
  return asked;
}
