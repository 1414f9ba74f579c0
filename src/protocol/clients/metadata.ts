// Client metadata (RFC 7591 and its extensions: OpenID Connect Registration, RFC 8705, RFC 9101,
// FAPI 2.0, Back- and Front-Channel Logout, RFC 9396, token exchange): the rules a client record
// must meet, whoever makes it. Dynamic registration (endpoints/register.ts) and the operator's
// tools (admin/clients.ts: CLI, bootstrap file, demo seed) both validate and store clients here, so
// a registered client obeys exactly the rules of an operator-made one.
import type { Config } from '../../config/config.ts';
import type {
  ClientAuthMethod,
  ClientMetadata,
  ClientRecord,
  GrantType,
  TokenExchangeTokenType,
} from '../../ports/clients.ts';
import { CLIENT_AUTH_METHODS } from '../../ports/clients.ts';
import type { Stores } from '../../ports/index.ts';
import type { OutboundHttp } from '../../ports/outbound.ts';
import { ASYMMETRIC_ALGS, HMAC_ALGS } from '../client-auth/client-assertion.ts';
import { fetchClientJson, jwksProblems, jwksUriProblem, MAX_JWKS_BYTES } from '../client-auth/client-keys.ts';
import { isMtlsMethod, mtlsRegistrationProblems, TLS_CLIENT_AUTH_FIELDS } from '../client-auth/mtls.ts';
import { fetchableUriProblem, outboundHostProblem } from '../client-auth/public-address.ts';
import { hashClientSecret, wrapClientSecret } from '../client-auth/secret-hash.ts';
import { randomToken } from '../hash.ts';
import { resourceScopesProblems } from '../resources.ts';
import { isAdminScope, knownAdminScope } from '../admin-scopes.ts';
import { isScopeToken } from '../params.ts';
import { redirectUriProblem } from '../redirect-uri.ts';
import { FAPI_ALGS, FAPI_AUTH_METHODS, isFapiClient } from '../fapi.ts';
import { pkceOptOutProblem } from '../pkce.ts';
import { offeredAlgs } from '../tokens/response-algs.ts';
import { sectorFor, sectorIdentifierProblem, subjectProblems } from '../tokens/subject.ts';

/** The client metadata an operator sets as it is stored (each field is described in ClientMetadata). */
type MetadataInput = Pick<
  ClientMetadata,
  | 'dpop_bound_access_tokens'
  | 'require_pushed_authorization_requests'
  | 'jwks'
  | 'jwks_uri'
  | 'token_endpoint_auth_signing_alg'
  | 'request_object_signing_alg'
  | 'require_signed_request_object'
  | 'authorization_signed_response_alg'
  | 'token_exchange'
  | 'fapi_message_signing'
  | 'tls_client_auth_subject_dn'
  | 'tls_client_auth_san_dns'
  | 'tls_client_auth_san_uri'
  | 'tls_client_auth_san_ip'
  | 'tls_client_auth_san_email'
  | 'tls_client_certificate_bound_access_tokens'
  | 'subject_type'
  | 'sector_identifier_uri'
  | 'resource_scopes'
  | 'backchannel_logout_uri'
  | 'backchannel_logout_session_required'
  | 'frontchannel_logout_uri'
  | 'frontchannel_logout_session_required'
  | 'id_token_signed_response_alg'
  | 'userinfo_signed_response_alg'
  | 'introspection_signed_response_alg'
  | 'id_token_scope_claims'
  | 'mfa'
> & {
  /** false: the PKCE opt-out (protocol/pkce.ts); true or null removes it. Operator-only. */ pkce_required?:
    | boolean
    | null;
};

/** Client metadata as an operator writes it (RFC 7591 names), in the bootstrap file or the CLI. */
export interface ClientInput extends MetadataInput {
  client_id: string;
  client_secret?: string;
  client_name?: string;
  token_endpoint_auth_method?: ClientAuthMethod;
  application_type?: 'web' | 'native';
  redirect_uris?: string[];
  post_logout_redirect_uris?: string[];
  grant_types?: GrantType[];
  scope?: string;
  allowed_resources?: string[];
  skip_consent?: boolean;
  disabled?: boolean;
  /** "2.0": the FAPI 2.0 Security Profile applies to this client (private_key_jwt required); null turns it off. */
  fapi_profile?: '2.0' | null;
  /** RFC 9396: the authorization_details types this client may use; null allows every configured type. */
  authorization_details_types?: string[] | null;
  /**
   * true: an admin client, which may be issued Tessera's admin scopes (protocol/admin-tokens.ts); false or
   * null makes it an ordinary client again. Operators only (admin actions, the CLI, the bootstrap file):
   * dynamic registration and Client ID Metadata Documents never set it.
   */
  admin_client?: boolean | null;
  /** RFC 7591 section 2, shown on the consent page; null removes one. */
  logo_uri?: string | null;
  client_uri?: string | null;
  policy_uri?: string | null;
  tos_uri?: string | null;
}

/** Client metadata that breaks the rules; the message is `client <id>: <problems>`. */
export class ClientMetadataError extends Error {
  readonly clientId: string;
  readonly problems: string[];
  constructor(clientId: string, problems: string[]) {
    super(`client ${clientId}: ${problems.join('; ')}`);
    this.name = 'ClientMetadataError';
    this.clientId = clientId;
    this.problems = problems;
  }
}

