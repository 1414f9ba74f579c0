// The second-factor policy (issue 16): what a sign-in or a session must have passed before it is
// used for a client. The deployment's TESSERA_MFA, a client's `mfa` metadata (stricter only) and an
// operator's users.mfa_required make the policy; a client's acr_values (voluntary) and an essential
// acr (claims parameter) ask for a level on top. assess() decides from what is at hand; the loaders
// below read the user's factors only when the answer depends on them.
import type { Config } from '../../config/config.ts';
import type { AdminRole } from '../../ports/admin.ts';
import type { ClientRecord } from '../../ports/clients.ts';
import type { FactorRecord } from '../../ports/factors.ts';
import type { SessionRecord, SessionUpstream } from '../../ports/sessions.ts';
import type { UserRecord } from '../../ports/users.ts';
import { isAdminClient } from '../admin-scopes.ts';
import { acrAsked, acrFor, acrLevel } from '../claims-request.ts';
import { randomToken, tokenHash } from '../hash.ts';
import type { CookieSpec, Provider, ProtocolRequest, StoreDeps } from '../provider.ts';

export type MfaPolicy = Config['mfa'];
export const MFA_POLICIES: readonly MfaPolicy[] = ['off', 'optional', 'required', 'phishing-resistant'];
export const isMfaPolicy = (v: unknown): v is MfaPolicy => (MFA_POLICIES as readonly unknown[]).includes(v);

/** The browser's cookie of a sign-in waiting for its second factor (only its hash is stored). */
export const SIGN_IN_COOKIE = 'tessera_sign_in';
/** The cookie of a remembered device (TESSERA_MFA_REMEMBER_DEVICE; only its hash is stored). */
export const REMEMBER_COOKIE = 'tessera_remember';

/** Levels, as acrLevel ranks the acr values: password 0, mfa 1, phr 2, phrh 3. */
const MFA = 1;
const PHR = 2;

/** The stricter of two policies. */
export const stricter = (a: MfaPolicy, b: MfaPolicy): MfaPolicy =>
  MFA_POLICIES.indexOf(a) >= MFA_POLICIES.indexOf(b) ? a : b;

/**
 * The policy of a sign-in: the deployment's, a client's `mfa` metadata, and an operator's requirement
 * of the user. Issue 20: a sign-in for an admin client (admin tokens: the CLI's device flow) and every
 * sign-in of a person who holds an admin role (`operator`, see `isOperator`) require a second factor.
 */
export function policyFor(
  config: Pick<Config, 'mfa'>,
  client: Pick<ClientRecord, 'metadata'> | undefined,
  user: Pick<UserRecord, 'mfaRequired'> | undefined,
  operator = false,
): MfaPolicy {
  let policy = config.mfa;
  const own = client?.metadata.mfa;
  if (isMfaPolicy(own)) policy = stricter(policy, own);
  if (user?.mfaRequired) policy = stricter(policy, 'required');
  // With second factors off (TESSERA_MFA=off) none can be enrolled: an operator then signs in to
  // applications with a password alone, and the console and admin tokens, which need a factor, stay closed.
  if (config.mfa !== 'off' && (operator || (client !== undefined && isAdminClient(client))))
    policy = stricter(policy, 'required');
  return policy;
}

/**
 * Whether a sign-in is an operator's (issue 20): the person holds an admin role, or it is for an admin
 * client. Such a sign-in needs a second factor at once: enrolment has no grace period, and a
 * remembered device does not stand for the factor. It applies to every sign-in of a person with an
 * admin role, not only to the admin surfaces: one session serves the console, the CLI's device
 * approval and every application, so a password alone must not open a session that is one step from
 * the admin surface; and the operator enrols at the first sign-in after the role is given, not when
 * the console is needed.
 */
async function isOperator(
  p: StoreDeps<'adminRoles'>,
  userId: string,
  client: Pick<ClientRecord, 'metadata'> | undefined,
): Promise<boolean> {
  if (client !== undefined && isAdminClient(client)) return true;
  return (await p.stores.adminRoles.get(userId)) !== undefined;
}

/** isOperator with the user's admin role already read (the session store's getForClient read it with the session). */
const isOperatorWith = (adminRole: AdminRole | undefined, client: Pick<ClientRecord, 'metadata'> | undefined) =>
  (client !== undefined && isAdminClient(client)) || adminRole !== undefined;

/** What a user's confirmed factors can reach. */
export interface Capability {
  totp: boolean;
  passkey: boolean;
  /** A passkey that is not backup eligible (amr hwk). */
  hardwarePasskey: boolean;
}

export function capabilityOf(factors: readonly FactorRecord[]): Capability {
  const passkeys = factors.filter((f) => f.kind === 'passkey');
  return {
    totp: factors.some((f) => f.kind === 'totp' && f.confirmed),
    passkey: passkeys.length > 0,
    hardwarePasskey: passkeys.some((f) => !f.backupEligible),
  };
}

