// Optional protocol features that TESSERA_FEATURES_DISABLED can turn off. A disabled feature is
// neither advertised in discovery nor accepted: its endpoint answers 404 with an OAuth error body,
// its parameter or grant type is refused with the error its RFC defines for unsupported input.
//
// Features added later add their name and one line of description here, then check
// `featureEnabled(config, name)` where they are advertised (protocol/endpoints/discovery.ts) and
// where they are accepted. Dynamic client registration and self-registration have settings of
// their own (TESSERA_REGISTRATION, TESSERA_SELF_REGISTRATION).

export const FEATURES = {
  par: 'Pushed authorization requests (RFC 9126): /par and request_uri at /authorize.',
  dpop: 'DPoP (RFC 9449): DPoP proofs at /par, /token and /userinfo, and dpop_jkt.',
  request_object: 'Request objects (RFC 9101, JAR): the request parameter at /authorize and /par.',
  device_flow: 'Device authorization grant (RFC 8628): /device_authorization, /device and its grant type.',
  token_exchange: 'Token exchange (RFC 8693): its grant type at /token.',
  jwt_introspection:
    'JWT introspection responses (RFC 9701): Accept: application/token-introspection+jwt at /introspect.',
  rar: 'Rich authorization requests (RFC 9396): the authorization_details parameter.',
  jarm: 'JWT-secured authorization responses (JARM): the jwt response modes, and signed responses for clients registered with authorization_signed_response_alg.',
  mtls: 'Mutual TLS (RFC 8705): tls_client_auth, self_signed_tls_client_auth and certificate-bound access tokens.',
  backchannel_logout: 'OpenID Connect Back-Channel Logout: logout tokens POSTed to backchannel_logout_uri.',
  frontchannel_logout: 'OpenID Connect Front-Channel Logout: frontchannel_logout_uri framed on the signed-out page.',
} as const;

export type Feature = keyof typeof FEATURES;

export const FEATURE_NAMES = Object.keys(FEATURES) as Feature[];

export function isFeature(name: string): name is Feature {
  return Object.hasOwn(FEATURES, name);
}

export function featureEnabled(config: { readonly featuresDisabled: readonly string[] }, feature: Feature): boolean {
  return !config.featuresDisabled.includes(feature);
}