const TOKEN_EXCHANGE: GrantType = 'urn:ietf:params:oauth:grant-type:token-exchange';
const GRANTS: readonly GrantType[] = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
  TOKEN_EXCHANGE,
];

/**
 * Problems with a token exchange policy: audiences (URIs or names) and subject clients, each a non-empty list; token
 * types, scopes, delegation, trusted issuers.
 */
function tokenExchangeProblems(policy: unknown, allowLoopback: boolean): string[] {
  if (policy === null || typeof policy !== 'object' || Array.isArray(policy))
    return ['token_exchange must be an object with audiences and subject_clients'];
  const {
    audiences,
    subject_clients: subjects,
    token_types: types,
    scopes,
    delegation,
    actor_clients: actors,
    trusted_issuers: issuers,
    ...rest
  } = policy as Record<string, unknown>;
  const problems = Object.keys(rest).map((k) => `token_exchange: unknown key ${k}`);
  const list = (v: unknown) =>
    Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && /^[\x21-\x7E]{1,2048}$/.test(x));
  if (!list(audiences))
    problems.push('token_exchange.audiences must be a non-empty list of audience names or URIs (no spaces)');
  if (!list(subjects)) problems.push('token_exchange.subject_clients must be a non-empty list of client ids, or ["*"]');
  if (
    types !== undefined &&
    !(list(types) && (types as string[]).every((t) => TOKEN_TYPES.includes(t as TokenExchangeTokenType)))
  ) {
    problems.push(`token_exchange.token_types must be a non-empty list of ${TOKEN_TYPES.join(', ')}`);
  }
  if (scopes !== undefined && !(Array.isArray(scopes) && scopes.every((s) => typeof s === 'string' && isScopeToken(s))))
    problems.push('token_exchange.scopes must be a list of scope tokens');
  if (delegation !== undefined && typeof delegation !== 'boolean')
    problems.push('token_exchange.delegation must be true or false');
  if (delegation === true && !list(actors))
    problems.push(
      'token_exchange.actor_clients must be a non-empty list of client ids, or ["*"], when delegation is true',
    );
  if (delegation !== true && actors !== undefined) problems.push('token_exchange.actor_clients needs delegation: true');
  const jwt = Array.isArray(types) && types.includes('jwt');
  if (jwt && !(Array.isArray(issuers) && issuers.length > 0))
    problems.push('token_exchange.trusted_issuers must list at least one issuer when token_types has jwt');
  if (!jwt && issuers !== undefined) problems.push('token_exchange.trusted_issuers needs jwt in token_types');
  if (Array.isArray(issuers))
    issuers.forEach((t: unknown, i) =>
      problems.push(
        ...trustedIssuerProblems(t, allowLoopback).map((m) => `token_exchange.trusted_issuers[${i}]: ${m}`),
      ),
    );
  else if (issuers !== undefined) problems.push('token_exchange.trusted_issuers must be a list');
  return problems;
}

const TOKEN_TYPES: readonly TokenExchangeTokenType[] = ['access_token', 'refresh_token', 'id_token', 'jwt'];

/**
 * A trusted issuer for token exchange: an https issuer, its public keys (jwks or jwks_uri, one of them), asymmetric
 * algorithms.
 */
function trustedIssuerProblems(t: unknown, allowLoopback: boolean): string[] {
  if (t === null || typeof t !== 'object' || Array.isArray(t))
    return ['must be an object with issuer and jwks or jwks_uri'];
  const { issuer, jwks, jwks_uri: uri, algorithms, ...rest } = t as Record<string, unknown>;
  const problems = Object.keys(rest).map((k) => `unknown key ${k}`);
  if (typeof issuer !== 'string' || !/^[\x21-\x7E]{1,255}$/.test(issuer))
    problems.push('issuer must be a string without spaces');
  if ((jwks === undefined) === (uri === undefined)) problems.push('give jwks or jwks_uri, one of them');
  if (jwks !== undefined) problems.push(...jwksProblems(jwks).map((m) => `jwks ${m}`));
  if (jwks !== undefined && JSON.stringify(jwks).length > MAX_JWKS_BYTES)
    problems.push(`jwks is larger than ${MAX_JWKS_BYTES} bytes`);
  if (uri !== undefined) {
    const problem = outboundUriProblem('jwks_uri', uri, allowLoopback);
    if (problem) problems.push(problem);
  }
  if (
    algorithms !== undefined &&
    !(
      Array.isArray(algorithms) &&
      algorithms.length > 0 &&
      algorithms.every((a) => (ASYMMETRIC_ALGS as readonly unknown[]).includes(a))
    )
  ) {
    problems.push(`algorithms must be a non-empty list of ${ASYMMETRIC_ALGS.join(', ')}`);
  }
  return problems;
}
/**
 * Characters a client name may not hold: controls (C0, DEL, C1: line breaks and terminal escapes
 * among them), the Unicode line and paragraph separators, and the bidirectional formatting
 * characters (U+061C, U+200E-U+200F, U+202A-U+202E, U+2066-U+2069), which could make a name shown
 * on the consent page, in logs or in a terminal read as something else (Trojan Source, CVE-2021-42574);
 * and characters that show nothing or hide what they follow, with which a name can look like
 * another one ("Cla\u200Bude", "G\u0336o\u0336o\u0336gle", "G\u20DDoogle"): every format character
 * (\p{Cf}: zero-width spaces and joiners, tags, the BOM), every default-ignorable code point (the
 * Hangul fillers U+115F, U+1160, U+3164, U+FFA0, variation selectors, the soft hyphen), the Braille
 * blank U+2800, every enclosing mark (\p{Me}: U+20DD, U+0489, ...) and the overlay marks that strike a
 * letter through (U+0334-U+0338, U+1CD4, U+20D2-U+20D3, U+20D8-U+20DA, U+20E5-U+20E6, U+20EA-U+20EB).
 * Emoji sequences (which use U+200D, variation selectors, tags and the keycap mark), the joiners
 * U+200C/U+200D between letters of the scripts that need them and variation selectors right after a
 * character they can modify are taken out before this test (see displayTextProblem).
 */
