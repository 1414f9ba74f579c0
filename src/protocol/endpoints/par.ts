import type { Stores } from '../../ports/index.ts';
import { CLIENT_AUTH_PARAMS, authenticateClient, type ClientAuthDeps } from '../client-auth/authenticate-client.ts';
import { dpopNonceHeaders, verifyDpopProof, type DpopProofDeps } from '../dpop.ts';
import { OAuthError, invalidRequest } from '../errors.ts';
import { randomToken, tokenHash } from '../hash.ts';
import { readParams } from '../params.ts';
import { header, type OAuthResponse, type Provider, type ProtocolRequest } from '../provider.ts';
import { checkAuthorizationRequest, resolveRedirectUri, type AuthorizationRequestDeps } from './authorize.ts';
import { AUTHORIZE_LIMITS, AUTHORIZE_PARAMS, PAR_URN } from './authorize-params.ts';
import { resolveRequestObject, type RequestObjectDeps } from './request-object.ts';
import { NO_STORE } from './token.ts';
import { featureEnabled } from '../../config/features.ts';
import {
  checkFapiAlg,
  checkFapiClientAuth,
  checkMessageSigning,
  FAPI_ALGS,
  isFapiClient,
  type FapiDeps,
} from '../fapi.ts';

/** What /par uses of the Provider: the pushed-requests store, and the steps it shares with /authorize and /token. */
export type ParDeps = Pick<Provider, 'config' | 'now' | 'events'> & {
  readonly stores: Pick<Stores, 'pushedRequests'>;
} & ClientAuthDeps &
  FapiDeps &
  RequestObjectDeps &
  DpopProofDeps &
  AuthorizationRequestDeps;

const PARAMS = new Set([...AUTHORIZE_PARAMS, ...CLIENT_AUTH_PARAMS]);
const LIMITS = { ...AUTHORIZE_LIMITS, client_secret: 1024 };

/**
 * POST /par (RFC 9126): authenticate the client, validate the authorization parameters exactly as
 * /authorize would, and keep them under a new single-use request_uri for a short time.
 */
export async function par(p: ParDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  if (!featureEnabled(p.config, 'par'))
    throw new OAuthError('invalid_request', 'Pushed authorization requests are disabled on this server.', {
      status: 404,
    });
  const outer = readParams(req.params, PARAMS, LIMITS);
  // Public clients may push too (RFC 9126 section 2.1); they identify themselves with client_id.
  const { client, method } = await authenticateClient(p, req, outer, { allowPublic: true });
  checkFapiClientAuth(p, client, method, outer.client_assertion);
  if (outer.request_uri !== undefined)
    throw invalidRequest('request_uri must not be sent to the pushed authorization request endpoint.');
  if (outer.request !== undefined && !featureEnabled(p.config, 'request_object'))
    throw new OAuthError('request_not_supported', 'Request objects are not supported by this server.');
  // RFC 9126 section 3: a request object pushed here stands for the whole request (RFC 9101 section 5).
  let params = outer;
  if (outer.request !== undefined) params = await resolveRequestObject(p, client, outer.request);
  else if (client.metadata.require_signed_request_object === true)
    throw invalidRequest('This client must send its authorization requests as signed request objects.');
  checkFapiAlg(
    p,
    client,
    outer.request,
    () => new OAuthError('invalid_request_object', `FAPI 2.0 allows only ${FAPI_ALGS.join(', ')} for request objects.`),
  );
  checkMessageSigning(p, client, outer.request !== undefined, params.response_mode);
  // FAPI 2.0 section 5.3.2.2: the redirect_uri is always named in the pushed request.
  if (isFapiClient(p.config, client) && params.redirect_uri === undefined)
    throw invalidRequest('redirect_uri is required (FAPI 2.0).');
  const redirectUri = resolveRedirectUri(client, params);
  if (typeof redirectUri !== 'string') throw invalidRequest(redirectUri.message);
  // RFC 9449 section 10.1: a DPoP proof sent here binds the authorization code to its key.
  const proof = await verifyDpopProof(p, req, {
    htm: 'POST',
    htu: `${p.config.issuer}/par`,
    clientId: client.clientId,
  });
  if (proof)
    checkFapiAlg(
      p,
      client,
      header(req, 'dpop'),
      () => new OAuthError('invalid_dpop_proof', `FAPI 2.0 allows only ${FAPI_ALGS.join(', ')} for DPoP proofs.`),
    );
  if (proof && params.dpop_jkt !== undefined && params.dpop_jkt !== proof.jkt) {
    throw new OAuthError('invalid_dpop_proof', 'dpop_jkt does not match the key of the DPoP proof.');
  }
  await checkAuthorizationRequest(p, client, params, redirectUri);

  // Only authorization parameters are kept (never client_secret), with the proof's key if any.
  const stored: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) if (AUTHORIZE_PARAMS.has(k)) stored[k] = v;
  stored.client_id = client.clientId;
  if (proof) stored.dpop_jkt = proof.jkt;
  const requestUri = PAR_URN + randomToken(32);
  const now = p.now();
  await p.stores.pushedRequests.create({
    uriHash: tokenHash(requestUri),
    clientId: client.clientId,
    params: stored,
    createdAt: now,
    expiresAt: now + p.config.parTtl,
  });
  p.events({ type: 'par_request', clientId: client.clientId, ip: req.ip });
  return {
    kind: 'json',
    status: 201,
    body: { request_uri: requestUri, expires_in: p.config.parTtl },
    headers: { ...NO_STORE, ...dpopNonceHeaders(p) },
  };
}
