// Download my data (/account/data): the account as JSON (profile, factors without their secrets,
// linked upstream identities, sessions, consents, recent activity), as an attachment. Needs a recent
// sign-in: it is all of the account's personal data at once.
import type { OAuthResponse, Provider, ProtocolRequest, StoreDeps } from '../provider.ts';
import { recentActivity } from './activity.ts';
import { accountForm, accountPage, formToken, signedIn, toLogin, type AccountDeps } from './common.ts';
import { describeUserAgent } from './user-agent.ts';

export type DataDeps = AccountDeps &
  Pick<Provider, 'events' | 'log'> &
  StoreDeps<'factors' | 'sessions' | 'consents' | 'clients' | 'audit' | 'upstreams' | 'upstreamIdentities'>;

const PURPOSE = 'account:data';
const iso = (t: number | null) => (t === null ? null : new Date(t * 1000).toISOString());

export async function showData(p: DataDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const s = await signedIn(p, req);
  if (!s) return toLogin(p);
  return accountPage(p, s, formToken(p, s, PURPOSE), { page: 'data' }, { nav: 'data' });
}

export async function exportData(p: DataDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const ok = await accountForm(p, req, PURPOSE, {}, { back: '/account/data' });
  if ('response' in ok) return ok.response;
  const { user } = ok.s;
  const factors = await p.stores.factors.listByUser(user.id);
  const sessions = await p.stores.sessions.listByUser(user.id);
  const consents = await p.stores.consents.listByUser(user.id);
  const identities = await p.stores.upstreamIdentities.listByUser(user.id);
  const body = {
    exported_at: iso(p.now()),
    issuer: p.config.issuer,
    profile: {
      sub: user.id,
      username: user.username,
      name: user.name,
      given_name: user.givenName,
      family_name: user.familyName,
      email: user.email,
      email_verified: user.emailVerified,
      created_at: iso(user.createdAt),
      updated_at: iso(user.updatedAt),
    },
    // Metadata only: never a TOTP secret, a passkey's public key or credential id.
    factors: factors
      .filter((f) => f.confirmed)
      .map((f) => ({ kind: f.kind, name: f.name, created_at: iso(f.createdAt), last_used_at: iso(f.lastUsedAt) })),
    // The upstream accounts that sign in to this one (issue 17): who vouches for them and as whom.
    linked_sign_ins: await Promise.all(
      identities.map(async (i) => ({
        provider: i.providerId,
        provider_name: (await p.stores.upstreams.get(i.providerId))?.label ?? null,
        issuer: i.issuer,
        subject: i.subject,
        email: i.email,
        linked_at: iso(i.createdAt),
        last_used_at: iso(i.lastUsedAt),
      })),
    ),
    recovery_codes_left: await p.stores.factors.countRecoveryCodes(user.id),
    sessions: sessions.map((x) => ({
      ...describeUserAgent(x.userAgent),
      user_agent: x.userAgent ?? null,
      ip: x.ip ?? null,
      amr: x.amr,
      created_at: iso(x.createdAt),
      last_seen_at: iso(x.lastSeenAt),
      expires_at: iso(x.expiresAt),
    })),
    consents: await Promise.all(
      consents.map(async (c) => ({
        client_id: c.clientId,
        client_name: (await p.stores.clients.get(c.clientId))?.clientName ?? null,
        scopes: c.scopes,
        granted_at: iso(c.grantedAt),
      })),
    ),
    recent_activity: (await recentActivity(p, user.id)).map((r) => ({
      at: new Date(r.at).toISOString(),
      type: r.type,
      outcome: r.outcome,
      ip: r.ip,
    })),
  };
  p.events({ type: 'account_exported', userId: user.id, ip: req.ip });
  p.log.info({ event: 'account_exported', sub: user.id }, 'account data exported by user');
  return {
    kind: 'raw',
    status: 200,
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify(body, null, 2),
    headers: {
      'content-disposition': 'attachment; filename="tessera-account.json"',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  };
}
