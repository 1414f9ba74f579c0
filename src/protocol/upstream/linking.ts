// The linking rules of upstream sign-in (issue 17), in one place: which Tessera user an upstream
// identity signs in as, when an identity may be linked to an existing account, and when a user is
// created for it. This is where account takeover happens in this field (linking on an unverified
// email, the nOAuth class of Microsoft's mutable `email`), so the rules are strict:
// - an identity is (provider, upstream issuer, upstream subject), never an email;
// - an unverified upstream email never matches an account, and is never copied as verified;
// - a verified email that matches an account is not linked automatically: the person signs in to
//   that account first and links from the account page; except, as the operator chose, for the
//   email domains listed in the provider's autoLinkDomains (never for Microsoft), and only when
//   the account's own address is verified too, by Tessera or the operator (not an account an
//   upstream sign-in created, whose address only that upstream vouched for);
// - a user created just in time passes accounts/users.ts createUser's rules (a free, not
//   confusable, not reserved name), with a random suffix when the name is taken: it never adopts
//   an existing account.
import { createUser } from '../../accounts/users.ts';
import { isEmailAddress, MAX_NAME_LENGTH, USERNAME_PATTERN } from '../../accounts/registration.ts';
import type { UpstreamProfile } from '../../ports/upstream-client.ts';
import type { UpstreamIdentityKey, UpstreamProvider } from '../../ports/upstreams.ts';
import type { UserRecord } from '../../ports/users.ts';
import { randomToken } from '../hash.ts';
import type { Provider, StoreDeps } from '../provider.ts';
import { emailDomain } from './login-options.ts';

/** What the rules read and write: the providers' identities, the users, verified emails, settings, clock, events. */
export type LinkingDeps = Pick<Provider, 'config' | 'now' | 'events'> &
  StoreDeps<'upstreamIdentities' | 'users' | 'accountTokens' | 'adminRoles'>;

/** Why an upstream sign-in was refused (the upstream_login_failed event's reason). */
export type Refusal =
  /** The identity's tenant (Microsoft `tid`) is not in allowedTenants. */
  | 'tenant'
  /** Neither a verified email nor a Google hosted domain in allowedDomains. */
  | 'domain'
  /** The identity is linked to a disabled (or deleted) account. */
  | 'disabled'
  /** A verified email of an existing account, not linked automatically. */
  | 'email_in_use'
  /** No linked account, and this provider creates none. */
  | 'not_linked'
  /** No username could be found for a new account (every candidate taken). */
  | 'username';

export type SignInDecision = { user: UserRecord; created: boolean; linked?: 'auto' | 'created' } | { refused: Refusal };

/** The identity an upstream profile is, for this provider. */
export const identityKey = (provider: UpstreamProvider, profile: UpstreamProfile): UpstreamIdentityKey => ({
  providerId: provider.id,
  issuer: profile.issuer,
  subject: profile.subject,
});

/** An email the upstream gave that looks like one (anything else is dropped). */
export const emailOf = (profile: UpstreamProfile) =>
  profile.email && profile.email.length <= 254 && isEmailAddress(profile.email) ? profile.email : undefined;

/**
 * Rule 1: the provider's allowed tenants (Microsoft `tid`) and allowed domains (the domain of a
 * verified email, or Google's hosted domain `hd`). Undefined when the identity may go on.
 */
export function outsideAllowed(provider: UpstreamProvider, profile: UpstreamProfile): Refusal | undefined {
  if (provider.allowedTenants.length && !(profile.tenant && provider.allowedTenants.includes(profile.tenant)))
    return 'tenant';
  if (provider.allowedDomains.length) {
    const verified = profile.emailVerified ? emailDomain(emailOf(profile)) : undefined;
    const hd = profile.hostedDomain?.toLowerCase();
    const ok = [verified, hd].some((d) => d !== undefined && provider.allowedDomains.includes(d));
    if (!ok) return 'domain';
  }
  return undefined;
}

/**
 * Which user an upstream sign-in (login or account login) signs in as, by the rules above, in
 * order: allowed tenants and domains; the identity linked already (its user, unless disabled); a
 * verified email of an existing account (automatic link only in autoLinkDomains, else refused);
 * a new user (createUsers), else refused. Links and touches the identity as it goes.
 */
