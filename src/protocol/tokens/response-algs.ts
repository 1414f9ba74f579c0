// Which key signs what Tessera sends a client. Access tokens are the server's (the primary
// algorithm, TESSERA_SIGNING_ALG); everything addressed to a client is signed with the algorithm
// that client registered for it, else the default the specifications give:
// - ID tokens (and logout tokens, which Back-Channel Logout 1.0 section 2.4 signs like them):
//   id_token_signed_response_alg, default RS256 (OpenID Connect Registration section 2);
// - JARM responses: authorization_signed_response_alg, default RS256 (JARM section 3);
// - JWT introspection responses: introspection_signed_response_alg, default RS256 (RFC 9701 section 6);
// - userinfo: signed only with userinfo_signed_response_alg (plain JSON otherwise).
// A FAPI 2.0 client gets ES256 (else PS256, else EdDSA, whichever is configured first) by default
// and never RS256, which the profile forbids (FAPI 2.0 Security Profile section 5.4.1).
import type { ClientRecord } from '../../ports/clients.ts';
import { OAuthError } from '../errors.ts';
import { FAPI_ALGS, isFapiClient } from '../fapi.ts';
import type { KeyRing } from './keys.ts';
import type { SigningKey } from './signer.ts';

export type SignedArtifact = 'id_token' | 'logout_token' | 'authorization' | 'introspection' | 'userinfo';

/** The client metadata field that names each artifact's algorithm. */
export const ALG_FIELD = {
  id_token: 'id_token_signed_response_alg',
  logout_token: 'id_token_signed_response_alg',
  authorization: 'authorization_signed_response_alg',
  introspection: 'introspection_signed_response_alg',
  userinfo: 'userinfo_signed_response_alg',
} as const satisfies Record<SignedArtifact, string>;

/** The FAPI 2.0 algorithms in the order a FAPI client gets them by default. */
const FAPI_DEFAULTS = ['ES256', 'PS256', 'EdDSA'] as const;

interface AlgSettings {
  readonly signingAlg: string;
  readonly signingAlgs: readonly string[];
  readonly fapiProfile: 'none' | '2.0';
  readonly fapiMessageSigning: boolean;
}

/**
 * The algorithm a client gets when it registered none: RS256 (the specifications' default) when
 * Tessera signs with it, else the primary algorithm; for a FAPI 2.0 client the first of ES256,
 * PS256, EdDSA that is configured (undefined when none is: start-up refuses that under
 * TESSERA_FAPI_PROFILE=2.0, and a per-client FAPI registration needs one, see admin/clients.ts).
 */
export function defaultResponseAlg(config: AlgSettings, client: Pick<ClientRecord, 'metadata'>): string | undefined {
  if (isFapiClient(config, client as ClientRecord)) return FAPI_DEFAULTS.find((a) => config.signingAlgs.includes(a));
  return config.signingAlgs.includes('RS256') ? 'RS256' : config.signingAlg;
}

/**
 * The algorithm of `artifact` for this client: the registered one, else the default; undefined for
 * userinfo when the client registered none (plain JSON). A FAPI client's registered algorithm
 * outside the profile's (RS256 recorded by migration 0016 on a server that signed with RS256) is
 * replaced by the FAPI default.
 */
export function responseAlg(
  config: AlgSettings,
  client: Pick<ClientRecord, 'metadata'>,
  artifact: SignedArtifact,
): string | undefined {
  const registered = client.metadata[ALG_FIELD[artifact]];
  if (typeof registered === 'string') {
    if (!isFapiClient(config, client as ClientRecord) || FAPI_ALGS.includes(registered)) return registered;
    return defaultResponseAlg(config, client);
  }
  return artifact === 'userinfo' ? undefined : defaultResponseAlg(config, client);
}

/**
 * The error when no active key has the algorithm a client is registered for (it was taken out of TESSERA_SIGNING_ALGS
 * and retired).
 */
export function unavailableAlg(artifact: SignedArtifact, alg: string | undefined): OAuthError {
  return new OAuthError(
    'unauthorized_client',
    'This server cannot sign with the algorithm this client is registered for.',
    { detail: `${ALG_FIELD[artifact]} ${String(alg)}: no active key` },
  );
}

/** The key that signs `artifact` for this client; throws unauthorized_client when no active key has its algorithm. */
export function responseSigner(
  p: { config: AlgSettings; keys(): KeyRing },
  client: Pick<ClientRecord, 'metadata'>,
  artifact: SignedArtifact,
): SigningKey {
  const alg = responseAlg(p.config, client, artifact);
  const key = alg === undefined ? undefined : p.keys().signer(alg);
  if (!key) throw unavailableAlg(artifact, alg);
  return key;
}

/**
 * The algorithms a client may register for what Tessera signs, and discovery lists: those Tessera
 * signs with (TESSERA_SIGNING_ALGS) that have an active key, narrowed to the FAPI 2.0 ones under
 * TESSERA_FAPI_PROFILE=2.0.
 */
export function offeredAlgs(config: AlgSettings, ring?: KeyRing): string[] {
  return config.signingAlgs.filter(
    (a) => (!ring || ring.signer(a) !== undefined) && (config.fapiProfile !== '2.0' || FAPI_ALGS.includes(a)),
  );
}
