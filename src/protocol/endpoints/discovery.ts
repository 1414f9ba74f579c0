import { CLIENT_AUTH_METHODS } from '../../ports/clients.ts';
import { enabledMtlsMethods, isMtlsMethod } from '../client-auth/mtls.ts';
import { DPOP_ALGS } from '../dpop.ts';
import { ASYMMETRIC_ALGS, HMAC_ALGS } from '../client-auth/client-assertion.ts';
import { grants } from '../grants/index.ts';
import type { Config } from '../../config/config.ts';
import { claimsSupported, supportedScopes } from '../scopes.ts';
import { LOCALES } from '../../i18n/negotiate.ts';
import { isAdminScope } from '../admin-scopes.ts';
import { featureEnabled } from '../../config/features.ts';
import { rarEnabled } from '../authorization-details.ts';
import { FAPI_ALGS, FAPI_AUTH_METHODS } from '../fapi.ts';
import { grantEnabled } from './token.ts';
import { ACR_VALUES_SUPPORTED } from '../claims-request.ts';
import { PLAIN_MODES, RESPONSE_MODES } from '../interaction/jarm.ts';

/**
 * The metadata document, generated from what is actually enabled. Same content for both well-known URLs.
 * `registryScopes`: the scopes of the registry of resource servers (listed with TESSERA_REGISTRATION_RESOURCE_SCOPES).
 * `signingAlgs`: the algorithms Tessera signs with that have an active key (offeredAlgs in tokens/response-algs.ts),
 * which ID tokens, userinfo, JARM and JWT introspection answers may use.
 */
export function discoveryDocument(
  config: Config,
  signingAlgs: string[],
  registryScopes: readonly string[] = [],
): Record<string, unknown> {
  const i = config.issuer;
  // The mTLS methods (RFC 8705) only when a client certificate source is configured.
  const mtls = enabledMtlsMethods(config);
  const methods = CLIENT_AUTH_METHODS.filter((m) => !isMtlsMethod(m) || mtls.includes(m));
  const confidentialMethods = methods.filter((m) => m !== 'none');
  const assertionAlgs = [...ASYMMETRIC_ALGS, ...HMAC_ALGS];
  const doc: Record<string, unknown> = {
    issuer: i,
    authorization_endpoint: `${i}/authorize`,
    token_endpoint: `${i}/token`,
    userinfo_endpoint: `${i}/userinfo`,
    jwks_uri: `${i}/jwks`,
    end_session_endpoint: `${i}/logout`,
    introspection_endpoint: `${i}/introspect`,
    revocation_endpoint: `${i}/revoke`,
    pushed_authorization_request_endpoint: `${i}/par`,
    require_pushed_authorization_requests: config.requirePar,
    device_authorization_endpoint: `${i}/device_authorization`,
    // RFC 7591: only when dynamic registration is on (TESSERA_REGISTRATION).
    ...(config.registration !== 'off' ? { registration_endpoint: `${i}/register` } : {}),
    // draft-ietf-oauth-client-id-metadata-document: https client_ids name the client's metadata.
    ...(config.clientIdMetadataDocuments === 'on' ? { client_id_metadata_document_supported: true } : {}),
    // TESSERA_REGISTRATION_RESOURCE_SCOPES: the registry's scopes are offered (to self-registered
    // clients, per resource), so they are listed too.
    // Tessera's admin scopes are reserved to admin clients (protocol/admin-tokens.ts): never listed.
    scopes_supported: [
      ...new Set([
        ...supportedScopes(config.extraScopes),
        ...(config.registrationResourceScopes ? registryScopes : []),
      ]),
    ].filter((s) => !isAdminScope(s)),
    response_types_supported: ['code'],
    response_modes_supported: [...RESPONSE_MODES],
    // JARM: responses are signed with the client's authorization_signed_response_alg (default RS256).
    authorization_signing_alg_values_supported: signingAlgs,
    grant_types_supported: [...grants.keys()],
    subject_types_supported: ['public', 'pairwise'],
    id_token_signing_alg_values_supported: signingAlgs,
    // Signed userinfo answers (application/jwt) for clients registered with userinfo_signed_response_alg.
    userinfo_signing_alg_values_supported: signingAlgs,
    token_endpoint_auth_methods_supported: methods,
    introspection_endpoint_auth_methods_supported: confidentialMethods,
    introspection_signing_alg_values_supported: signingAlgs,
    revocation_endpoint_auth_methods_supported: methods,
    token_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    introspection_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    revocation_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    code_challenge_methods_supported: ['S256'],
    dpop_signing_alg_values_supported: [...DPOP_ALGS],
    ...(mtls.length ? { tls_client_certificate_bound_access_tokens: true } : {}),
    claims_supported: [...claimsSupported(), 'acr'],
    claims_parameter_supported: true,
    // OIDC Discovery 3: the languages of the pages (ui_locales, docs/languages.md).
    ui_locales_supported: [...LOCALES],
    acr_values_supported: [...ACR_VALUES_SUPPORTED],
    request_parameter_supported: true,
    request_object_signing_alg_values_supported: [...ASYMMETRIC_ALGS],
    request_uri_parameter_supported: false,
    authorization_response_iss_parameter_supported: true,
    prompt_values_supported: [
      'none',
      'login',
      'consent',
      'select_account',
      ...(config.selfRegistration ? ['create'] : []),
    ],
    // OpenID Connect Back-Channel and Front-Channel Logout 1.0 (logout tokens and frames always carry sid).
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    frontchannel_logout_supported: true,
    frontchannel_logout_session_supported: true,
    service_documentation: 'https://github.com/tessera-auth/tessera#readme',
  };
  return applyFeatures(config, doc);
}