export async function resolveSignIn(
  p: LinkingDeps,
  provider: UpstreamProvider,
  profile: UpstreamProfile,
): Promise<SignInDecision> {
  const outside = outsideAllowed(provider, profile);
  if (outside) return { refused: outside };
  const key = identityKey(provider, profile);
  const now = p.now();
  const email = emailOf(profile);
  const linked = await p.stores.upstreamIdentities.find(key);
  if (linked && !(await dropOrphan(p, linked))) return signInAs(p, key, linked.userId, email);

  if (email && profile.emailVerified) {
    // Disabled accounts count: a person an operator disabled must not come back as a new account.
    const holders = await p.stores.accountTokens.usersWithVerifiedEmail(email, { includeDisabled: true });
    if (holders.length) {
      const domain = emailDomain(email);
      // One account only: two accounts sharing a verified address are not guessed between.
      const auto =
        provider.preset !== 'microsoft' &&
        domain !== undefined &&
        provider.autoLinkDomains.includes(domain) &&
        holders.length === 1;
      if (!auto) return { refused: 'email_in_use' };
      const user = await p.stores.users.get(holders[0]!);
      if (!user || user.disabled) return { refused: 'disabled' };
      // An account made by an upstream sign-in holds an address only that upstream called verified:
      // another provider (possibly one an attacker runs) may have vouched for someone else's address,
      // and linking this provider's identity to that account would hand the account's owner's
      // sign-ins to it (pre-hijacking). Such an account is linked from the account page, signed in.
      if (user.origin === 'upstream') return { refused: 'email_in_use' };
      // An operator's account is never linked on a provider's word: whoever runs the provider would
      // sign in as the operator. An operator links a provider from the account page, signed in.
      if (await p.stores.adminRoles.get(user.id)) return { refused: 'email_in_use' };
      const result = await p.stores.upstreamIdentities.link({
        ...key,
        userId: user.id,
        email,
        createdAt: now,
        lastUsedAt: now,
      });
      // Linked meanwhile by a concurrent sign-in of the same identity: whoever holds it signs in.
      if (result === 'taken') return resolveLinked(p, key, email);
      if (result === 'linked')
        p.events({ type: 'upstream_linked', userId: user.id, provider: provider.id, by: 'auto' });
      return { user, created: false, ...(result === 'linked' ? { linked: 'auto' as const } : {}) };
    }
  }

  if (!provider.createUsers) return { refused: 'not_linked' };
  const made = await createJitUser(p, profile, email);
  if (!made) return { refused: 'username' };
  const result = await p.stores.upstreamIdentities.link({
    ...key,
    userId: made.id,
    email: email ?? null,
    createdAt: now,
    lastUsedAt: now,
  });
  if (result !== 'linked') {
    // A concurrent first sign-in of the same identity created its user first: the one made here
    // has no way in and is removed (its name is not reserved), and the identity's user signs in.
    await p.stores.users.deleteWithTombstone(made.id, now, now);
    return resolveLinked(p, key, email);
  }
  p.events({ type: 'upstream_linked', userId: made.id, provider: provider.id, by: 'created' });
  return { user: made, created: true, linked: 'created' };
}

async function resolveLinked(p: LinkingDeps, key: UpstreamIdentityKey, email: string | undefined) {
  const linked = await p.stores.upstreamIdentities.find(key);
  if (!linked) return { refused: 'not_linked' as const };
  return signInAs(p, key, linked.userId, email);
}

/**
 * An identity whose user is gone (a link that raced the account's deletion: there is no foreign key)
 * is removed, so the upstream account is not refused forever: it is then as if never linked.
 */
async function dropOrphan(p: LinkingDeps, identity: { userId: string } & UpstreamIdentityKey): Promise<boolean> {
  if (await p.stores.users.get(identity.userId)) return false;
  await p.stores.upstreamIdentities.unlink(identity.userId, identity, true);
  return true;
}

/** The linked identity's user signs in (not when disabled or gone); its last use and email are recorded. */
async function signInAs(
  p: LinkingDeps,
  key: UpstreamIdentityKey,
  userId: string,
  email: string | undefined,
): Promise<SignInDecision> {
  const user = await p.stores.users.get(userId);
  if (!user || user.disabled) return { refused: 'disabled' };
  await p.stores.upstreamIdentities.touch(key, p.now(), email ?? null);
  return { user, created: false };
}

// Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: sign-up refuses
// them in a name (accounts/registration.ts); PostgreSQL cannot store a NUL at all.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/**
 * A name from the upstream, as sign-up would take it: control characters become spaces (the upstream
 * is not trusted to send clean text), white space is collapsed, and the name is cut to
 * MAX_NAME_LENGTH whole characters (code points, as sign-up counts them: never half a surrogate
 * pair). Undefined when nothing is left.
 */
export function personName(v: string): string | undefined {
  const clean = v.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();
  return [...clean].slice(0, MAX_NAME_LENGTH).join('').trim() || undefined;
}

/** The longest base of a generated username: room for "-" and a six-character suffix within 32. */
const BASE_MAX = 25;
const SUFFIX_TRIES = 8;

/**
 * The base of a new user's name: the upstream's username (or the local part of its email), folded to
 * what sign-up allows (lower-case letters, digits, . _ -, starting with a letter or digit, 3 to 32).
 */
export function usernameBase(profile: Pick<UpstreamProfile, 'username' | 'email'>): string {
  const source = profile.username || (profile.email ? profile.email.slice(0, profile.email.lastIndexOf('@')) : '');
  const folded = source
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, BASE_MAX)
    .replace(/[._-]+$/, '');
  return folded.length >= 3 ? folded : folded ? `${folded}-user` : 'user';
}

/** A random suffix (CSPRNG): six lower-case letters or digits. */
function suffix(): string {
  let s = '';
  while (s.length < 6)
    s += randomToken(12)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '');
  return s.slice(0, 6);
}

/**
 * Creates the user of a first upstream sign-in (origin upstream, no password): the base name, or it
 * with a random suffix while the name is taken, looks like another or is reserved. The email is
 * verified only when the upstream said so. Undefined when no name could be had.
 */
async function createJitUser(
  p: LinkingDeps,
  profile: UpstreamProfile,
  email: string | undefined,
): Promise<UserRecord | undefined> {
  const base = usernameBase(profile);
  const trim = (v: string | undefined) => (v ? personName(v) : undefined);
  const name = trim(profile.name);
  const given = trim(profile.givenName);
  const family = trim(profile.familyName);
  for (let i = 0; i <= SUFFIX_TRIES; i++) {
    const username = i === 0 && base !== 'user' ? base : `${base}-${suffix()}`;
    if (!USERNAME_PATTERN.test(username)) continue;
    const made = await createUser(
      p.stores,
      {
        username,
        ...(email ? { email, email_verified: profile.emailVerified } : {}),
        ...(name ? { name } : {}),
        ...(given ? { given_name: given } : {}),
        ...(family ? { family_name: family } : {}),
      },
      p.now(),
      { origin: 'upstream', issuer: p.config.issuer },
    );
    if ('user' in made) return made.user;
  }
  return undefined;
}
