// The table of every setting: its environment variable, its key in the config file, its type,
// its default and what it does. The loader, the validator and the README's table are all
// generated from this one list.

export type SettingType = 'string' | 'int' | 'bool' | 'list' | 'enum';

export interface Setting {
  /** Environment variable. */
  env: string;
  /** Key in the optional config file (JSON or YAML). */
  key: string;
  type: SettingType;
  /** Allowed values for enums. */
  values?: readonly string[];
  /** Default, or a function of the mode; undefined means "not set". */
  default?: string | number | boolean | readonly string[] | ((mode: Mode) => string | number | boolean | undefined);
  min?: number;
  max?: number;
  description: string;
}

export type Mode = 'development' | 'production';

export const DEV_SECRET = 'tessera-development-secret-do-not-use-in-production';
export const DEV_KEK = 'tessera-development-key-encryption-key-not-for-production';

export const settings: readonly Setting[] = [
  { env: 'TESSERA_ENV', key: 'env', type: 'enum', values: ['development', 'production'], default: undefined,
    description: 'Run mode. Defaults to production when NODE_ENV=production, else development. Production refuses insecure settings.' },
  { env: 'TESSERA_ISSUER', key: 'issuer', type: 'string', default: undefined,
    description: 'Issuer URL (https, or http on a loopback host). Default: http://localhost:PORT in development; required in production.' },
  { env: 'TESSERA_HOST', key: 'host', type: 'string', default: '127.0.0.1', description: 'Address to listen on.' },
  { env: 'TESSERA_PORT', key: 'port', type: 'int', default: 4000, min: 0, max: 65535, description: 'Port to listen on (0 picks a free port).' },
  { env: 'TESSERA_SECRET', key: 'secret', type: 'string', default: (m) => (m === 'development' ? DEV_SECRET : undefined),
    description: 'Server secret (at least 32 bytes): keys the client-secret hashes and CSRF tokens. Keep it stable: changing it invalidates client secrets. Required in production.' },
  { env: 'TESSERA_KEY_ENCRYPTION_KEY', key: 'keyEncryptionKey', type: 'string', default: (m) => (m === 'development' ? DEV_KEK : undefined),
    description: 'Key-encryption key (at least 32 bytes) that wraps the private signing keys at rest with AES-256-GCM. Required in production.' },
  { env: 'DATABASE_URL', key: 'databaseUrl', type: 'string', default: 'sqlite:./data/tessera.db',
    description: 'sqlite:PATH (embedded, WAL mode; sqlite::memory: for throwaway runs) or postgres://user@host:port/db.' },
  { env: 'TESSERA_MIGRATE_ON_START', key: 'migrateOnStart', type: 'bool', default: true, description: 'Run database migrations at start-up (else run `tessera migrate`).' },
  { env: 'TESSERA_BOOTSTRAP_FILE', key: 'bootstrapFile', type: 'string', default: undefined,
    description: 'YAML or JSON file of clients and users applied idempotently at start-up.' },
  { env: 'TESSERA_SEED_DEMO', key: 'seedDemo', type: 'bool', default: (m) => m === 'development',
    description: 'On an empty database, create a demo user and demo clients and print their credentials once.' },
  { env: 'TESSERA_SIGNING_ALG', key: 'signingAlg', type: 'enum', values: ['ES256', 'RS256', 'PS256', 'EdDSA'], default: 'ES256',
    description: 'Algorithm of the signing key generated when none is active.' },
  { env: 'TESSERA_ACCESS_TOKEN_TTL', key: 'accessTokenTtl', type: 'int', default: 900, min: 30, max: 86400, description: 'Access token lifetime, seconds.' },
  { env: 'TESSERA_ID_TOKEN_TTL', key: 'idTokenTtl', type: 'int', default: 3600, min: 30, max: 86400, description: 'ID token lifetime, seconds.' },
  { env: 'TESSERA_CODE_TTL', key: 'codeTtl', type: 'int', default: 60, min: 10, max: 600, description: 'Authorization code lifetime, seconds (at most 600).' },
  { env: 'TESSERA_REFRESH_IDLE_TTL', key: 'refreshIdleTtl', type: 'int', default: 1209600, min: 60,
    description: 'A refresh token expires when unused for this many seconds.' },
  { env: 'TESSERA_REFRESH_ABSOLUTE_TTL', key: 'refreshAbsoluteTtl', type: 'int', default: 2592000, min: 60,
    description: 'A refresh-token family ends this many seconds after the original grant, however it is used.' },
  { env: 'TESSERA_SESSION_IDLE_TTL', key: 'sessionIdleTtl', type: 'int', default: 86400, min: 60, description: 'Login session idle timeout, seconds.' },
  { env: 'TESSERA_SESSION_ABSOLUTE_TTL', key: 'sessionAbsoluteTtl', type: 'int', default: 604800, min: 60, description: 'Login session absolute lifetime, seconds.' },
  { env: 'TESSERA_INTERACTION_TTL', key: 'interactionTtl', type: 'int', default: 900, min: 60, max: 3600, description: 'How long a login/consent interaction stays valid, seconds.' },
  { env: 'TESSERA_CLIENT_CACHE_TTL', key: 'clientCacheTtl', type: 'int', default: 2, min: 0, max: 300,
    description: 'Seconds a client record read from the database is reused from memory (0: read every time). Changes made by another process or instance show after at most this long.' },
  { env: 'TESSERA_KEY_RELOAD_SECONDS', key: 'keyReloadSeconds', type: 'int', default: 30, min: 1, max: 3600,
    description: 'How often every server process re-reads the signing keys, to pick up rotations made by another process, instance or the CLI.' },
  { env: 'TESSERA_LOGIN_MAX_FAILURES', key: 'loginMaxFailures', type: 'int', default: 5, min: 1, max: 1000,
    description: 'Failed logins for one account from one address before each further attempt must wait (1 s, doubling per failure, up to TESSERA_LOGIN_WINDOW).' },
  { env: 'TESSERA_LOGIN_ACCOUNT_MAX_FAILURES', key: 'loginAccountMaxFailures', type: 'int', default: 20, min: 1, max: 10000,
    description: 'Failed logins for one account from all addresses before the same back-off applies (distributed guessing).' },
  { env: 'TESSERA_LOGIN_SOURCE_MAX_FAILURES', key: 'loginSourceMaxFailures', type: 'int', default: 50, min: 1, max: 100000,
    description: 'Failed logins from one address for all accounts before the same back-off applies (credential stuffing).' },
  { env: 'TESSERA_LOGIN_WINDOW', key: 'loginWindow', type: 'int', default: 900, min: 10, max: 86400,
    description: 'Seconds after the last failure when a failed-login counter starts again; also the longest wait.' },
  { env: 'TESSERA_DEFAULT_AUDIENCE', key: 'defaultAudience', type: 'string', default: undefined,
    description: 'Access-token audience when the request names no RFC 8707 resource. Default: the issuer URL.' },
  { env: 'TESSERA_EXTRA_SCOPES', key: 'extraScopes', type: 'list', default: [],
    description: 'Scopes offered besides openid, profile, email and offline_access (space- or comma-separated).' },
  { env: 'TESSERA_COOKIE_SECURE', key: 'cookieSecure', type: 'bool', default: (m) => m === 'production',
    description: 'Mark cookies Secure (and use the __Host- prefix). Production refuses false.' },
  { env: 'TESSERA_COOKIE_SAMESITE', key: 'cookieSameSite', type: 'enum', values: ['lax', 'strict'], default: 'lax',
    description: 'SameSite attribute of the session cookie.' },
  { env: 'TESSERA_CORS_ORIGINS', key: 'corsOrigins', type: 'list', default: [],
    description: 'Extra browser origins allowed to call token, userinfo and revocation (origins of registered redirect URIs are always allowed).' },
  { env: 'TESSERA_TRUST_PROXY', key: 'trustProxy', type: 'list', default: [],
    description: 'Addresses or CIDRs of reverse proxies whose X-Forwarded-* headers are believed. Empty: none.' },
  { env: 'TESSERA_METRICS_TOKEN', key: 'metricsToken', type: 'string', default: undefined,
    description: 'Bearer token (at least 32 characters) that unlocks GET /metrics on the main listener. Unset: /metrics is not served there.' },
  { env: 'TESSERA_METRICS_PORT', key: 'metricsPort', type: 'int', default: undefined, min: 1, max: 65535,
    description: 'Serve Prometheus metrics without authentication on this port of TESSERA_METRICS_HOST (a separate listener for the internal network).' },
  { env: 'TESSERA_METRICS_HOST', key: 'metricsHost', type: 'string', default: '127.0.0.1', description: 'Address of the separate metrics listener.' },
  { env: 'TESSERA_AUDIT_RETENTION_DAYS', key: 'auditRetentionDays', type: 'int', default: 365, min: 1,
    description: 'Days audit records are kept; older ones are deleted by the periodic cleanup.' },
  { env: 'TESSERA_WORKERS', key: 'workers', type: 'int', default: 1, min: 0, max: 64,
    description: 'Server processes sharing the port (node:cluster); 0 starts one per CPU core. With more than one, use PostgreSQL, or SQLite on a local disk.' },
  { env: 'TESSERA_SHUTDOWN_DRAIN_SECONDS', key: 'shutdownDrainSeconds', type: 'int', default: (m) => (m === 'production' ? 5 : 0), min: 0, max: 120,
    description: 'On SIGTERM, keep serving this long with /ready answering 503 and every response closing its connection, so load balancers stop sending traffic before the listener closes; then finish the requests in flight and exit.' },
  { env: 'TESSERA_BODY_LIMIT', key: 'bodyLimit', type: 'int', default: 65536, min: 1024, max: 10485760, description: 'Largest request body accepted, bytes.' },
  { env: 'TESSERA_LOG_LEVEL', key: 'logLevel', type: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info',
    description: 'Log level (JSON logs on stdout).' },
];
