import { featureEnabled } from '../config/features.ts';
import { decodeProtectedHeader } from 'jose';
import type { ClientAuthMethod, ClientRecord } from '../ports/clients.ts';
import { OAuthError, invalidClient, invalidRequest } from './errors.ts';
import type { Provider } from './provider.ts';

// FAPI 2.0 Security Profile (and its Message Signing option): which clients it applies to and the
// checks it adds on top of what every client gets. The profile applies to every client when
// TESSERA_FAPI_PROFILE=2.0, else to clients registered with fapi_profile "2.0".

/** What the FAPI checks use of the Provider: the profile setting, and where refusals are reported. */
export type FapiDeps = Pick<Provider, 'config' | 'events'>;

/** Longest authorization code lifetime the profile allows, seconds (FAPI 2.0 section 5.3.2.1). */
export const FAPI_CODE_TTL = 60;

/**
 * Client authentication methods the profile allows (FAPI 2.0 section 5.3.2.1: private_key_jwt or
 * mutual TLS, RFC 8705).
 */
export const FAPI_AUTH_METHODS: readonly string[] = [
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
];

/** FAPI 2.0 section 5.4.1: the only JWS algorithms (Ed25519 is RFC 9864's name for EdDSA with Ed25519). */
export const FAPI_ALGS: readonly string[] = ['PS256', 'ES256', 'EdDSA', 'Ed25519'];

/** The alg of a JWT that was already verified (or is about to be): undefined when it has none. */
function algOf(jwt: string): string | undefined {
  try {
    const alg = decodeProtectedHeader(jwt).alg;
    return typeof alg === 'string' ? alg : undefined;
  } catch {
    return undefined;
  }
}

/** Reports a refusal by the profile (metrics, audit trail) and returns the error to throw. */
function refused(p: FapiDeps, client: ClientRecord, reason: string, err: OAuthError): OAuthError {
  p.events({ type: 'fapi_refused', reason, clientId: client.clientId });
  return err;
}

/** Refuses a JWT of a FAPI client signed with an algorithm outside FAPI_ALGS. */
export function checkFapiAlg(
  p: FapiDeps,
  client: ClientRecord,
  jwt: string | undefined,
  error: () => OAuthError,
): void {
  if (jwt === undefined || !isFapiClient(p.config, client)) return;
  const alg = algOf(jwt);
  if (alg === undefined || !FAPI_ALGS.includes(alg)) throw refused(p, client, 'alg', error());
}

type Settings = { readonly fapiProfile: 'none' | '2.0'; readonly fapiMessageSigning: boolean };

/** Whether the FAPI 2.0 Security Profile applies to this client. */
export function isFapiClient(config: Settings, client: ClientRecord): boolean {
  return config.fapiProfile === '2.0' || client.metadata.fapi_profile === '2.0';
}

/** Whether FAPI 2.0 Message Signing applies to this client (only ever to FAPI clients). */
export function fapiMessageSigning(config: Settings, client: ClientRecord): boolean {
  return isFapiClient(config, client) && (config.fapiMessageSigning || client.metadata.fapi_message_signing === true);
}

/** FAPI 2.0 section 5.3.2.1: confidential clients only, authenticated by private_key_jwt or mTLS. */
export function checkFapiClientAuth(
  p: FapiDeps,
  client: ClientRecord,
  method: ClientAuthMethod | string,
  assertion?: string,
): void {
  if (!isFapiClient(p.config, client)) return;
  if (!FAPI_AUTH_METHODS.includes(method)) {
    throw refused(
      p,
      client,
      'auth_method',
      invalidClient(`FAPI 2.0 client authenticated with ${method}; allowed: ${FAPI_AUTH_METHODS.join(', ')}`),
    );
  }
  checkFapiAlg(p, client, method === 'private_key_jwt' ? assertion : undefined, () =>
    invalidClient(`FAPI 2.0 client assertion signed with an algorithm outside ${FAPI_ALGS.join(', ')}`),
  );
}

/** The confirmation (cnf) an access token would carry: a DPoP key thumbprint or a certificate thumbprint. */
export interface Confirmation {
  jkt?: string;
  'x5t#S256'?: string;
}

/** FAPI 2.0 section 5.3.2.1: access tokens must be sender-constrained; a cnf of either kind will do. */
export function checkSenderConstrained(p: FapiDeps, client: ClientRecord, cnf: Confirmation, dpopProof?: string): void {
  if (!isFapiClient(p.config, client)) return;
  if (cnf.jkt)
    checkFapiAlg(
      p,
      client,
      dpopProof,
      () => new OAuthError('invalid_dpop_proof', `FAPI 2.0 allows only ${FAPI_ALGS.join(', ')} for DPoP proofs.`),
    );
  if (!cnf.jkt && !cnf['x5t#S256']) {
    throw refused(
      p,
      client,
      'sender_constraint',
      invalidRequest(
        'FAPI 2.0 requires sender-constrained access tokens: send a DPoP proof (or use a mutual-TLS client certificate).',
      ),
    );
  }
}

/**
 * FAPI 2.0 Message Signing: authorization requests come as signed request objects (at PAR) and
 * responses as JWTs (JARM: a response_mode ending in "jwt", or none with the client registered for
 * signed responses, authorization_signed_response_alg).
 */
export function checkMessageSigning(
  p: FapiDeps,
  client: ClientRecord,
  signedRequest: boolean,
  responseMode: string | undefined,
): void {
  if (!fapiMessageSigning(p.config, client)) return;
  if (!signedRequest)
    throw refused(
      p,
      client,
      'message_signing',
      invalidRequest('FAPI 2.0 Message Signing requires a signed request object.'),
    );
  const jarm =
    featureEnabled(p.config, 'jarm') &&
    (responseMode === undefined
      ? client.metadata.authorization_signed_response_alg !== undefined
      : responseMode.endsWith('jwt'));
  if (!jarm) {
    throw refused(
      p,
      client,
      'message_signing',
      invalidRequest(
        'FAPI 2.0 Message Signing requires a JWT-secured authorization response (a response_mode ending in jwt).',
      ),
    );
  }
}