export const UNSAFE_TEXT =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: each overlay mark is refused on its own
  /[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\p{Me}\u2028\u2029\u2800\u0334-\u0338\u1CD4\u20D2\u20D3\u20D8-\u20DA\u20E5\u20E6\u20EA\u20EB]/u;
/** Whole emoji (ZWJ sequences, skin tones, flags, keycaps): their joiners and selectors are part of them. */
const EMOJI = /\p{RGI_Emoji}/gv;
/** Letters and marks of the scripts whose spelling uses U+200C/U+200D between letters (Persian, Indic, ...). */
const JOINING_LETTER =
  '[\\p{sc=Arabic}\\p{sc=Syriac}\\p{sc=Nko}\\p{sc=Mongolian}\\p{sc=Devanagari}\\p{sc=Bengali}\\p{sc=Gurmukhi}' +
  '\\p{sc=Gujarati}\\p{sc=Oriya}\\p{sc=Tamil}\\p{sc=Telugu}\\p{sc=Kannada}\\p{sc=Malayalam}\\p{sc=Sinhala}' +
  '\\p{sc=Khmer}\\p{sc=Myanmar}]';
/** A zero-width non-joiner or joiner between two letters (or marks) of those scripts. */
const JOINERS = new RegExp(`(?<=${JOINING_LETTER})[\\u200C\\u200D](?=${JOINING_LETTER})`, 'gu');
/**
 * Variation selectors right after a character they can modify: text or emoji presentation
 * (U+FE0E/U+FE0F) after any visible character, the ideographic variation selectors (U+E0100-U+E01EF)
 * after a Han ideograph, the Mongolian free variation selectors (U+180B-U+180D, U+180F) after a
 * Mongolian letter. One selector only: a second one follows a selector, not such a character.
 */
const SELECTORS =
  /(?<=[^\s\p{Z}\p{M}\p{C}])[\uFE0E\uFE0F]|(?<=\p{sc=Han})[\u{E0100}-\u{E01EF}]|(?<=\p{sc=Mongolian})[\u180B-\u180D\u180F]/gu;
/** Whitespace of any kind: ASCII, no-break, em and ideographic spaces, ... */
const BLANK = /[\s\p{Z}]/u;
/** Two blanks in a row (HTML does not collapse most of them: a trail of them pushes text out of sight). */
const BLANK_RUN = /[\s\p{Z}]{2}/u;
/** A combining mark that follows no character: at the start or after a blank. */
const LOOSE_MARK = /(?:^|[\s\p{Z}])\p{M}/u;
/** Most combining marks (\p{Mn}) in a row on one character (Vietnamese needs 2, Indic and Hebrew 3). */
const MAX_MARKS = 3;
const MARK_PILE = new RegExp(`\\p{Mn}{${MAX_MARKS + 1}}`, 'u');
/**
 * Words: runs of letters and the marks on them. A space narrower than a word space (six-per-em,
 * punctuation, thin, hair, narrow no-break, medium mathematical) does not end a word: "С\u200Alaude"
 * reads as one.
 */
const WORD = /[\p{L}\p{M}\u2006\u2008-\u200A\u202F\u205F]+/gu;
/** Scripts that share look-alike letters: one word may not mix two of them ("Сlаude" with Cyrillic С and а). */
const LOOKALIKE_SCRIPTS = [/\p{sc=Latin}/u, /\p{sc=Cyrillic}/u, /\p{sc=Greek}/u];
/** Most characters of a client name. */
export const MAX_CLIENT_NAME = 200;

/**
 * Why a client name (or other text shown to users) is refused; undefined when it is fine. Applied when
 * a name is given (registration, metadata documents, the CLI and bootstrap file), never to stored names.
 */
export function displayTextProblem(name: string, value: unknown, max = MAX_CLIENT_NAME): string | undefined {
  if (typeof value !== 'string' || value.trim().length === 0) return `${name} must be a non-empty string`;
  if ([...value].length > max) return `${name} must be at most ${max} characters`;
  const text = value.replace(EMOJI, '\u{1F600}').replace(JOINERS, '').replace(SELECTORS, '');
  if (UNSAFE_TEXT.test(text))
    return `${name} must not contain control characters, line breaks, bidirectional formatting characters or invisible characters`;
  if (!/[^\s\p{Z}\p{M}]/u.test(text)) return `${name} must hold something visible, not only spaces and marks`;
  if (BLANK.test([...text][0] ?? '') || BLANK.test([...text].at(-1) ?? '') || BLANK_RUN.test(text))
    return `${name} must not start or end with a space, nor hold two spaces (of any kind) in a row`;
  if (LOOSE_MARK.test(text) || MARK_PILE.test(text))
    return `${name} must not hold a combining mark on no character, nor more than ${MAX_MARKS} on one character`;
  for (const word of text.match(WORD) ?? [])
    if (LOOKALIKE_SCRIPTS.filter((script) => script.test(word)).length > 1)
      return `${name} must not mix Latin, Cyrillic or Greek letters in one word`;
  return undefined;
}

