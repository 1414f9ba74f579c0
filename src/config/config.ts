import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import { parseRateLimits, type RateLimitTable } from './rate-limits.ts';
import { DEV_KEK, DEV_SECRET, settings, type Mode, type Setting } from './settings.ts';
import { keyScheduleProblems } from './key-schedule.ts';
import { FEATURE_NAMES, isFeature } from './features.ts';
import { parseAuthorizationDetailsTypes, type AuthorizationDetailsType } from './authorization-details-types.ts';
import { MCP_LATEST, MCP_UNSUPPORTED_REASON, MCP_UNSUPPORTED_REVISION, mcpProfileDefaults } from './mcp-profile.ts';
import { brandSettingsProblems, isLoopbackHost } from './branding.ts';

export type SigningAlg = 'ES256' | 'RS256' | 'PS256' | 'EdDSA';

export interface Config {
  readonly env: Mode;
  readonly issuer: string;
  readonly host: string;
  readonly port: number;
  readonly secret: string;
  readonly keyEncryptionKey: string;
  readonly keyEncryptionKeyPrevious: string | undefined;
  /** The server secret being replaced (TESSERA_SECRET_PREVIOUS): accepted, never used to make anything new. */
  readonly secretPrevious: string | undefined;
  /** The key of pairwise subjects: TESSERA_PAIRWISE_SECRET, else TESSERA_SECRET (filled in by the loader). */
  readonly pairwiseSecret: string;
  readonly databaseUrl: string;
  readonly migrateOnStart: boolean;
  readonly bootstrapFile: string | undefined;
  readonly seedDemo: boolean;
  readonly signingAlg: SigningAlg;
  /** Every algorithm Tessera signs with, the primary one (signingAlg) first. */
  readonly signingAlgs: readonly SigningAlg[];
  readonly accessTokenTtl: number;
  readonly idTokenTtl: number;
  readonly jarmTtl: number;
  readonly codeTtl: number;
  readonly refreshIdleTtl: number;
  readonly refreshAbsoluteTtl: number;
  readonly sessionIdleTtl: number;
  readonly sessionAbsoluteTtl: number;
  readonly interactionTtl: number;
  readonly clientCacheTtl: number;
  readonly keyReloadSeconds: number;
  readonly keyRotationDays: number;
  readonly keyPrepublishSeconds: number;
  readonly shutdownDrainSeconds: number;
  readonly loginMaxFailures: number;
  readonly loginAccountMaxFailures: number;
  readonly loginSourceMaxFailures: number;
  readonly loginWindow: number;
  readonly parTtl: number;
  readonly requirePar: boolean;
  readonly selfRegistration: boolean;
  readonly selfRegistrationEmail: 'optional' | 'required';
  readonly mfa: 'off' | 'optional' | 'required' | 'phishing-resistant';
  readonly mfaEnrolGrace: number;
  readonly mfaRememberDevice: number;
  readonly factorMaxFailures: number;
  /** Undefined: the issuer's host (webauthnRpIdFor). */
  readonly webauthnRpId: string | undefined;
  readonly webauthnOrigins: readonly string[];
  readonly recentAuth: number;
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string | undefined;
  /** TESSERA_DEFAULT_LOCALE: the pages' and mails' language when nothing else names one (i18n/negotiate.ts). */
  readonly defaultLocale: 'en' | 'de' | 'fr';
  /** TESSERA_BRAND_*: the branding's defaults (config/branding.ts); stored branding wins. */
  readonly brandName: string | undefined;
  readonly brandPrimaryColor: string | undefined;
  readonly brandPrivacyUrl: string | undefined;
  readonly brandTermsUrl: string | undefined;
  readonly brandSupportUrl: string | undefined;
  readonly mailDir: string;
  readonly smtpTimeout: number;
  readonly upstreamTimeout: number;
  readonly upstreamStateTtl: number;
  readonly emailVerification: 'off' | 'after-sign-in' | 'before-sign-in';
  readonly emailLinkTtl: number;
  readonly passwordReset: boolean;
  readonly passwordResetTtl: number;
  readonly notifications: readonly string[];
  readonly webhooks: boolean;
  readonly webhookMaxAttempts: number;
  readonly webhookTimeoutMs: number;
  readonly usernameReservation: number;
  readonly dpopProofWindow: number;
  readonly dpopRequireNonce: boolean;
  readonly clientJwtMaxLifetime: number;
  readonly clockSkew: number;
  readonly assertionTokenEndpointAudience: boolean;
  readonly clientJwksCacheTtl: number;
  readonly clientJwksRefetchInterval: number;
  readonly clientJwksAllowLoopback: boolean;
  readonly registration: 'off' | 'open' | 'initial_access_token' | 'admin_approval';
  /** The ceiling of grant types for dynamically registered clients (TESSERA_REGISTRATION_GRANT_TYPES). */
  readonly registrationGrantTypes: readonly string[];
  /** The ceiling of scopes for dynamically registered clients (TESSERA_REGISTRATION_SCOPES). */
  readonly registrationScopes: readonly string[];
  readonly mcpProfile: 'off' | '2025-06-18' | '2025-11-25' | '2026-07-28' | 'latest';
  readonly clientIdMetadataDocuments: 'off' | 'on';
  readonly cimdTrust: 'open' | 'allow_list' | 'deny_list';
  readonly cimdHosts: readonly string[];
  readonly cimdAllowLoopback: boolean;
  /** Seconds; 0: off. */
  readonly refreshReuseGrace: number;
  readonly corsAnyOrigin: boolean;
  /** Seconds; 0: never. */
  readonly registrationUnusedTtl: number;
  readonly registrationApplicationType: 'web' | 'infer';
  readonly resourceRegistryOnly: boolean;
  /**
   * Registry scopes join the ceiling of self-registered clients, per resource (TESSERA_REGISTRATION_RESOURCE_SCOPES).
   */
  readonly registrationResourceScopes: boolean;
  readonly backchannelLogoutTimeout: number;
  readonly backchannelLogoutAttempts: number;
  readonly deviceCodeTtl: number;
  readonly devicePollInterval: number;
  readonly deviceMaxFailures: number;
  readonly deviceFailureWindow: number;
  readonly defaultAudience: string;
  /** TESSERA_FEATURES_DISABLED: names from config/features.ts. */
  readonly featuresDisabled: readonly string[];
  /** RFC 9396 types accepted in authorization_details, parsed from TESSERA_AUTHORIZATION_DETAILS_TYPES. */
  readonly authorizationDetailsTypes: readonly AuthorizationDetailsType[];
  readonly fapiProfile: 'none' | '2.0';
  readonly fapiMessageSigning: boolean;
  readonly extraScopes: readonly string[];
  readonly defaultScope: readonly string[];
  readonly cookieSecure: boolean;
  /** SameSite of the session cookie only (none: production only, with Secure). */
  readonly cookieSameSite: 'lax' | 'strict' | 'none';
  readonly corsOrigins: readonly string[];
  readonly trustProxy: readonly string[];
  readonly tlsCertFile: string | undefined;
  readonly tlsKeyFile: string | undefined;
  /** Lower-cased. */
  readonly mtlsCertHeader: string | undefined;
  readonly mtlsCaFile: string | undefined;
  /** The certificates of TESSERA_MTLS_CA_FILE, parsed at start-up. */
  readonly mtlsCaCertificates: readonly X509Certificate[];
  readonly redisUrl: string | undefined;
  readonly redisCluster: boolean;
  readonly redisPrefix: string;
  readonly redisTimeout: number;
  readonly rateLimiting: boolean;
  /** TESSERA_RATE_LIMITS applied to the defaults. */
  readonly rateLimits: RateLimitTable;
  /** TESSERA_RATE_LIMIT_IPV6_PREFIX: IPv6 addresses are counted by this prefix in every per-address limit. */
  readonly rateLimitIpv6Prefix: number;
  readonly metricsToken: string | undefined;
  readonly metricsPort: number | undefined;
  readonly metricsHost: string;
  /** TESSERA_TRACING: off loads no OpenTelemetry code (observability/tracing.ts). */
  readonly tracing: 'off' | 'otlp';
  /**
   * OTLP/HTTP traces URL: TESSERA_OTLP_ENDPOINT, else from the OTEL_EXPORTER_OTLP_* variables, else the collector's
   * default.
   */
  readonly otlpEndpoint: string;
  readonly serviceName: string;
  readonly adminToken: string | undefined;
  readonly adminTokenTtl: number;
  readonly adminConsole: boolean;
  readonly adminPort: number | undefined;
  readonly adminHost: string;
  readonly clientSecretOverlap: number;
  readonly auditRetentionDays: number;
  readonly workers: number;
  readonly bodyLimit: number;
  readonly logLevel: string;
  /** Warnings about development defaults, to print loudly at start-up. */
  readonly warnings: readonly string[];
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Raw = Record<string, unknown>;

/**
 * The YAML parser (some 10 MB of a process's memory), loaded by the first YAML document read (a
 * configuration, bootstrap or upstreams file), not at start: most instances are configured by their
 * environment. require() keeps the readers synchronous.
 */
export const yaml = (): typeof import('yaml') => createRequire(import.meta.url)('yaml');

function readFile(path: string): Raw {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`TESSERA_CONFIG_FILE: cannot read ${path}: ${(err as Error).message}`]);
  }
  let parsed: unknown;
  // Loaded outside the try: a parser that cannot be loaded is not a file that does not parse.
  const parse: (text: string) => unknown = path.endsWith('.json') ? JSON.parse : yaml().parse;
  try {
    parsed = parse(text);
  } catch (err) {
    throw new ConfigError([
      `TESSERA_CONFIG_FILE: ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
    ]);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError([`TESSERA_CONFIG_FILE: ${path} must hold an object of settings`]);
  }
  const known = new Set(settings.map((s) => s.key));
  const unknown = Object.keys(parsed).filter((k) => !known.has(k));
  if (unknown.length) throw new ConfigError(unknown.map((k) => `${path}: unknown setting "${k}"`));
  return parsed as Raw;
}

function coerce(s: Setting, value: unknown, where: string, problems: string[]): unknown {
  const name = `${where} (${s.env})`;
  switch (s.type) {
    case 'string':
      if (typeof value !== 'string' || value === '') {
        problems.push(`${name}: must be a non-empty string`);
        return undefined;
      }
      return value;
    case 'enum':
      if (typeof value !== 'string' || !s.values!.includes(value)) {
        problems.push(`${name}: must be one of ${s.values!.join(', ')}`);
        return undefined;
      }
      return value;
    case 'int': {
      const n =
        typeof value === 'number'
          ? value
          : typeof value === 'string' && /^-?\d+$/.test(value.trim())
            ? Number(value)
            : NaN;
      if (!Number.isSafeInteger(n)) {
        problems.push(`${name}: must be an integer`);
        return undefined;
      }
      if (s.min !== undefined && n < s.min) {
        problems.push(`${name}: must be at least ${s.min}`);
        return undefined;
      }
      if (s.max !== undefined && n > s.max) {
        problems.push(`${name}: must be at most ${s.max}`);
        return undefined;
      }
      return n;
    }
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|1|yes|on)$/i.test(value)) return true;
      if (typeof value === 'string' && /^(false|0|no|off)$/i.test(value)) return false;
      problems.push(`${name}: must be true or false`);
      return undefined;
    case 'list':
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
      if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
      problems.push(`${name}: must be a list of strings`);
      return undefined;
  }
}

/**
 * TESSERA_CIMD_HOSTS in the form client_id hosts are compared in (protocol/clients/metadata-document.ts
 * hostMatches): a host name as the URL parser gives it (ASCII, internationalised names in punycode,
 * lower case), without a trailing dot, with an optional leading `*.`; or an IP address as the URL
 * parser writes it (IPv6 in brackets). A scheme, port, path, user info, empty label or `*` anywhere
 * else is refused: such an entry could never match, and a deny list would silently let the host in.
 */
export function cimdHostEntries(entries: readonly string[], problems: string[]): string[] {
  const out: string[] = [];
  for (const entry of entries) {
    const bad = (why: string) =>
      problems.push(
        `TESSERA_CIMD_HOSTS: "${entry}" is not a host name (${why}); write a name such as client.example.com, *.example.com or bücher.de`,
      );
    const wildcard = entry.startsWith('*.');
    const name = wildcard ? entry.slice(2) : entry;
    const ipv6 = /^\[[0-9a-fA-F:.]+\]$/.test(name);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(name)) bad('a host, not a URL: no scheme');
    else if (name.includes('@')) bad('no user info');
    else if (/[/?#\\]/.test(name)) bad('no path, query or fragment');
    else if (!ipv6 && name.includes(':')) bad('no port');
    else if (name.includes('*')) bad('`*.` only at the start');
    else if (/[\s%]/.test(name) || name === '') bad('no spaces or percent-encoding');
    else {
      let host: string | undefined;
      try {
        host = new URL(`https://${name}/`).hostname.replace(/\.$/, '');
      } catch {
        host = undefined;
      }
      const literal = host !== undefined && (/^\[[0-9a-f:.]+\]$/.test(host) || /^\d+\.\d+\.\d+\.\d+$/.test(host));
      if (host === undefined || !(literal || /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/.test(host)))
        bad('empty labels and characters a host name cannot hold are refused');
      else if (wildcard && literal) bad('`*.` goes with names, not IP addresses');
      else out.push(wildcard ? `*.${host}` : host);
    }
  }
  return [...new Set(out)];
}