/** What the request asks for: acr_values (voluntary) and an essential acr of the claims parameter. */
export interface AcrAsk {
  acrValues?: readonly string[];
  acrEssential?: readonly string[];
}

export type Requirement =
  | { kind: 'met' }
  /** A second factor must be passed, reaching `level` (1: any factor; 2: a passkey; 3: a hardware-bound passkey). */
  | { kind: 'factor'; level: number }
  /**
   * The policy needs a factor the user has none of: enrol one. `skippable` within the grace period;
   * `prompted` once the grace period has started (users.mfa_enrol_by set).
   */
  | { kind: 'enrol'; factor: 'totp' | 'passkey'; skippable: boolean; prompted: boolean }
  /** An essential acr this user cannot reach. */
  | { kind: 'unmet' };

export interface Assessment {
  policy: MfaPolicy;
  /** What the authentication so far has (a session's or a pending sign-in's amr). */
  amr: readonly string[];
  cap: Capability;
  ask?: AcrAsk;
  /** This browser is a remembered device of the user. */
  remembered?: boolean;
  enrolBy?: number | null;
  grace: number;
  now: number;
}

/** Whether assess() could ask anything of this authentication: false means it is met without reading more. */
export function mayNeedMore(policy: MfaPolicy, amr: readonly string[], ask: AcrAsk | undefined): boolean {
  const have = Math.max(acrLevel(acrFor(amr)), 0);
  if (have >= 3) return false;
  if (ask?.acrValues?.length || ask?.acrEssential?.length) return true;
  return policy !== 'off';
}

/** The level the factors reach under a policy: under phishing-resistant only passkeys count; under off none. */
function reachOf(policy: MfaPolicy, cap: Capability): number {
  if (policy === 'off') return 0;
  if (cap.hardwarePasskey) return 3;
  if (cap.passkey) return PHR;
  return cap.totp && policy !== 'phishing-resistant' ? MFA : 0;
}

/**
 * Decides what an authentication still needs. An essential acr beyond both what it has and what the
 * user's factors reach is unmet; a voluntary one is asked up to what the factors reach (the best
 * level the user can give). The policy asks for a factor of a user who has one (optional), of every
 * user (required: those without enrol), or a passkey (phishing-resistant). A remembered device
 * stands for the factor the policy asks, never for an acr a client asked, nor for a passkey.
 */
export function assess(a: Assessment): Requirement {
  const have = Math.max(acrLevel(acrFor(a.amr)), 0);
  const reach = reachOf(a.policy, a.cap);
  const essential = acrAsked(a.ask?.acrEssential);
  if (essential !== undefined && Math.max(have, reach) < essential) return { kind: 'unmet' };
  const voluntary = acrAsked(a.ask?.acrValues);
  const explicit = Math.max(essential ?? 0, voluntary !== undefined ? Math.min(voluntary, Math.max(have, reach)) : 0);
  const byPolicy =
    a.policy === 'phishing-resistant'
      ? PHR
      : a.policy === 'required'
        ? MFA
        : a.policy === 'optional' && reach
          ? MFA
          : 0;
  if (have >= Math.max(explicit, byPolicy)) return { kind: 'met' };
  if (reach < byPolicy) {
    if (have < explicit) return { kind: 'factor', level: explicit };
    // A factor the policy does not count (an app under phishing-resistant) is still passed before
    // enrolment: the password alone never starts a session of a user who has a second factor.
    if (a.cap.totp && have < MFA) return { kind: 'factor', level: MFA };
    const skippable = a.grace > 0 && (a.enrolBy == null || a.enrolBy > a.now);
    return {
      kind: 'enrol',
      factor: a.policy === 'phishing-resistant' ? 'passkey' : 'totp',
      skippable,
      prompted: a.enrolBy != null,
    };
  }
  if (a.remembered && explicit <= have && a.policy !== 'phishing-resistant') return { kind: 'met' };
  return { kind: 'factor', level: Math.max(explicit, byPolicy) };
}

/** What requirementFor reads: the policy settings, the clock, the user's factors and remembered devices. */
export type RequirementDeps = Pick<Provider, 'now'> & {
  readonly config: Pick<Config, 'mfa' | 'mfaEnrolGrace' | 'mfaRememberDevice'>;
} & StoreDeps<'factors' | 'signIns' | 'adminRoles'>;

/**
 * What an authentication (its amr) of `user` still needs for `client` and the request's ask (none
 * for the account area). Reads the user's factors only when the answer may depend on them, and the
 * remembered device only when it could matter.
 */
