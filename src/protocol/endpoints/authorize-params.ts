// The parameters of an authorization request and their length limits, shared by /authorize, /par
// (RFC 9126) and request objects (RFC 9101). A module of its own so those three import it without
// importing each other.

export const AUTHORIZE_PARAMS = new Set([
  'client_id',
  'redirect_uri',
  'response_type',
  'response_mode',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'prompt',
  'max_age',
  'login_hint',
  'resource',
  'request',
  'request_uri',
  'registration',
  'display',
  'ui_locales',
  'claims_locales',
  'id_token_hint',
  'acr_values',
  'claims',
  'dpop_jkt',
  'authorization_details',
  // Issue 17: the upstream identity provider to send the user straight to (Keycloak's kc_idp_hint).
  'tessera_idp_hint',
]);

/** Longest request object (RFC 9101) accepted. */
export const MAX_REQUEST_OBJECT_LENGTH = 16384;

export const AUTHORIZE_LIMITS: Readonly<Record<string, number>> = {
  client_id: 255,
  redirect_uri: 2048,
  scope: 1024,
  nonce: 512,
  state: 4096,
  code_challenge: 128,
  login_hint: 255,
  resource: 2048,
  request_uri: 512,
  dpop_jkt: 64,
  request: MAX_REQUEST_OBJECT_LENGTH,
  // Larger than any body, so an oversized value reaches its own check (invalid_authorization_details).
  authorization_details: 10485760,
  // OIDC Core 5.5 (its JSON is checked further by claims-request.ts) and 3.1.2.1.
  claims: 4096,
  id_token_hint: 8192,
  acr_values: 1024,
  response_mode: 32,
  tessera_idp_hint: 64,
};

/** A language tag of the shape BCP 47 gives them (RFC 5646 section 2.1): a language, then subtags. */
const LANGUAGE_TAG = /^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$/;
/** The most language tags of a ui_locales value kept; nobody prefers more languages than that in order. */
export const MAX_UI_LOCALES = 20;

/**
 * ui_locales (OpenID Connect Core 3.1.2.1) as an interaction keeps it: the space-separated tags of
 * the shape of a language tag, at most MAX_UI_LOCALES of them, or undefined when none is. Anything
 * else is dropped, never refused: the parameter only picks the pages' language.
 */
export function uiLocalesOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const tags = value
    .split(' ')
    .filter((tag) => tag.length <= 35 && LANGUAGE_TAG.test(tag))
    .slice(0, MAX_UI_LOCALES);
  return tags.length ? tags.join(' ') : undefined;
}

/** RFC 9126 section 2.2: the prefix of the request_uri values /par hands out. */
export const PAR_URN = 'urn:ietf:params:oauth:request_uri:';