/** Loads, validates and freezes the configuration. Throws ConfigError naming every bad setting. */
/**
 * The traces URL: TESSERA_OTLP_ENDPOINT, else the OpenTelemetry SDK's own variables (a traces URL
 * as it is, a base URL with /v1/traces added), else a collector on this host.
 */
function otlpEndpoint(value: string | undefined, env: NodeJS.ProcessEnv, problems: string[]): string {
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const [name, url] =
    value !== undefined
      ? ['TESSERA_OTLP_ENDPOINT', value]
      : env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim()
        ? ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.trim()]
        : base
          ? ['OTEL_EXPORTER_OTLP_ENDPOINT', `${base.replace(/\/+$/, '')}/v1/traces`]
          : ['', 'http://localhost:4318/v1/traces'];
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    /* reported below */
  }
  if (!parsed || !/^https?:$/.test(parsed.protocol)) problems.push(`${name}: "${url}" must be an http or https URL`);
  return url;
}

export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Record<string, unknown>> = {},
): Config {
  const file = env.TESSERA_CONFIG_FILE ? readFile(env.TESSERA_CONFIG_FILE) : {};
  const problems: string[] = [];
  const raw: Record<string, unknown> = {};
  const sources: Record<string, SettingSource> = {};
  for (const s of settings) {
    let value: unknown;
    let where = s.env;
    let source: SettingSource = 'env';
    if (s.key in overrides && overrides[s.key] !== undefined) {
      value = overrides[s.key];
      where = s.key;
      source = 'override';
    } else if (env[s.env] !== undefined && env[s.env] !== '') {
      value = env[s.env];
    } else if (file[s.key] !== undefined) {
      value = file[s.key];
      where = `${env.TESSERA_CONFIG_FILE}: ${s.key}`;
      source = 'file';
    }
    if (value === undefined) continue;
    sources[s.key] = source;
    // The first MCP revision with authorization: named, so that the refusal says why.
    if (s.key === 'mcpProfile' && String(value).trim() === MCP_UNSUPPORTED_REVISION) {
      problems.push(MCP_UNSUPPORTED_REASON);
      continue;
    }
    raw[s.key] = coerce(s, value, where, problems);
  }
  const mode: Mode = (raw.env as Mode | undefined) ?? (env.NODE_ENV === 'production' ? 'production' : 'development');
  // The MCP profile (config/mcp-profile.ts): after the explicit values, before the defaults.
  for (const [key, value] of Object.entries(mcpProfileDefaults(raw.mcpProfile as string | undefined))) {
    if (key in sources) continue;
    raw[key] = Array.isArray(value) ? [...value] : value;
    sources[key] = 'profile';
  }
  for (const s of settings) {
    if (raw[s.key] !== undefined || s.key in sources) continue;
    const d = typeof s.default === 'function' ? s.default(mode) : s.default;
    sources[s.key] = 'default';
    if (d !== undefined) raw[s.key] = d;
  }
  raw.env = mode;
  const warnings: string[] = [];
  const prod = mode === 'production';

  // Issuer
  if (raw.issuer === undefined) {
    if (prod) problems.push('TESSERA_ISSUER: required in production');
    else raw.issuer = `${raw.tlsCertFile !== undefined ? 'https' : 'http'}://localhost:${raw.port || 4000}`;
  }
  if (typeof raw.issuer === 'string') {
    let u: URL | undefined;
    try {
      u = new URL(raw.issuer);
    } catch {
      problems.push('TESSERA_ISSUER: must be an absolute URL');
    }
    if (u) {
      if (u.search || u.hash) problems.push('TESSERA_ISSUER: must not have a query or fragment');
      if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopbackHost(u.hostname))) {
        problems.push('TESSERA_ISSUER: must use https (http is allowed only on a loopback host)');
      } else if (prod && u.protocol === 'http:') {
        warnings.push('TESSERA_ISSUER uses http on a loopback host: fine for a local trial, never for real users');
      }
      raw.issuer = String(raw.issuer).replace(/\/+$/, '');
    }
  }

  problems.push(...webauthnProblems(raw));
  problems.push(...brandSettingsProblems(raw));

  // Secrets
  for (const [key, envName, dev] of [
    ['secret', 'TESSERA_SECRET', DEV_SECRET],
    ['keyEncryptionKey', 'TESSERA_KEY_ENCRYPTION_KEY', DEV_KEK],
  ] as const) {
    const v = raw[key];
    if (v === undefined) {
      problems.push(`${envName}: required in production (at least 32 bytes of random data)`);
      continue;
    }
    if (typeof v !== 'string') continue;
    if (v === dev) {
      if (prod) problems.push(`${envName}: the development default is refused in production`);
      else
        warnings.push(
          `${envName} is the development default: anyone can read it in the source. Set a random value of at least 32 bytes.`,
        );
    } else if (Buffer.byteLength(v) < 32) {
      problems.push(`${envName}: must be at least 32 bytes (got ${Buffer.byteLength(v)})`);
    }
  }
  if (typeof raw.secret === 'string' && raw.secret === raw.keyEncryptionKey && raw.secret !== undefined && prod) {
    problems.push('TESSERA_KEY_ENCRYPTION_KEY: must differ from TESSERA_SECRET');
  }

  // KEK rotation: the previous key-encryption key follows the same rules and differs from the current one.
  if (typeof raw.keyEncryptionKeyPrevious === 'string') {
    const v = raw.keyEncryptionKeyPrevious;
    if (Buffer.byteLength(v) < 32)
      problems.push(`TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS: must be at least 32 bytes (got ${Buffer.byteLength(v)})`);
    else if (v === raw.keyEncryptionKey)
      problems.push('TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS: must differ from TESSERA_KEY_ENCRYPTION_KEY');
    else if (prod && v === DEV_KEK)
      problems.push('TESSERA_KEY_ENCRYPTION_KEY_PREVIOUS: the development default is refused in production');
  }

  // Server-secret rotation: the previous secret follows the same rules and differs from the current
  // one; pairwise subjects must not follow the rotation, so their key is pinned while it runs.
  if (typeof raw.secretPrevious === 'string') {
    const v = raw.secretPrevious;
    if (Buffer.byteLength(v) < 32)
      problems.push(`TESSERA_SECRET_PREVIOUS: must be at least 32 bytes (got ${Buffer.byteLength(v)})`);
    else if (v === raw.secret) problems.push('TESSERA_SECRET_PREVIOUS: must differ from TESSERA_SECRET');
    else if (prod && v === DEV_SECRET)
      problems.push('TESSERA_SECRET_PREVIOUS: the development default is refused in production');
    if (raw.pairwiseSecret === undefined) {
      const message =
        'TESSERA_PAIRWISE_SECRET: must be set during a TESSERA_SECRET rotation (to the secret the pairwise subjects were made with, usually TESSERA_SECRET_PREVIOUS), or every pairwise sub changes';
      if (prod) problems.push(message);
      else warnings.push(message);
    }
  }
  if (typeof raw.pairwiseSecret === 'string') {
    if (Buffer.byteLength(raw.pairwiseSecret) < 32)
      problems.push(
        `TESSERA_PAIRWISE_SECRET: must be at least 32 bytes (got ${Buffer.byteLength(raw.pairwiseSecret)})`,
      );
    else if (prod && raw.pairwiseSecret === DEV_SECRET)
      problems.push('TESSERA_PAIRWISE_SECRET: the development default is refused in production');
  }
  raw.pairwiseSecret ??= raw.secretPrevious ?? raw.secret;

  // Key schedule
  if (
    typeof raw.keyPrepublishSeconds === 'number' &&
    typeof raw.keyRotationDays === 'number' &&
    typeof raw.keyReloadSeconds === 'number'
  ) {
    problems.push(
      ...keyScheduleProblems({
        rotationPeriod: raw.keyRotationDays * 86_400,
        prepublishLead: raw.keyPrepublishSeconds,
        keyReloadSeconds: raw.keyReloadSeconds,
      }),
    );
  }

  // Cookies
  if (raw.cookieSecure === false) {
    if (prod)
      problems.push(
        'TESSERA_COOKIE_SECURE: must be true in production (session cookies must not travel over plain HTTP)',
      );
    else warnings.push('TESSERA_COOKIE_SECURE is false: session cookies are sent over plain HTTP (development only)');
  }
  if (raw.cookieSameSite === 'none' && !prod) {
    problems.push(
      'TESSERA_COOKIE_SAMESITE: none is for production only (a SameSite=None cookie must be Secure, over https)',
    );
  }
  if (raw.cookieSecure === true && typeof raw.issuer === 'string' && raw.issuer.startsWith('http:') && !prod) {
    warnings.push(
      'TESSERA_COOKIE_SECURE is true with an http issuer: browsers other than on localhost will drop the session cookie',
    );
  }

  // Token lifetimes
  if (
    typeof raw.refreshIdleTtl === 'number' &&
    typeof raw.refreshAbsoluteTtl === 'number' &&
    raw.refreshIdleTtl > raw.refreshAbsoluteTtl
  ) {
    problems.push('TESSERA_REFRESH_IDLE_TTL: must not exceed TESSERA_REFRESH_ABSOLUTE_TTL');
  }
  if (
    typeof raw.sessionIdleTtl === 'number' &&
    typeof raw.sessionAbsoluteTtl === 'number' &&
    raw.sessionIdleTtl > raw.sessionAbsoluteTtl
  ) {
    problems.push('TESSERA_SESSION_IDLE_TTL: must not exceed TESSERA_SESSION_ABSOLUTE_TTL');
  }

  if (typeof raw.databaseUrl === 'string' && !/^(sqlite:|postgres:\/\/|postgresql:\/\/)/.test(raw.databaseUrl)) {
    problems.push('DATABASE_URL: must start with sqlite: or postgres://');
  }
  if (typeof raw.defaultAudience === 'string') {
    try {
      new URL(raw.defaultAudience);
    } catch {
      problems.push('TESSERA_DEFAULT_AUDIENCE: must be an absolute URI');
    }
  }
  for (const scope of (raw.extraScopes as string[] | undefined) ?? []) {
    if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope))
      problems.push(`TESSERA_EXTRA_SCOPES: "${scope}" is not a valid scope token`);
  }
  for (const scope of (raw.defaultScope as string[] | undefined) ?? []) {
    const offered = [
      'openid',
      'profile',
      'email',
      'offline_access',
      ...((raw.extraScopes as string[] | undefined) ?? []),
    ];
    if (!offered.includes(scope)) problems.push(`TESSERA_DEFAULT_SCOPE: "${scope}" is not a scope this server offers`);
    else if (scope === 'openid')
      problems.push('TESSERA_DEFAULT_SCOPE: openid cannot be a default: an OpenID Connect request names it');
  }
  if (typeof raw.redisUrl === 'string') {
    const urls =
      raw.redisCluster === true
        ? raw.redisUrl
            .split(',')
            .map((u) => u.trim())
            .filter(Boolean)
        : [raw.redisUrl];
    if (raw.redisCluster !== true && raw.redisUrl.includes(','))
      problems.push('REDIS_URL: a list of nodes needs TESSERA_REDIS_CLUSTER=true');
    else {
      for (const u of urls) {
        let url: URL | undefined;
        try {
          url = new URL(u);
        } catch {
          /* reported below */
        }
        if (!url || !/^rediss?:$/.test(url.protocol) || !url.hostname)
          problems.push(`REDIS_URL: "${redisUrlForDisplay(u)}" must be redis://host:port or rediss://host:port`);
        else if (prod && url.protocol === 'redis:' && !isLoopbackHost(url.hostname))
          warnings.push(
            `REDIS_URL uses plain redis:// to ${url.hostname}: use rediss:// (TLS) unless the network between Tessera and Redis is private`,
          );
      }
    }
  }
  if (Array.isArray(raw.rateLimits)) raw.rateLimits = parseRateLimits(raw.rateLimits as string[], problems);
  raw.otlpEndpoint = otlpEndpoint(raw.otlpEndpoint as string | undefined, env, problems);
  if (typeof raw.metricsToken === 'string' && raw.metricsToken.length < 32)
    problems.push('TESSERA_METRICS_TOKEN: must be at least 32 characters');
  if (typeof raw.adminToken === 'string') {
    const t = raw.adminToken;
    if (t.length < 32) problems.push('TESSERA_ADMIN_TOKEN: must be at least 32 characters');
    else if (prod && (t === raw.secret || t === raw.keyEncryptionKey || t === raw.metricsToken))
      problems.push('TESSERA_ADMIN_TOKEN: must differ from the other secrets');
    else if (prod && new Set(t).size < 16)
      problems.push(
        'TESSERA_ADMIN_TOKEN: too weak (fewer than 16 different characters); use a random value, e.g. openssl rand -base64 48',
      );
  }
  if (prod && raw.seedDemo === true) problems.push('TESSERA_SEED_DEMO: demo accounts are refused in production');
  if (prod && raw.cimdAllowLoopback === true)
    problems.push('TESSERA_CIMD_ALLOW_LOOPBACK: for tests only; refused in production');
  if (Array.isArray(raw.cimdHosts)) raw.cimdHosts = Object.freeze(cimdHostEntries(raw.cimdHosts as string[], problems));
  if (prod && raw.clientJwksAllowLoopback === true)
    problems.push(
      'TESSERA_CLIENT_JWKS_ALLOW_LOOPBACK: client key sets over http or from loopback hosts are refused in production',
    );
  // Mail: an SMTP URL is smtp:// (STARTTLS) or smtps:// (TLS); production mails only through one.
  if (typeof raw.smtpUrl === 'string') {
    let scheme: string | undefined;
    try {
      scheme = new URL(raw.smtpUrl).protocol;
    } catch {
      /* reported below */
    }
    if (scheme !== 'smtp:' && scheme !== 'smtps:')
      problems.push('TESSERA_SMTP_URL: must be smtp://[user:pass@]host[:port] (STARTTLS) or smtps://... (TLS)');
  }
  // TESSERA_NOTIFICATIONS=none turns them all off (an empty value means the default).
  if (Array.isArray(raw.notifications)) {
    const known = ['new-device', 'factor-changed', 'password-changed'];
    const list = (raw.notifications as string[]).filter((n) => n !== 'none');
    for (const n of list)
      if (!known.includes(n))
        problems.push(`TESSERA_NOTIFICATIONS: unknown notification "${n}" (known: ${known.join(', ')}, or none)`);
    raw.notifications = Object.freeze(list);
  }
  // Production without TESSERA_SMTP_URL: a mail-sending feature asked for explicitly is refused; one
  // that is on only by default is turned off, with a warning (an upgrade without mail still starts).
  if (prod && raw.smtpUrl === undefined) {
    const mailing = [
      { key: 'passwordReset', env: 'TESSERA_PASSWORD_RESET', on: raw.passwordReset === true, off: false },
      {
        key: 'emailVerification',
        env: 'TESSERA_EMAIL_VERIFICATION',
        on: raw.emailVerification !== 'off',
        off: 'off',
      },
      {
        key: 'notifications',
        env: 'TESSERA_NOTIFICATIONS',
        on: ((raw.notifications as string[] | undefined) ?? []).length > 0,
        off: Object.freeze([]),
      },
    ].filter((f) => f.on);
    const explicit = mailing.filter((f) => sources[f.key] !== 'default');
    if (explicit.length)
      problems.push(
        `TESSERA_SMTP_URL: required in production while features that send mail are on (${explicit.map((f) => f.env).join(', ')}); set it, or turn them off (TESSERA_PASSWORD_RESET=false, TESSERA_EMAIL_VERIFICATION=off, TESSERA_NOTIFICATIONS=none)`,
      );
    const defaulted = mailing.filter((f) => sources[f.key] === 'default');
    for (const f of defaulted) raw[f.key] = f.off;
    if (defaulted.length && !explicit.length)
      warnings.push(
        `TESSERA_SMTP_URL is not set: ${defaulted.map((f) => f.env).join(', ')} are off until it is (they send mail: password reset links, email verification, security notices)`,
      );
  }
  problems.push(...registrationCeilingProblems(raw));
  if (prod && raw.registration === 'open') warnings.push(openRegistrationWarning(raw));

  problems.push(...mtlsProblems(raw, prod, warnings));
  raw.mtlsCaCertificates = Object.freeze((raw.mtlsCaCertificates as X509Certificate[] | undefined) ?? []);
  // Signing algorithms: the primary one first, each once.
  const algNames = ['ES256', 'RS256', 'PS256', 'EdDSA'];
  const listed = (raw.signingAlgs as string[] | undefined) ?? [];
  for (const a of listed)
    if (!algNames.includes(a))
      problems.push(`TESSERA_SIGNING_ALGS: unknown algorithm "${a}" (known: ${algNames.join(', ')})`);
  raw.signingAlgs = Object.freeze([
    ...new Set([raw.signingAlg as string, ...listed.filter((a) => algNames.includes(a))]),
  ]);
  // Feature switches, RAR types and the FAPI 2.0 profile
  const disabled = (raw.featuresDisabled as string[] | undefined) ?? [];
  for (const f of disabled)
    if (!isFeature(f))
      problems.push(`TESSERA_FEATURES_DISABLED: unknown feature "${f}" (known: ${FEATURE_NAMES.join(', ')})`);
  if (Array.isArray(raw.authorizationDetailsTypes))
    raw.authorizationDetailsTypes = parseAuthorizationDetailsTypes(raw.authorizationDetailsTypes as string[], problems);
  if (raw.requirePar === true && disabled.includes('par'))
    problems.push('TESSERA_REQUIRE_PAR: cannot be true when TESSERA_FEATURES_DISABLED turns par off');
  if (raw.fapiProfile === '2.0') {
    const why = 'with TESSERA_FAPI_PROFILE=2.0';
    if (!(raw.signingAlgs as string[]).some((a) => a === 'ES256' || a === 'PS256' || a === 'EdDSA'))
      problems.push(
        `TESSERA_SIGNING_ALGS: must include ES256, PS256 or EdDSA ${why} (ID tokens and signed responses may not use RS256)`,
      );
    if (typeof raw.codeTtl === 'number' && raw.codeTtl > 60)
      problems.push(`TESSERA_CODE_TTL: must be at most 60 ${why} (authorization codes live at most 60 s)`);
    if (typeof raw.clockSkew === 'number' && (raw.clockSkew < 10 || raw.clockSkew > 60))
      problems.push(
        `TESSERA_CLOCK_SKEW: must be between 10 and 60 ${why} (iat and nbf up to 10 s ahead are accepted, more than 60 s refused)`,
      );
    if (disabled.includes('par'))
      problems.push(
        `TESSERA_FEATURES_DISABLED: par cannot be turned off ${why} (pushed authorization requests are required)`,
      );
    // Sender-constrained tokens: by DPoP, or by client certificates when mTLS is configured.
    const mtls = (raw.tlsCertFile !== undefined || raw.mtlsCertHeader !== undefined) && !disabled.includes('mtls');
    if (disabled.includes('dpop') && !mtls)
      problems.push(
        `TESSERA_FEATURES_DISABLED: dpop cannot be turned off ${why} without mTLS (TESSERA_TLS_CERT_FILE or TESSERA_MTLS_CERT_HEADER): sender-constrained access tokens are required`,
      );
  }
  if (raw.fapiMessageSigning === true) {
    if (disabled.includes('request_object'))
      problems.push(
        'TESSERA_FEATURES_DISABLED: request_object cannot be turned off with TESSERA_FAPI_MESSAGE_SIGNING=true (signed request objects are required)',
      );
    if (disabled.includes('par'))
      problems.push('TESSERA_FEATURES_DISABLED: par cannot be turned off with TESSERA_FAPI_MESSAGE_SIGNING=true');
    if (disabled.includes('jarm'))
      problems.push(
        'TESSERA_FEATURES_DISABLED: jarm cannot be turned off with TESSERA_FAPI_MESSAGE_SIGNING=true (JWT-secured responses are required)',
      );
  }

  if (problems.length) throw new ConfigError(problems);
  raw.defaultAudience ??= raw.issuer;
  raw.warnings = warnings;
  const config = Object.freeze(raw) as unknown as Config;
  SOURCES.set(config, Object.freeze(sources));
  return config;
}