export async function requirementFor(
  p: RequirementDeps,
  req: ProtocolRequest,
  user: UserRecord,
  amr: readonly string[],
  client?: Pick<ClientRecord, 'metadata'>,
  ask?: AcrAsk,
  known?: { operator: boolean },
): Promise<Requirement> {
  const operator = known?.operator ?? (await isOperator(p, user.id, client));
  const policy = policyFor(p.config, client, user, operator);
  if (!mayNeedMore(policy, amr, ask)) return { kind: 'met' };
  const now = p.now();
  const cap =
    policy === 'off'
      ? { totp: false, passkey: false, hardwarePasskey: false }
      : capabilityOf(await p.stores.factors.listByUser(user.id));
  const grace = operator ? 0 : p.config.mfaEnrolGrace;
  const base: Assessment = { policy, amr, cap, ask, enrolBy: user.mfaEnrolBy, grace, now };
  const first = assess(base);
  if (first.kind !== 'factor' || p.config.mfaRememberDevice <= 0 || operator) return first;
  const device = req.cookies[REMEMBER_COOKIE];
  if (!device || device.length > 128) return first;
  const remembered = await p.stores.signIns.isRememberedDevice(tokenHash(device), user.id, now);
  return remembered ? assess({ ...base, remembered }) : first;
}

/**
 * The gate before a session is used for a client (authorize.ts decide, the interaction's finish):
 * `ok`, `more` (the second-factor step: a factor, or enrolment), or `unmet` (an essential acr this
 * user cannot reach). Enrolment skipped within its grace period lets the session through.
 */
export async function sessionGate(
  p: RequirementDeps & StoreDeps<'users'>,
  req: ProtocolRequest,
  session: Pick<SessionRecord, 'userId' | 'amr'>,
  client: Pick<ClientRecord, 'metadata'> | undefined,
  ask: AcrAsk | undefined,
  known?: { user: UserRecord; adminRole: AdminRole | undefined },
): Promise<'ok' | 'more' | 'unmet'> {
  // The session's user and admin role when the caller has just read them with the session
  // (authorize.ts: loadSessionForClient); else both are read here.
  const [user, operator] =
    known?.user.id === session.userId
      ? [known.user, isOperatorWith(known.adminRole, client)]
      : await Promise.all([p.stores.users.get(session.userId), isOperator(p, session.userId, client)]);
  if (!user) return 'ok';
  // Under optional (or off) the second factor is asked at sign-in: a session that passed it is not
  // interrupted, unless the client asks for a level (no read of the factors then).
  const policy = policyFor(p.config, client, user, operator);
  if ((policy === 'optional' || policy === 'off') && !askOf(ask)) return 'ok';
  const r = await requirementFor(p, req, user, session.amr, client, ask, { operator });
  if (r.kind === 'met') return 'ok';
  if (r.kind === 'unmet') return 'unmet';
  if (r.kind === 'enrol' && r.skippable && r.prompted) return 'ok';
  return 'more';
}

/** What starting a second-factor step uses: the sign-in store, the clock, the interaction lifetime. */
export type BeginDeps = Pick<Provider, 'now'> & {
  readonly config: Pick<Config, 'interactionTtl'>;
} & StoreDeps<'signIns'>;

/**
 * Keeps a sign-in waiting for its second factor (no session yet): the user, the methods passed so
 * far and where it continues (`ia:<uid>` or `account`), bound to this browser by a new random
 * cookie, used once, for as long as an interaction lives. An upstream sign-in keeps its identity
 * (`upstream`), which the session made after the factor records (issue 17).
 */
export async function beginSecondFactor(
  p: BeginDeps,
  userId: string,
  amr: readonly string[],
  continueTo: string,
  stepUp: boolean,
  upstream?: SessionUpstream,
): Promise<{ cookie: CookieSpec; value: string }> {
  const value = randomToken(32);
  const now = p.now();
  await p.stores.signIns.createPending({
    idHash: tokenHash(value),
    userId,
    amr: [...amr],
    continueTo,
    stepUp,
    ...(upstream ? { upstream } : {}),
    createdAt: now,
    expiresAt: now + p.config.interactionTtl,
  });
  return { value, cookie: { name: SIGN_IN_COOKIE, value, maxAge: p.config.interactionTtl, path: '/' } };
}

/** The acr values of an authorization request, as the policy reads them. */
export const askOf = (areq: AcrAsk | undefined): AcrAsk | undefined =>
  areq && (areq.acrValues || areq.acrEssential)
    ? {
        ...(areq.acrValues ? { acrValues: areq.acrValues } : {}),
        ...(areq.acrEssential ? { acrEssential: areq.acrEssential } : {}),
      }
    : undefined;

/**
 * The amr after a further factor (RFC 8176): what was passed before, then the new methods, each
 * once, with `mfa` last when two factors (or a user-verifying passkey) were used. A sign-in at an
 * upstream provider (`fed`, issue 17) is a first factor as a password is: an app's code passed at
 * Tessera after it makes two.
 */
export function combineAmr(before: readonly string[], added: readonly string[]): string[] {
  const out = [...new Set([...before, ...added].filter((m) => m !== 'mfa'))];
  const two = (out.includes('pwd') && out.includes('otp')) || (before.includes('fed') && added.includes('otp'));
  if (before.includes('mfa') || added.includes('mfa') || two) out.push('mfa');
  return out;
}
