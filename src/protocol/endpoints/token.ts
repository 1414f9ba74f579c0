import { CLIENT_AUTH_PARAMS, authenticateClient } from '../client-auth/authenticate-client.ts';
import { certificateThumbprint } from '../client-auth/mtls.ts';
import { dpopNonceHeaders, verifyDpopProof } from '../dpop.ts';
import type { ClientRecord } from '../../ports/clients.ts';
import { boundCertificate, type DepsOf, type GrantContext } from '../grants/grant.ts';
import { OAuthError, invalidRequest } from '../errors.ts';
import { grants, type GrantDeps } from '../grants/index.ts';
import { MAX_TOKEN_LENGTH, readParams } from '../params.ts';
import { header, type OAuthResponse, type Provider, type ProtocolRequest } from '../provider.ts';
import { featureEnabled, type Feature } from '../../config/features.ts';
import type { Config } from '../../config/config.ts';
import { checkFapiClientAuth, checkSenderConstrained } from '../fapi.ts';
import { checkGrantCeiling } from '../resources.ts';
import { markFirstUse } from '../clients/usage.ts';

const GRANT_TYPE = new Set(['grant_type']);
const LIMITS = {
  code: 256,
  device_code: 256,
  subject_token: MAX_TOKEN_LENGTH,
  actor_token: MAX_TOKEN_LENGTH,
  audience: 2048,
  refresh_token: Math.min(256, MAX_TOKEN_LENGTH),
  code_verifier: 128,
  redirect_uri: 2048,
  scope: 1024,
  resource: 2048,
  client_id: 255,
  client_secret: 1024,
  authorization_details: 10485760,
};
const paramSets = new Map(
  [...grants.values()].map((g) => [g.grantType, new Set([...g.parameters, ...GRANT_TYPE, ...CLIENT_AUTH_PARAMS])]),
);

export const NO_STORE: Readonly<Record<string, string>> = Object.freeze({
  'cache-control': 'no-store',
  pragma: 'no-cache',
});

/** Grant types of optional features (config/features.ts) are refused while their feature is off. */
const GRANT_FEATURES: Readonly<Record<string, Feature>> = {
  'urn:ietf:params:oauth:grant-type:device_code': 'device_flow',
  'urn:ietf:params:oauth:grant-type:token-exchange': 'token_exchange',
};

export function grantEnabled(p: { readonly config: DepsOf<typeof featureEnabled> }, grantType: string): boolean {
  const feature = GRANT_FEATURES[grantType];
  return feature === undefined || featureEnabled(p.config, feature);
}

/**
 * What the token endpoint uses of the provider: its own reads, what client authentication, DPoP and
 * the FAPI and ceiling checks declare they need, and what the grants need (GrantDeps).
 */
export type TokenDeps = Pick<Provider, 'events'> & {
  readonly config: Pick<Config, 'issuer' | 'dpopRequireNonce' | 'featuresDisabled'>;
} & DepsOf<typeof authenticateClient> &
  DepsOf<typeof verifyDpopProof> &
  DepsOf<typeof dpopNonceHeaders> &
  DepsOf<typeof checkFapiClientAuth> &
  DepsOf<typeof checkSenderConstrained> &
  DepsOf<typeof checkGrantCeiling> &
  DepsOf<typeof markFirstUse> &
  GrantDeps;

/** POST /token: pick the grant, authenticate the client, let the grant issue tokens. */
export async function token(p: TokenDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const { grant_type: grantType } = readParams(req.params, GRANT_TYPE);
  if (!grantType) throw invalidRequest('grant_type is required.');
  const handler = grants.get(grantType);
  if (!handler || !grantEnabled(p, handler.grantType))
    throw new OAuthError('unsupported_grant_type', `grant_type ${grantType.slice(0, 64)} is not supported.`);
  const params = readParams(req.params, paramSets.get(grantType)!, LIMITS);
  const { client, method } = await authenticateClient(p, req, params, { allowPublic: true });
  checkFapiClientAuth(p, client, method, params.client_assertion);
  if (
    !client.grantTypes.includes(handler.grantType as never) ||
    (!handler.allowPublic && client.tokenEndpointAuthMethod === 'none')
  ) {
    throw new OAuthError('unauthorized_client', `This client may not use the ${grantType} grant.`);
  }
  // Self-registered clients: TESSERA_REGISTRATION_GRANT_TYPES is the ceiling, whatever they registered with.
  checkGrantCeiling(p, client, handler.grantType);
  // No DPoP header, no proof (and no promise to wait for on the common path).
  const dpop =
    req.headers.dpop === undefined
      ? undefined
      : await verifyDpopProof(p, req, { htm: 'POST', htu: `${p.config.issuer}/token`, clientId: client.clientId });
  if (!dpop && client.metadata.dpop_bound_access_tokens === true) {
    throw new OAuthError('invalid_dpop_proof', 'This client must send a DPoP proof.', { headers: dpopNonceHeaders(p) });
  }
  const certificate = certificateBinding(req, client, dpop !== undefined);
  // FAPI 2.0: the token must be sender-constrained, by DPoP (cnf.jkt) or its TLS client certificate (cnf x5t#S256).
  const x5t = boundCertificate(certificate);
  checkSenderConstrained(p, client, { jkt: dpop?.jkt, ...(x5t ? { 'x5t#S256': x5t } : {}) }, header(req, 'dpop'));
  const body = await handler.handle(p, req, params, client, { dpop, ...certificate });
  // A self-registered client's first token, recorded once (unused registrations expire: clients/usage.ts).
  const marking = markFirstUse(p, client);
  if (marking !== undefined) await marking;
  p.events({ type: 'token_issued', grantType, clientId: client.clientId, scope: body.scope, ip: req.ip });
  return {
    kind: 'json',
    status: 200,
    body,
    headers: p.config.dpopRequireNonce ? { ...NO_STORE, ...dpopNonceHeaders(p) } : NO_STORE,
  };
}

/**
 * RFC 8705 section 3: what the request's TLS client certificate means for the tokens. A client
 * registered for certificate-bound tokens must present its certificate and send no DPoP proof (a
 * token is bound to one key: docs/security.md); its access tokens then carry cnf x5t#S256.
 */
function certificateBinding(
  req: ProtocolRequest,
  client: ClientRecord,
  hasDpopProof: boolean,
): Pick<GrantContext, 'certThumbprint' | 'certificateBound'> {
  const thumbprint = req.clientCertificate ? certificateThumbprint(req.clientCertificate) : undefined;
  if (client.metadata.tls_client_certificate_bound_access_tokens !== true)
    return thumbprint ? { certThumbprint: thumbprint } : {};
  if (hasDpopProof)
    throw invalidRequest("This client's tokens are bound to its TLS client certificate: send no DPoP proof.");
  if (!thumbprint)
    throw invalidRequest("This client's tokens are bound to its TLS client certificate: the request came without one.");
  return { certThumbprint: thumbprint, certificateBound: true };
}