const METHODS: readonly ClientAuthMethod[] = CLIENT_AUTH_METHODS;

/**
 * Validates client metadata and turns it into a record; returns the new secret when one was
 * generated. Throws a ClientMetadataError listing every problem.
 */
export function buildClient(
  config: Config,
  input: ClientInput,
  existing: ClientRecord | undefined,
  now: number,
): { client: ClientRecord; secret?: string } {
  const problems: string[] = [];
  const id = input.client_id;
  if (typeof id !== 'string' || !/^[A-Za-z0-9._~:-]{1,255}$/.test(id))
    problems.push('client_id must be 1-255 characters of A-Z a-z 0-9 . _ ~ : -');
  if (input.client_name !== undefined) {
    const problem = displayTextProblem('client_name', input.client_name);
    if (problem) problems.push(problem);
  }
  const method = input.token_endpoint_auth_method ?? existing?.tokenEndpointAuthMethod ?? 'client_secret_basic';
  if (!METHODS.includes(method)) problems.push(`token_endpoint_auth_method must be one of ${METHODS.join(', ')}`);
  const appType = input.application_type ?? existing?.applicationType ?? 'web';
  if (appType !== 'web' && appType !== 'native') problems.push('application_type must be web or native');
  const grantTypes = input.grant_types ?? existing?.grantTypes ?? ['authorization_code', 'refresh_token'];
  for (const g of grantTypes)
    if (!GRANTS.includes(g)) problems.push(`grant type ${g} is not supported (supported: ${GRANTS.join(', ')})`);
  if (
    grantTypes.includes('refresh_token') &&
    !grantTypes.includes('authorization_code') &&
    !grantTypes.includes('urn:ietf:params:oauth:grant-type:device_code')
  ) {
    problems.push('refresh_token needs the authorization_code or the device_code grant');
  }
  if (grantTypes.includes('client_credentials') && method === 'none')
    problems.push('client_credentials needs a confidential client');
  const tokenExchange = input.token_exchange ?? existing?.metadata.token_exchange;
  if (grantTypes.includes(TOKEN_EXCHANGE)) {
    if (method === 'none') problems.push('token exchange needs a confidential client');
    if (tokenExchange === undefined)
      problems.push('token_exchange (audiences, subject_clients) is required for the token-exchange grant');
    else problems.push(...tokenExchangeProblems(tokenExchange, config.clientJwksAllowLoopback));
  } else if (input.token_exchange !== undefined) {
    problems.push('token_exchange is only for clients registered for the token-exchange grant');
  }
  const redirectUris = input.redirect_uris ?? existing?.redirectUris ?? [];
  const postLogout = input.post_logout_redirect_uris ?? existing?.postLogoutRedirectUris ?? [];
  if (grantTypes.includes('authorization_code') && redirectUris.length === 0)
    problems.push('redirect_uris: at least one is required for the authorization_code grant');
  for (const u of [...redirectUris, ...postLogout]) {
    const problem = typeof u === 'string' ? redirectUriProblem(u, appType) : 'redirect URIs must be strings';
    if (problem) problems.push(problem);
  }
  const scopes = (input.scope ?? existing?.scopes.join(' ') ?? 'openid profile email offline_access')
    .split(/\s+/)
    .filter(Boolean);
  for (const s of scopes) if (!isScopeToken(s)) problems.push(`scope ${s} is not a valid scope token`);
  const resources = input.allowed_resources ?? existing?.allowedResources ?? [];
  for (const r of resources) {
    try {
      new URL(r);
    } catch {
      problems.push(`allowed resource ${r} is not an absolute URI`);
    }
  }

  const metadata: ClientMetadata = buildKeyMetadata(config, input, existing, method, problems);
  for (const key of ['dpop_bound_access_tokens', 'require_pushed_authorization_requests'] as const) {
    const v = input[key];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') problems.push(`${key} must be true or false`);
    else if (v) metadata[key] = true;
    else delete metadata[key];
  }
  if (input.fapi_profile !== undefined) {
    if (input.fapi_profile === null) delete metadata.fapi_profile;
    else if (input.fapi_profile !== '2.0') problems.push('fapi_profile must be "2.0" (or null)');
    else metadata.fapi_profile = '2.0';
  }
  if (metadata.fapi_profile === '2.0' && !FAPI_AUTH_METHODS.includes(method))
    problems.push(
      `a FAPI 2.0 client must authenticate with ${FAPI_AUTH_METHODS.filter((m) => (METHODS as readonly string[]).includes(m)).join(' or ')}`,
    );
  if (input.authorization_details_types !== undefined) {
    const t = input.authorization_details_types;
    if (t === null) delete metadata.authorization_details_types;
    else if (!Array.isArray(t) || !t.every((x) => typeof x === 'string' && x.length > 0 && x.length <= 200))
      problems.push('authorization_details_types must be a list of type names');
    else metadata.authorization_details_types = [...new Set(t)];
  }
  if (input.fapi_message_signing !== undefined) {
    if (typeof input.fapi_message_signing !== 'boolean') problems.push('fapi_message_signing must be true or false');
    else if (input.fapi_message_signing) metadata.fapi_message_signing = true;
    else delete metadata.fapi_message_signing;
  }
  problems.push(...responseAlgMetadata(config, input, metadata));
  // The client's second-factor policy: it can only make TESSERA_MFA stricter (interaction/mfa-policy.ts).
  if ('mfa' in input) {
    const v = input.mfa as unknown;
    if (v === undefined || v === null) delete metadata.mfa;
    else if (v === 'off' || v === 'optional' || v === 'required' || v === 'phishing-resistant') metadata.mfa = v;
    else problems.push('mfa must be one of off, optional, required, phishing-resistant');
  }

  problems.push(...buildMtlsMetadata(input, metadata, method));
  for (const key of ['subject_type', 'sector_identifier_uri'] as const) {
    if (!(key in input)) continue;
    if (input[key] === undefined) delete metadata[key];
    else (metadata as Record<string, unknown>)[key] = input[key];
  }
  if (metadata.subject_type === 'public') delete metadata.subject_type;
  if (metadata.sector_identifier_uri !== undefined) {
    const p = outboundUriProblem(
      'sector_identifier_uri',
      metadata.sector_identifier_uri,
      config.clientJwksAllowLoopback,
    );
    if (p) problems.push(p);
  }
  // OpenID Connect Core 8.1: the sector is fixed per client when it becomes pairwise. A pairwise
  // client stored without one keeps the rule it had (its users' `sub` must not change).
  const legacySector = existing?.metadata.subject_type === 'pairwise' && existing.metadata.sector === undefined;
  problems.push(...subjectProblems({ clientId: id, redirectUris, metadata }, legacySector));
  if (metadata.subject_type !== 'pairwise') delete metadata.sector;
  else if (!legacySector) {
    const sector = sectorFor({ clientId: id, redirectUris, metadata });
    const stored = existing?.metadata.subject_type === 'pairwise' ? existing.metadata.sector : undefined;
    // A change of sector would change every user's `sub` at this client (and, for a self-registered
    // client, let it move to another host's sector): refused, not applied.
    if (stored !== undefined && sector !== undefined && sector !== stored) {
      problems.push(
        `this change would move the pairwise sector from ${stored} to ${sector}, changing every user's sub at this client: keep the redirect URIs within the sector, or give a sector_identifier_uri on ${stored}`,
      );
    } else if (sector !== undefined) metadata.sector = sector;
  }

  logoutMetadata(config, input, metadata, redirectUris, problems);
  problems.push(...displayUriMetadata(config, input, metadata));
  if ('resource_scopes' in input) {
    if (input.resource_scopes === undefined || input.resource_scopes === null) delete metadata.resource_scopes;
    else metadata.resource_scopes = input.resource_scopes;
  }
  if (metadata.resource_scopes !== undefined)
    problems.push(...resourceScopesProblems(metadata.resource_scopes, resources, scopes));

  problems.push(...adminClientProblems(input, existing, metadata, grantTypes, scopes));

  // The PKCE opt-out (protocol/pkce.ts): confidential, operator-made, non-FAPI clients only.
  if ('pkce_required' in input) {
    if (input.pkce_required === false) metadata.pkce_required = false;
    else if (input.pkce_required === true || input.pkce_required === null || input.pkce_required === undefined)
      delete metadata.pkce_required;
    else problems.push('pkce_required must be true or false');
  }
  const pkceProblem = pkceOptOutProblem(config, { tokenEndpointAuthMethod: method, metadata });
  if (pkceProblem) problems.push(pkceProblem);

  let secretHash: string | null = null;
  let secret: string | undefined;
  if (method === 'private_key_jwt' || isMtlsMethod(method)) {
    if (input.client_secret !== undefined)
      problems.push(
        `a ${method} client authenticates with its ${method === 'private_key_jwt' ? 'keys' : 'certificate'} and has no client_secret`,
      );
  } else if (method !== 'none') {
    if (input.client_secret !== undefined) {
      if (typeof input.client_secret !== 'string' || input.client_secret.length === 0)
        problems.push('client_secret must be a non-empty string');
      else if (config.env === 'production' && input.client_secret.length < 32)
        problems.push('client_secret must be at least 32 characters in production');
      else secretHash = hashClientSecret(config.secret, input.client_secret);
    } else if (existing?.secretHash) {
      secretHash = existing.secretHash;
    } else {
      secret = randomToken(32);
      secretHash = hashClientSecret(config.secret, secret);
    }
  } else if (input.client_secret !== undefined) {
    problems.push('a public client (token_endpoint_auth_method none) has no client_secret');
  }
  if (problems.length) throw new ClientMetadataError(id, problems);
  return {
    secret,
    client: {
      clientId: id,
      clientName: input.client_name ?? existing?.clientName ?? id,
      secretHash,
      tokenEndpointAuthMethod: method,
      applicationType: appType,
      redirectUris,
      postLogoutRedirectUris: postLogout,
      grantTypes,
      scopes,
      allowedResources: resources,
      skipConsent: input.skip_consent ?? existing?.skipConsent ?? false,
      disabled: input.disabled ?? existing?.disabled ?? false,
      metadata: grantTypes.includes(TOKEN_EXCHANGE)
        ? { ...metadata, token_exchange: tokenExchange }
        : Object.fromEntries(Object.entries(metadata).filter(([k]) => k !== 'token_exchange')),
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
      // Its first token (ClientStore.markUsed) is a fact of the store, not of the metadata.
      ...(existing?.firstUsedAt !== undefined ? { firstUsedAt: existing.firstUsedAt } : {}),
    },
  };
}

