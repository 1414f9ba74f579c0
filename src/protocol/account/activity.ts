// Recent security activity (/account/activity): the user's own records of the audit trail (sign-ins,
// factor and password changes, sessions ended...), the latest 50, as plain text.
import type { OAuthResponse, ProtocolRequest, StoreDeps } from '../provider.ts';
import { accountPage, signedIn, toLogin, type AccountDeps } from './common.ts';

export type ActivityDeps = AccountDeps & StoreDeps<'audit'>;

/** The audit types a user is shown of their own account (token issuance and the like are left out). */
export const ACTIVITY_TYPES = [
  'login_succeeded',
  'logout',
  'user_registered',
  'consent_granted',
  'consent_revoked',
  'factor_added',
  'factor_removed',
  'factor_renamed',
  'recovery_codes_generated',
  'second_factor_succeeded',
  'second_factor_failed',
  'second_factor_throttled',
  'step_up',
  'new_device_sign_in',
  'password_changed',
  'password_reset_requested',
  'password_reset_failed',
  'email_verification_sent',
  'email_verified',
  'email_changed',
  'sessions_ended',
  'account_exported',
  'mfa_reset',
  'user_unlocked',
  'mfa_required_set',
  'upstream_login_succeeded',
  'upstream_linked',
  'upstream_unlinked',
] as const;

export const ACTIVITY_LIMIT = 50;

/** The user's own recent records (actor = the user), latest first. */
export async function recentActivity(p: StoreDeps<'audit'>, userId: string) {
  const records = await p.stores.audit.query({ actor: userId, types: ACTIVITY_TYPES, limit: ACTIVITY_LIMIT });
  return records.reverse().map((r) => ({ at: r.at, type: r.type, outcome: r.outcome, ip: r.ip }));
}

export async function showActivity(p: ActivityDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const s = await signedIn(p, req);
  if (!s) return toLogin(p);
  return accountPage(p, s, '', { page: 'activity', records: await recentActivity(p, s.user.id) }, { nav: 'activity' });
}