/**
 * Where a setting's value came from: the environment, the config file, the caller's overrides
 * (tests, the CLI), the MCP profile (TESSERA_MCP_PROFILE) or the built-in default.
 */
export type SettingSource = 'env' | 'file' | 'override' | 'profile' | 'default';

const SOURCES = new WeakMap<Config, Readonly<Record<string, SettingSource>>>();

/**
 * The source of every setting of a Config made by loadConfig (by setting key); a Config made
 * otherwise (tests that spread one) has none recorded: every key reads as `default`.
 */
export function configSources(config: Config): Readonly<Record<string, SettingSource>> {
  const known = SOURCES.get(config);
  return Object.fromEntries(settings.map((s) => [s.key, known?.[s.key] ?? 'default']));
}

/**
 * What the MCP profile did: per setting it bundles, the profile's value, the effective value and
 * whether the profile's value applied (`profile`) or an explicit setting won (`explicit`).
 */
export function mcpProfileChanges(
  config: Config,
): { key: string; env: string; profileValue: unknown; value: unknown; source: 'profile' | 'explicit' }[] {
  const sources = configSources(config);
  return Object.entries(mcpProfileDefaults(config.mcpProfile)).map(([key, profileValue]) => ({
    key,
    env: settings.find((s) => s.key === key)?.env ?? key,
    profileValue,
    value: (config as unknown as Record<string, unknown>)[key],
    source: sources[key] === 'profile' ? ('profile' as const) : ('explicit' as const),
  }));
}