/** The grants of an admin client: client credentials (automation) and the device flow (a person through the CLI). */
const ADMIN_CLIENT_GRANTS: readonly GrantType[] = [
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
];

/**
 * admin_client (issue 20), into `m`: admin scopes (`admin:...`, protocol/admin-scopes.ts) are reserved
 * to admin clients, which hold admin scopes only (each a known one) and only the grants that issue
 * admin tokens; a dynamically registered client (or one from a metadata document) is never one.
 */
function adminClientProblems(
  input: ClientInput,
  existing: ClientRecord | undefined,
  m: ClientMetadata,
  grantTypes: readonly GrantType[],
  scopes: readonly string[],
): string[] {
  if ('admin_client' in input) {
    const v = input.admin_client as unknown;
    if (v === undefined || v === null || v === false) delete m.admin_client;
    else if (v === true) m.admin_client = true;
    else return ['admin_client must be true or false'];
  }
  const admin = scopes.filter(isAdminScope);
  if (m.admin_client !== true)
    return admin.length
      ? [`scope ${admin[0]} is an admin scope: only an admin client (admin_client: true) may have admin scopes`]
      : [];
  const problems: string[] = [];
  if (existing?.metadata.registration !== undefined || m.registration !== undefined)
    problems.push('a dynamically registered client cannot be an admin client');
  const unknown = admin.filter((s) => !knownAdminScope(s));
  if (unknown.length) problems.push(`scope ${unknown.join(', ')}: not an admin scope of this server`);
  if (admin.length === 0 || admin.length !== scopes.length)
    problems.push('an admin client has admin scopes only (at least one), no other scope');
  const others = grantTypes.filter((g) => !ADMIN_CLIENT_GRANTS.includes(g));
  if (others.length)
    problems.push(`an admin client uses only the client_credentials and device_code grants, not ${others.join(', ')}`);
  else if (grantTypes.length === 0) problems.push('an admin client needs the client_credentials or device_code grant');
  return problems;
}

