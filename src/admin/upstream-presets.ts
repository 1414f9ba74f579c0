// The upstream presets (issue 17) as data: what saving a provider with `preset: github` (or google,
// microsoft, gitlab, apple) fills in that the operator did not give. Every URL is built from a base
// URL the operator may override (`base_url`, GitHub's `api_base_url`), for GitHub Enterprise, an
// on-premise GitLab, and the servers the tests start on 127.0.0.1.
import type { UpstreamClaimMapping, UpstreamPreset, UpstreamProvider } from '../ports/upstreams.ts';

/** Microsoft's tenant names that are not a tenant id: their discovery documents carry the `{tenantid}` template. */
export const MICROSOFT_TENANT_NAMES = ['common', 'organizations', 'consumers'] as const;

/** What a preset fills in; the operator's input wins field by field. */
export type PresetDefaults = Pick<UpstreamProvider, 'kind' | 'issuer' | 'scopes' | 'responseMode' | 'clientAuth'> &
  Partial<
    Pick<
      UpstreamProvider,
      'discoveryUrl' | 'authorizationEndpoint' | 'tokenEndpoint' | 'userinfoEndpoint' | 'emailsEndpoint' | 'jwksUri'
    >
  > & { label: string; claims: UpstreamClaimMapping };

export interface PresetOptions {
  /** The upstream's origin (no trailing slash): https://github.com, https://login.microsoftonline.com, ... */
  baseUrl: string;
  /** GitHub: where its REST API answers (https://api.github.com; GitHub Enterprise: <base>/api/v3). */
  apiBaseUrl: string;
  /** Microsoft: common, organizations, consumers or a tenant id. */
  tenant: string;
}

export interface Preset {
  /** The default base URL (and API base URL), overridable. */
  baseUrl: string;
  apiBaseUrl?: string;
  /** Microsoft: the default tenant. */
  tenant?: string;
  /** Whether automatic linking by email may be configured at all (never for Microsoft: nOAuth). */
  autoLink: boolean;
  defaults(o: PresetOptions): PresetDefaults;
}

/** The OIDC standard claim names (OpenID Connect Core 5.1). */
export const OIDC_CLAIMS: UpstreamClaimMapping = {
  subject: 'sub',
  username: 'preferred_username',
  name: 'name',
  email: 'email',
  emailVerified: 'email_verified',
};

export const PRESETS: Record<UpstreamPreset, Preset> = {
  // OAuth 2.0 only: the profile is /user (id, login, name, email maybe null), the verified addresses
  // are /user/emails (primary, verified); GitHub's `id` is the stable account number.
  github: {
    baseUrl: 'https://github.com',
    apiBaseUrl: 'https://api.github.com',
    autoLink: true,
    defaults: ({ baseUrl, apiBaseUrl }) => ({
      label: 'GitHub',
      kind: 'oauth2',
      issuer: baseUrl,
      authorizationEndpoint: `${baseUrl}/login/oauth/authorize`,
      tokenEndpoint: `${baseUrl}/login/oauth/access_token`,
      userinfoEndpoint: `${apiBaseUrl}/user`,
      emailsEndpoint: `${apiBaseUrl}/user/emails`,
      scopes: ['read:user', 'user:email'],
      responseMode: 'query',
      clientAuth: 'client_secret_post',
      claims: { subject: 'id', username: 'login', name: 'name', email: 'email', emailVerified: 'verified' },
    }),
  },
  google: {
    baseUrl: 'https://accounts.google.com',
    autoLink: true,
    defaults: ({ baseUrl }) => ({
      label: 'Google',
      kind: 'oidc',
      issuer: baseUrl,
      scopes: ['openid', 'email', 'profile'],
      responseMode: 'query',
      clientAuth: 'client_secret_basic',
      // Google has no preferred_username: the address's local part is a username's best source.
      claims: { ...OIDC_CLAIMS, username: 'email' },
    }),
  },
  // Entra ID v2.0. For common, organizations and consumers the discovery document's issuer is the
  // template <base>/{tenantid}/v2.0, and each ID token's `iss` must be it with the token's own `tid`.
  // For one tenant id the issuer is that tenant's. `email` is never verified here (nOAuth).
  microsoft: {
    baseUrl: 'https://login.microsoftonline.com',
    tenant: 'common',
    autoLink: false,
    defaults: ({ baseUrl, tenant }) => ({
      label: 'Microsoft',
      kind: 'oidc',
      issuer: `${baseUrl}/${(MICROSOFT_TENANT_NAMES as readonly string[]).includes(tenant) ? '{tenantid}' : tenant}/v2.0`,
      discoveryUrl: `${baseUrl}/${tenant}/v2.0/.well-known/openid-configuration`,
      scopes: ['openid', 'profile', 'email'],
      responseMode: 'query',
      clientAuth: 'client_secret_post',
      claims: { ...OIDC_CLAIMS },
    }),
  },
  gitlab: {
    baseUrl: 'https://gitlab.com',
    autoLink: true,
    defaults: ({ baseUrl }) => ({
      label: 'GitLab',
      kind: 'oidc',
      issuer: baseUrl,
      scopes: ['openid', 'profile', 'email'],
      responseMode: 'query',
      clientAuth: 'client_secret_basic',
      claims: { ...OIDC_CLAIMS, username: 'nickname' },
    }),
  },
  // Apple answers with form_post (the name arrives once, in the `user` form field); its client secret
  // is a short-lived ES256 JWT the adapter signs with the team's key (apple_key_id, apple_team_id).
  apple: {
    baseUrl: 'https://appleid.apple.com',
    autoLink: true,
    defaults: ({ baseUrl }) => ({
      label: 'Apple',
      kind: 'oidc',
      issuer: baseUrl,
      scopes: ['openid', 'name', 'email'],
      responseMode: 'form_post',
      clientAuth: 'client_secret_post',
      claims: { ...OIDC_CLAIMS, username: 'email' },
    }),
  },
};

export const PRESET_NAMES = Object.keys(PRESETS) as UpstreamPreset[];