/** Client certificate sources (RFC 8705): TLS terminated here, or a header from a trusted proxy. */
function mtlsProblems(raw: Record<string, unknown>, prod: boolean, warnings: string[]): string[] {
  const problems: string[] = [];
  const certFile = raw.tlsCertFile as string | undefined;
  const keyFile = raw.tlsKeyFile as string | undefined;
  if ((certFile === undefined) !== (keyFile === undefined))
    problems.push(
      `${certFile === undefined ? 'TESSERA_TLS_CERT_FILE' : 'TESSERA_TLS_KEY_FILE'}: TESSERA_TLS_CERT_FILE and TESSERA_TLS_KEY_FILE go together`,
    );
  if (certFile !== undefined && typeof raw.issuer === 'string' && raw.issuer.startsWith('http:'))
    problems.push('TESSERA_ISSUER: must be an https URL when Tessera serves HTTPS itself (TESSERA_TLS_CERT_FILE)');
  for (const [file, name] of [
    [certFile, 'TESSERA_TLS_CERT_FILE'],
    [keyFile, 'TESSERA_TLS_KEY_FILE'],
  ] as const) {
    if (file === undefined) continue;
    try {
      readFileSync(file);
    } catch (e) {
      problems.push(`${name}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (typeof raw.mtlsCertHeader === 'string') {
    const h = raw.mtlsCertHeader.toLowerCase();
    raw.mtlsCertHeader = h;
    if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(h))
      problems.push('TESSERA_MTLS_CERT_HEADER: must be a header name (letters, digits, dashes)');
    else if (
      [
        'authorization',
        'cookie',
        'host',
        'content-type',
        'content-length',
        'dpop',
        'forwarded',
        'x-forwarded-for',
        'x-forwarded-proto',
        'x-forwarded-host',
        'x-real-ip',
      ].includes(h)
    )
      problems.push(`TESSERA_MTLS_CERT_HEADER: ${h} is a standard header, not one for the client certificate`);
    if (certFile !== undefined)
      problems.push(
        'TESSERA_MTLS_CERT_HEADER: use either TESSERA_TLS_CERT_FILE (Tessera terminates TLS) or a proxy header, not both',
      );
    const proxies = (raw.trustProxy as string[] | undefined) ?? [];
    const open = proxies.find((a) => /^(0\.0\.0\.0\/0|::\/0|\*|true)$/i.test(a.trim()));
    if (proxies.length === 0) {
      const msg =
        'TESSERA_MTLS_CERT_HEADER: needs TESSERA_TRUST_PROXY (the addresses of the proxies that set it); without it the header is never believed';
      if (prod) problems.push(msg);
      else warnings.push(msg);
    } else if (open) {
      problems.push(
        `TESSERA_TRUST_PROXY: ${open} trusts every address, so anyone could forge TESSERA_MTLS_CERT_HEADER; list the proxies' addresses`,
      );
    }
  }
  if (typeof raw.mtlsCaFile === 'string') {
    if (certFile === undefined && raw.mtlsCertHeader === undefined)
      problems.push(
        'TESSERA_MTLS_CA_FILE: needs a client certificate source (TESSERA_TLS_CERT_FILE or TESSERA_MTLS_CERT_HEADER)',
      );
    let pem: string | undefined;
    try {
      pem = readFileSync(raw.mtlsCaFile, 'utf8');
    } catch (e) {
      problems.push(
        `TESSERA_MTLS_CA_FILE: cannot read ${raw.mtlsCaFile} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    raw.mtlsCaCertificates = [];
    if (pem !== undefined) {
      const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
      if (blocks.length === 0) problems.push('TESSERA_MTLS_CA_FILE: holds no PEM certificate');
      for (const b of blocks) {
        try {
          const cert = new X509Certificate(b);
          (raw.mtlsCaCertificates as X509Certificate[]).push(cert);
          if (!cert.ca)
            problems.push('TESSERA_MTLS_CA_FILE: holds a certificate that is not a CA (basicConstraints CA:TRUE)');
        } catch {
          problems.push('TESSERA_MTLS_CA_FILE: holds a certificate that cannot be parsed');
        }
      }
    }
  }
  return problems;
}

/** A Redis URL with its password replaced, for messages and logs. */
export function redisUrlForDisplay(u: string): string {
  try {
    const url = new URL(u);
    if (url.password) url.password = '***';
    return url.href;
  } catch {
    return '(not a URL)';
  }
}

/** Grant types a dynamically registered client may ever have (token exchange needs an operator-written policy). */
export const SELF_SERVICE_GRANTS: readonly string[] = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
];
const BASE_SCOPES = ['openid', 'profile', 'email', 'offline_access'];

function registrationCeilingProblems(raw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const g of (raw.registrationGrantTypes as string[] | undefined) ?? []) {
    if (!SELF_SERVICE_GRANTS.includes(g))
      problems.push(
        `TESSERA_REGISTRATION_GRANT_TYPES: "${g}" is not a grant a client may register for itself (${SELF_SERVICE_GRANTS.join(', ')})`,
      );
  }
  const offered = [...BASE_SCOPES, ...((raw.extraScopes as string[] | undefined) ?? [])];
  for (const s of (raw.registrationScopes as string[] | undefined) ?? []) {
    if (!offered.includes(s))
      problems.push(
        `TESSERA_REGISTRATION_SCOPES: "${s}" is not a scope this server offers (add it to TESSERA_EXTRA_SCOPES)`,
      );
  }
  return problems;
}

/** What open registration lets anyone do, in words, with the ceilings that apply. */
function openRegistrationWarning(raw: Record<string, unknown>): string {
  const grants = (raw.registrationGrantTypes as string[] | undefined) ?? [];
  const scopes = (raw.registrationScopes as string[] | undefined) ?? [];
  const machine = grants.includes('client_credentials')
    ? '; with client_credentials they get access tokens without any user or consent'
    : '';
  const userGrants = grants.filter((g) => g !== 'client_credentials');
  return (
    `TESSERA_REGISTRATION is open: anyone who can reach /register can create clients (rate limited) with the grants ${grants.join(', ') || '(none)'} ` +
    `(TESSERA_REGISTRATION_GRANT_TYPES) and the scopes ${scopes.join(' ') || '(none)'} (TESSERA_REGISTRATION_SCOPES)${raw.registrationResourceScopes === true ? ' plus the scopes of the registry resources, each in tokens for its own resource (TESSERA_REGISTRATION_RESOURCE_SCOPES)' : ''}, whose tokens are only for the default audience ` +
    `and the resource servers of the registry (\`tessera resource list\`)${userGrants.length ? "; user sign-ins need the user's consent on a page naming the client as unverified" : ''}${machine}. ` +
    'Consider initial_access_token or admin_approval'
  );
}

/** Settings whose values are secrets: shown as set or not, never their value. */
const SECRET_SETTINGS = new Set([
  'secret',
  'secretPrevious',
  'pairwiseSecret',
  'keyEncryptionKey',
  'keyEncryptionKeyPrevious',
  'metricsToken',
  'adminToken',
]);

/** Also secret: any setting named like one (a setting added later is redacted unless known harmless). */
const SECRET_NAME = /(SECRET|PASSWORD|_TOKEN|ENCRYPTION_KEY)(_PREVIOUS)?$/;

/**
 * A URL with the password of its user information and of a `password` query parameter masked. Parsed
 * as the drivers parse it (the WHATWG parser: the user information ends at the LAST `@`, so a password
 * may hold an unencoded `@`); a value with a scheme that does not parse is redacted whole, and one
 * without a scheme (a file path) has no credentials to mask.
 */
export function maskUrl(u: string): string {
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(u) ? '(redacted: not a valid URL)' : u;
  }
  if (url.host === '' && !u.includes('@')) return u.replace(/([?&](?:password|sslpassword)=)[^&]*/gi, '$1***');
  if (url.password) url.password = '***';
  for (const key of [...url.searchParams.keys()]) if (/^(?:ssl)?password$/i.test(key)) url.searchParams.set(key, '***');
  return url.toString();
}

/** A setting's value for people to read: secrets redacted, passwords in URLs masked, lists space-separated. */
function displayValue(key: string, value: unknown): string {
  if (value === undefined) return '(not set)';
  const env = settings.find((s) => s.key === key)?.env ?? key;
  if (SECRET_SETTINGS.has(key) || SECRET_NAME.test(env))
    return value === DEV_SECRET || value === DEV_KEK ? '(redacted: the development default)' : '(redacted)';
  if ((key === 'databaseUrl' || key === 'smtpUrl') && typeof value === 'string') return maskUrl(value);
  if (key === 'redisUrl' && typeof value === 'string')
    return value
      .split(',')
      .map((u) => maskUrl(u.trim()))
      .join(',');
  if (Array.isArray(value))
    return value.length ? value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(' ') : '(empty)';
  if (typeof value === 'object' && value !== null) {
    const json = JSON.stringify(value);
    return json.length > 200 ? `${json.slice(0, 199)}…` : json;
  }
  return String(value);
}

/** Every setting with its effective value (secrets redacted) and where it came from, in the order of settings.ts. */
export function effectiveSettings(
  config: Config,
): { key: string; env: string; value: string; source: SettingSource }[] {
  const sources = configSources(config);
  return settings.map((s) => ({
    key: s.key,
    env: s.env,
    value: displayValue(s.key, (config as unknown as Record<string, unknown>)[s.key]),
    source: sources[s.key]!,
  }));
}

/**
 * What the MCP profile changed, one line per setting it bundles (for the start-up output and
 * `tessera config show`); empty when the profile is off.
 */
export function mcpProfileLines(config: Config): string[] {
  const changes = mcpProfileChanges(config);
  if (changes.length === 0) return [];
  const revision = config.mcpProfile === 'latest' ? `latest = ${MCP_LATEST}` : config.mcpProfile;
  return [
    `MCP profile ${revision} (TESSERA_MCP_PROFILE; docs/mcp.md):`,
    ...changes.map((c) =>
      c.source === 'profile'
        ? `  ${c.env}=${displayValue(c.key, c.value)}  (profile)`
        : `  ${c.env}=${displayValue(c.key, c.value)}  (explicit; the profile's value is ${displayValue(c.key, c.profileValue)})`,
    ),
  ];
}

/**
 * The WebAuthn relying party ID of passkeys: TESSERA_WEBAUTHN_RP_ID, else the issuer's host. A
 * passkey is bound to it for good: changing it makes every registered passkey unusable.
 */
export function webauthnRpIdFor(config: Pick<Config, 'issuer' | 'webauthnRpId'>): string {
  return config.webauthnRpId ?? new URL(config.issuer).hostname;
}

/** The origins a passkey ceremony may come from: the issuer's, and TESSERA_WEBAUTHN_ORIGINS. */
export function webauthnOriginsFor(config: Pick<Config, 'issuer' | 'webauthnOrigins'>): string[] {
  return [...new Set([new URL(config.issuer).origin, ...config.webauthnOrigins])];
}

// Suffixes under which anyone may register a name (a few common ones of the Public Suffix List):
// an RP ID equal to one of them would let every site under it use the passkeys, and browsers
// refuse it. Browsers check the whole list; this catches the usual mistakes at start-up.
const PUBLIC_SUFFIXES = new Set([
  'co.uk',
  'org.uk',
  'ac.uk',
  'gov.uk',
  'com.au',
  'net.au',
  'org.au',
  'co.jp',
  'co.nz',
  'com.br',
  'co.in',
  'com.cn',
  'co.za',
  'github.io',
  'gitlab.io',
  'herokuapp.com',
  'netlify.app',
  'vercel.app',
  'pages.dev',
  'workers.dev',
  'appspot.com',
  'cloudfront.net',
  'azurewebsites.net',
  'blogspot.com',
  'fly.dev',
]);

const isIpLiteral = (host: string) =>
  /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':') || host.startsWith('[');

/** Whether `host` is `rpId` or a host under it (a label boundary, not a mere string suffix). */
export function hostUnderRpId(host: string, rpId: string): boolean {
  return host === rpId || host.endsWith(`.${rpId}`);
}

/**
 * Start-up checks of the passkey settings. The RP ID must be the issuer's host or a registrable
 * domain above it (not an IP address, not a top-level domain or other public suffix); every extra
 * origin must be https (http only on localhost) with its host under the RP ID.
 */
function webauthnProblems(raw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (typeof raw.issuer !== 'string') return problems;
  let issuerHost: string;
  try {
    issuerHost = new URL(raw.issuer).hostname;
  } catch {
    return problems;
  }
  const configured = raw.webauthnRpId;
  let rpId = issuerHost;
  if (typeof configured === 'string') {
    rpId = configured.trim().toLowerCase().replace(/\.$/, '');
    const label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
    if (!rpId || isIpLiteral(rpId) || !rpId.split('.').every((l) => label.test(l))) {
      problems.push(`TESSERA_WEBAUTHN_RP_ID: "${configured}" is not a domain name (an IP address cannot be one)`);
      return problems;
    }
    if (!hostUnderRpId(issuerHost, rpId)) {
      problems.push(
        `TESSERA_WEBAUTHN_RP_ID: "${rpId}" must be the issuer's host (${issuerHost}) or a parent domain of it`,
      );
      return problems;
    }
    if (rpId !== issuerHost && (!rpId.includes('.') || PUBLIC_SUFFIXES.has(rpId))) {
      problems.push(
        `TESSERA_WEBAUTHN_RP_ID: "${rpId}" is a public suffix (a top-level domain or a shared hosting domain), not a registrable domain: use your own domain`,
      );
      return problems;
    }
    raw.webauthnRpId = rpId;
  }
  for (const origin of (raw.webauthnOrigins as string[] | undefined) ?? []) {
    let u: URL;
    try {
      u = new URL(origin);
    } catch {
      problems.push(`TESSERA_WEBAUTHN_ORIGINS: "${origin}" is not a URL`);
      continue;
    }
    if (u.origin !== origin.replace(/\/$/, '') || u.pathname !== '/')
      problems.push(`TESSERA_WEBAUTHN_ORIGINS: "${origin}" must be an origin only (scheme, host and port)`);
    else if (u.protocol !== 'https:' && !(u.protocol === 'http:' && u.hostname === 'localhost'))
      problems.push(`TESSERA_WEBAUTHN_ORIGINS: "${origin}" must use https`);
    else if (!hostUnderRpId(u.hostname, rpId))
      problems.push(`TESSERA_WEBAUTHN_ORIGINS: "${origin}" is not under the RP ID ${rpId}`);
  }
  if (Array.isArray(raw.webauthnOrigins))
    raw.webauthnOrigins = (raw.webauthnOrigins as string[]).map((o) => o.replace(/\/$/, ''));
  return problems;
}