/**
 * The algorithms of what Tessera signs for the client (ID tokens, userinfo, JARM, JWT introspection)
 * and id_token_scope_claims, into `m` (left out: kept; null: removed, back to the default of
 * protocol/tokens/response-algs.ts). An algorithm must be one Tessera signs with
 * (TESSERA_SIGNING_ALGS); a FAPI 2.0 client is refused RS256 (FAPI 2.0 section 5.4.1).
 */
function responseAlgMetadata(config: Config, input: ClientInput, m: ClientMetadata): string[] {
  const problems: string[] = [];
  const offered = offeredAlgs(config);
  const fapi = isFapiClient(config, { metadata: m } as ClientRecord);
  if (fapi && !offered.some((a) => FAPI_ALGS.includes(a)))
    problems.push(
      'a FAPI 2.0 client needs ES256, PS256 or EdDSA in TESSERA_SIGNING_ALGS (its ID tokens may not use RS256)',
    );
  for (const k of [
    'id_token_signed_response_alg',
    'userinfo_signed_response_alg',
    'authorization_signed_response_alg',
    'introspection_signed_response_alg',
  ] as const) {
    if (!(k in input)) continue;
    const alg = input[k] as unknown;
    if (alg === undefined || alg === null) delete m[k];
    else if (typeof alg !== 'string' || !offered.includes(alg))
      problems.push(
        `${k} must be one of ${offered.join(', ')} (the algorithms Tessera signs with, TESSERA_SIGNING_ALGS)`,
      );
    else if (fapi && !FAPI_ALGS.includes(alg))
      problems.push(
        `${k} must be one of ${offered.filter((a) => FAPI_ALGS.includes(a)).join(', ')} for a FAPI 2.0 client (RS256 is not allowed)`,
      );
    else m[k] = alg;
  }
  if ('id_token_scope_claims' in input) {
    const v = input.id_token_scope_claims as unknown;
    if (v === undefined || v === null || v === true) delete m.id_token_scope_claims;
    else if (v === false) m.id_token_scope_claims = false;
    else problems.push('id_token_scope_claims must be true or false');
  }
  return problems;
}

/**
 * The mutual-TLS metadata (RFC 8705): the tls_client_auth subject or SAN (a new value replaces the
 * stored one; switching away from tls_client_auth drops it) and tls_client_certificate_bound_access_tokens.
 */
function buildMtlsMetadata(input: ClientInput, metadata: ClientMetadata, method: ClientAuthMethod): string[] {
  const problems: string[] = [];
  if (TLS_CLIENT_AUTH_FIELDS.some((f) => f in input && input[f] !== undefined)) {
    for (const f of TLS_CLIENT_AUTH_FIELDS) delete metadata[f];
    for (const f of TLS_CLIENT_AUTH_FIELDS) if (input[f] !== undefined) metadata[f] = input[f];
  } else if (method !== 'tls_client_auth') {
    for (const f of TLS_CLIENT_AUTH_FIELDS) delete metadata[f];
  }
  const bound = input.tls_client_certificate_bound_access_tokens;
  if (bound !== undefined) {
    if (typeof bound !== 'boolean') problems.push('tls_client_certificate_bound_access_tokens must be true or false');
    else if (bound) metadata.tls_client_certificate_bound_access_tokens = true;
    else delete metadata.tls_client_certificate_bound_access_tokens;
  }
  // One sender constraint per client: DPoP or the certificate, never both (docs/security.md).
  if (metadata.tls_client_certificate_bound_access_tokens === true && metadata.dpop_bound_access_tokens === true) {
    problems.push(
      'dpop_bound_access_tokens and tls_client_certificate_bound_access_tokens cannot both be true: a token is bound to one key',
    );
  }
  problems.push(...mtlsRegistrationProblems(method, metadata));
  return problems;
}

