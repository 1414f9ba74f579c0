// TESSERA_AUTHORIZATION_DETAILS_TYPES (RFC 9396): which authorization_details types are accepted,
// and for each optionally which fields, as the configuration loader reads the setting. Requests are
// checked against the result by protocol/authorization-details.ts.

/** One accepted type: any fields, or only the common fields plus `fields`. */
export interface AuthorizationDetailsType {
  type: string;
  /** Type-specific fields allowed besides the common ones; undefined allows any field. */
  fields?: readonly string[];
}

const TYPE_NAME = /^[\x21-\x7E]{1,200}$/;
const FIELD_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Parses TESSERA_AUTHORIZATION_DETAILS_TYPES entries (TYPE or TYPE=FIELD|FIELD), collecting problems. */
export function parseAuthorizationDetailsTypes(
  entries: readonly string[],
  problems: string[],
): AuthorizationDetailsType[] {
  const out: AuthorizationDetailsType[] = [];
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const type = eq === -1 ? entry : entry.slice(0, eq);
    const fields =
      eq === -1
        ? undefined
        : entry
            .slice(eq + 1)
            .split('|')
            .filter(Boolean);
    if (!TYPE_NAME.test(type) || type.includes('=')) {
      problems.push(`TESSERA_AUTHORIZATION_DETAILS_TYPES: "${entry}" does not start with a valid type name`);
      continue;
    }
    if (out.some((t) => t.type === type)) {
      problems.push(`TESSERA_AUTHORIZATION_DETAILS_TYPES: type "${type}" is listed twice`);
      continue;
    }
    const bad = fields?.find((f) => !FIELD_NAME.test(f) || f === 'type');
    if (bad !== undefined) {
      problems.push(`TESSERA_AUTHORIZATION_DETAILS_TYPES: "${bad}" in "${entry}" is not a valid field name`);
      continue;
    }
    out.push(fields === undefined ? { type } : { type, fields });
  }
  return out;
}