/**
 * Removes what TESSERA_FEATURES_DISABLED turned off, adds RFC 9396 types, and narrows the document
 * to what TESSERA_FAPI_PROFILE=2.0 allows for every client.
 */
function applyFeatures(config: Config, doc: Record<string, unknown>): Record<string, unknown> {
  const drop = (...keys: string[]) => {
    for (const k of keys) delete doc[k];
  };
  if (!featureEnabled(config, 'par'))
    drop('pushed_authorization_request_endpoint', 'require_pushed_authorization_requests');
  if (!featureEnabled(config, 'dpop')) drop('dpop_signing_alg_values_supported');
  if (!featureEnabled(config, 'request_object')) {
    doc.request_parameter_supported = false;
    drop('request_object_signing_alg_values_supported');
  }
  if (!featureEnabled(config, 'device_flow')) drop('device_authorization_endpoint');
  if (!featureEnabled(config, 'jwt_introspection')) drop('introspection_signing_alg_values_supported');
  if (!featureEnabled(config, 'jarm')) {
    doc.response_modes_supported = [...PLAIN_MODES];
    drop('authorization_signing_alg_values_supported');
  }
  if (!featureEnabled(config, 'backchannel_logout'))
    drop('backchannel_logout_supported', 'backchannel_logout_session_supported');
  if (!featureEnabled(config, 'frontchannel_logout'))
    drop('frontchannel_logout_supported', 'frontchannel_logout_session_supported');
  doc.grant_types_supported = (doc.grant_types_supported as string[]).filter((g) => grantEnabled({ config }, g));
  if (rarEnabled(config))
    doc.authorization_details_types_supported = config.authorizationDetailsTypes.map((t) => t.type);
  if (config.fapiProfile === '2.0') {
    doc.require_pushed_authorization_requests = true;
    for (const k of [
      'token_endpoint_auth_methods_supported',
      'introspection_endpoint_auth_methods_supported',
      'revocation_endpoint_auth_methods_supported',
    ]) {
      doc[k] = (doc[k] as string[]).filter((m) => FAPI_AUTH_METHODS.includes(m));
    }
    for (const k of [
      'token_endpoint_auth_signing_alg_values_supported',
      'introspection_endpoint_auth_signing_alg_values_supported',
      'revocation_endpoint_auth_signing_alg_values_supported',
      'request_object_signing_alg_values_supported',
      'dpop_signing_alg_values_supported',
    ]) {
      if (Array.isArray(doc[k])) doc[k] = (doc[k] as string[]).filter((a) => FAPI_ALGS.includes(a));
    }
    if (config.fapiMessageSigning) doc.require_signed_request_object = true;
  }
  return doc;
}