/** The RFC 7591 URLs shown to users on the consent page. */
export const DISPLAY_URI_FIELDS = ['logo_uri', 'client_uri', 'policy_uri', 'tos_uri'] as const;
/** Most characters of each of them. */
export const MAX_DISPLAY_URI = 2048;

/**
 * logo_uri, client_uri, policy_uri and tos_uri (RFC 7591 section 2), into `m` (left out: kept; null:
 * removed): https URLs without credentials or a fragment, at most MAX_DISPLAY_URI characters (http
 * only on a loopback host with the development allowance). logo_uri is fetched by Tessera, so its
 * host literal must also be a public one (outboundUriProblem); the fetch checks the address again.
 */
function displayUriMetadata(config: Config, input: ClientInput, m: ClientMetadata): string[] {
  const problems: string[] = [];
  for (const k of DISPLAY_URI_FIELDS) {
    if (!(k in input)) continue;
    const v = input[k] as unknown;
    if (v === undefined || v === null) {
      delete m[k];
      continue;
    }
    if (typeof v === 'string' && v.length > MAX_DISPLAY_URI) {
      problems.push(`${k} is longer than ${MAX_DISPLAY_URI} characters`);
      continue;
    }
    const p =
      k === 'logo_uri'
        ? outboundUriProblem(k, v, config.clientJwksAllowLoopback)
        : fetchableUriProblem(k, v, config.clientJwksAllowLoopback);
    if (p) problems.push(p);
    else m[k] = v as string;
  }
  return problems;
}

/**
 * Back- and front-channel logout metadata, into `m` (a field left out keeps its stored value; null
 * removes it). backchannel_logout_uri follows the outbound rules of jwks_uri (https, http loopback
 * only with the development allowance, never a private address literal); frontchannel_logout_uri
 * must share scheme, host and port with a registered redirect URI (Front-Channel Logout 1.0 section 2).
 */
function logoutMetadata(
  config: Config,
  input: ClientInput,
  m: ClientMetadata,
  redirectUris: string[],
  problems: string[],
): void {
  for (const k of [
    'backchannel_logout_uri',
    'backchannel_logout_session_required',
    'frontchannel_logout_uri',
    'frontchannel_logout_session_required',
  ] as const) {
    if (!(k in input)) continue;
    const v = input[k] as unknown;
    if (v === undefined || v === null) delete m[k];
    else (m as Record<string, unknown>)[k] = v;
  }
  for (const k of ['backchannel_logout_session_required', 'frontchannel_logout_session_required'] as const) {
    if (m[k] !== undefined && typeof m[k] !== 'boolean') problems.push(`${k} must be true or false`);
  }
  const back = m.backchannel_logout_uri;
  if (back !== undefined) {
    const p = outboundUriProblem('backchannel_logout_uri', back, config.clientJwksAllowLoopback);
    if (p) problems.push(p);
    else if (back.length > 2048) problems.push('backchannel_logout_uri is longer than 2048 characters');
  }
  const front = m.frontchannel_logout_uri;
  if (front !== undefined) {
    const p = jwksUriProblem(front, config.clientJwksAllowLoopback, 'frontchannel_logout_uri');
    if (p) problems.push(p);
    else if (front.length > 2048) problems.push('frontchannel_logout_uri is longer than 2048 characters');
    else if (
      !redirectUris.some((r) => {
        try {
          return new URL(r).origin === new URL(front).origin;
        } catch {
          return false;
        }
      })
    ) {
      problems.push('frontchannel_logout_uri must have the scheme, host and port of a registered redirect URI');
    }
  }
}

/**
 * The key metadata of a client (jwks or jwks_uri, signing algorithms, require_signed_request_object),
 * validated: the other metadata is kept as it was. A field left out keeps its stored value; giving
 * jwks or jwks_uri replaces both (so a client can move from one to the other).
 */
