// Who is at the console: the account area's session (the session cookie, never a bearer token), the
// person's admin role (stores.adminRoles), and a second factor in that session (its amr at the mfa
// level or above: claims-request.ts acrFor). The principal the actions run for holds the role's scopes
// and the session's sign-in time, for the recent sign-in rule.
import type { AdminPrincipal } from '../admin/action.ts';
import type { AdminRole } from '../ports/admin.ts';
import type { SessionRecord } from '../ports/sessions.ts';
import type { UserRecord } from '../ports/users.ts';
import { signedIn } from '../protocol/account/common.ts';
import { ROLE_SCOPES } from '../protocol/admin-scopes.ts';
import { ACR_MFA, acrFor, acrLevel } from '../protocol/claims-request.ts';
import type { Provider, ProtocolRequest } from '../protocol/provider.ts';

export type ConsoleAccess =
  | { kind: 'signed-out' }
  | { kind: 'no-role'; user: UserRecord }
  | { kind: 'needs-mfa'; user: UserRecord; role: AdminRole; hasFactor: boolean }
  | {
      kind: 'ok';
      user: UserRecord;
      session: SessionRecord;
      cookie: string;
      role: AdminRole;
      principal: AdminPrincipal;
    };

/** Whether a session's sign-in reached two factors (mfa, or a passkey: phr, phrh). */
export const hasSecondFactor = (amr: readonly string[]): boolean => acrLevel(acrFor(amr)) >= acrLevel(ACR_MFA);

export async function consoleAccess(p: Provider, req: ProtocolRequest): Promise<ConsoleAccess> {
  const s = await signedIn(p, req);
  if (!s) return { kind: 'signed-out' };
  const assignment = await p.stores.adminRoles.get(s.user.id);
  if (!assignment) return { kind: 'no-role', user: s.user };
  const role = assignment.role;
  if (!hasSecondFactor(s.session.amr)) {
    const factors = await p.stores.factors.listByUser(s.user.id);
    return { kind: 'needs-mfa', user: s.user, role, hasFactor: factors.some((f) => f.confirmed) };
  }
  const principal: AdminPrincipal = {
    kind: 'user',
    id: s.user.id,
    scopes: new Set(ROLE_SCOPES[role] ?? []),
    authTime: s.session.authTime,
    via: 'console',
    ip: req.ip,
  };
  return { kind: 'ok', user: s.user, session: s.session, cookie: s.cookie, role, principal };
}