function buildKeyMetadata(
  config: Config,
  input: ClientInput,
  existing: ClientRecord | undefined,
  method: ClientAuthMethod,
  problems: string[],
): ClientMetadata {
  const m: ClientMetadata = { ...(existing?.metadata ?? {}) };
  if ('jwks' in input || 'jwks_uri' in input) {
    delete m.jwks;
    delete m.jwks_uri;
    if (input.jwks !== undefined) m.jwks = input.jwks;
    if (input.jwks_uri !== undefined) m.jwks_uri = input.jwks_uri;
  }
  for (const k of [
    'token_endpoint_auth_signing_alg',
    'request_object_signing_alg',
    'require_signed_request_object',
  ] as const) {
    if (k in input) {
      if (input[k] === undefined) delete m[k];
      else (m as Record<string, unknown>)[k] = input[k];
    }
  }
  if (m.jwks !== undefined && m.jwks_uri !== undefined) problems.push('jwks and jwks_uri cannot both be given');
  if (m.jwks !== undefined) {
    for (const p of jwksProblems(m.jwks)) problems.push(`jwks ${p}`);
    if (JSON.stringify(m.jwks).length > MAX_JWKS_BYTES) problems.push(`jwks is larger than ${MAX_JWKS_BYTES} bytes`);
  }
  if (m.jwks_uri !== undefined) {
    const p = outboundUriProblem('jwks_uri', m.jwks_uri, config.clientJwksAllowLoopback);
    if (p) problems.push(p);
  }
  const hasKeys = m.jwks !== undefined || m.jwks_uri !== undefined;
  if (method === 'private_key_jwt' && !hasKeys) problems.push('private_key_jwt needs jwks or jwks_uri');
  const authAlg = m.token_endpoint_auth_signing_alg;
  if (authAlg !== undefined) {
    const allowed: readonly string[] =
      method === 'private_key_jwt' ? ASYMMETRIC_ALGS : method === 'client_secret_jwt' ? HMAC_ALGS : [];
    if (!allowed.includes(authAlg)) {
      problems.push(
        allowed.length
          ? `token_endpoint_auth_signing_alg must be one of ${allowed.join(', ')} for ${method}`
          : `token_endpoint_auth_signing_alg applies only to private_key_jwt and client_secret_jwt`,
      );
    }
  }
  const roAlg = m.request_object_signing_alg;
  if (roAlg !== undefined && !(ASYMMETRIC_ALGS as readonly string[]).includes(roAlg))
    problems.push(`request_object_signing_alg must be one of ${ASYMMETRIC_ALGS.join(', ')}`);
  const requireSigned = m.require_signed_request_object;
  if (requireSigned !== undefined && typeof requireSigned !== 'boolean')
    problems.push('require_signed_request_object must be true or false');
  if ((roAlg !== undefined || requireSigned === true) && !hasKeys)
    problems.push("request objects need the client's keys: give jwks or jwks_uri");
  if (method !== 'client_secret_jwt') delete m.client_secret_jwe;
  return m;
}

/**
 * Problems of a URL Tessera will fetch from or post to (jwks_uri, sector_identifier_uri,
 * backchannel_logout_uri): the scheme rules of client-keys.ts, then the host literal itself
 * (public-address.ts outboundHostProblem: private, loopback or special-use addresses and names in
 * any spelling), so such a client is refused when it is registered, not only when a fetch fails.
 */
function outboundUriProblem(name: string, uri: unknown, allowLoopback: boolean): string | undefined {
  const problem = fetchableUriProblem(name, uri, allowLoopback);
  if (problem) return problem;
  const hostProblem = outboundHostProblem(new URL(uri as string).hostname, allowLoopback);
  return hostProblem && `${name} ${hostProblem}`;
}

/**
 * What storing a client uses: the client store, the settings, and the outbound port for the
 * sector_identifier_uri document (without it, a client whose document must be checked is refused).
 */
export interface ClientStoreDeps {
  stores: Pick<Stores, 'clients'>;
  config: Config;
  outbound?: OutboundHttp;
}

/**
 * Validates a client (buildClient), checks its sector_identifier_uri document when that or the
 * redirect URIs changed, wraps a client_secret_jwt secret, and stores it when anything changed.
 * `extra` is metadata the caller sets itself (a registration's token hash). Returns the stored
 * client, the secret when one was generated, whether the record changed, and the record before.
 */
export async function storeClient(
  deps: ClientStoreDeps,
  input: ClientInput,
  now: number,
  extra: Partial<ClientMetadata> = {},
): Promise<{ client: ClientRecord; secret?: string; changed: boolean; existing?: ClientRecord }> {
  const { stores, config } = deps;
  const existing = await stores.clients.get(input.client_id);
  const built = buildClient(config, input, existing, now);
  const { secret } = built;
  let { client } = built;
  client = { ...client, metadata: { ...client.metadata, ...extra } };
  const sectorUri = client.metadata.sector_identifier_uri;
  if (
    typeof sectorUri === 'string' &&
    (sectorUri !== existing?.metadata.sector_identifier_uri ||
      JSON.stringify(client.redirectUris) !== JSON.stringify(existing?.redirectUris))
  ) {
    // OpenID Connect Core 8.1: the document at sector_identifier_uri must list every redirect URI.
    const { outbound } = deps;
    if (!outbound)
      throw new ClientMetadataError(input.client_id, [
        'sector_identifier_uri cannot be checked here (no outbound HTTP client)',
      ]);
    const fetch = (name: string, uri: string, allowLoopback: boolean) =>
      fetchClientJson(outbound, name, uri, allowLoopback);
    const problem = await sectorIdentifierProblem(
      sectorUri,
      client.redirectUris,
      config.clientJwksAllowLoopback,
      fetch,
    );
    if (problem) throw new ClientMetadataError(input.client_id, [problem]);
  }
  if (client.tokenEndpointAuthMethod === 'client_secret_jwt') {
    // The secret itself is kept wrapped (client_secret_jwt verifies an HMAC with it); an unchanged
    // secret keeps its stored wrapping, so applying the same bootstrap file again changes nothing.
    const plain = secret ?? input.client_secret;
    const unchanged = existing?.metadata.client_secret_jwe !== undefined && existing.secretHash === client.secretHash;
    if (plain !== undefined && !unchanged)
      client = {
        ...client,
        metadata: { ...client.metadata, client_secret_jwe: await wrapClientSecret(config.keyEncryptionKey, plain) },
      };
    else if (!unchanged)
      throw new ClientMetadataError(input.client_id, [
        'client_secret_jwt needs the secret itself: give client_secret (or rotate the secret)',
      ]);
  }
  const changed =
    !existing || JSON.stringify({ ...existing, updatedAt: 0 }) !== JSON.stringify({ ...client, updatedAt: 0 });
  if (changed) await stores.clients.put(client);
  return { client, secret, changed, existing };
}
