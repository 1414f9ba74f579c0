// What the account area's pages show (the View 'account-area'); ui/account-pages.ts renders them.

/** The pages of the account area, as its navigation names them. */
export type AccountSection =
  | 'overview'
  | 'profile'
  | 'password'
  | 'security'
  | 'sessions'
  | 'activity'
  | 'data'
  | 'delete';

/** What every account page has: the user, the form token, a message after an action. */
export interface AccountPageBase {
  /** The issuer: every link and form action of the area is under it. */
  base: string;
  username: string;
  csrf: string;
  /** A confirmation of what was just done. */
  notice?: string;
  /** Why the form was refused (shown with role=alert). */
  error?: string;
}

export interface FactorRow {
  id: string;
  kind: 'totp' | 'passkey';
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface SessionRow {
  sid: string;
  browser: string;
  os: string;
  ip: string | null;
  createdAt: number;
  lastSeenAt: number;
  current: boolean;
}

export interface ActivityRow {
  at: number;
  type: string;
  outcome: 'success' | 'failure';
  ip: string | null;
}

export type AccountView = AccountPageBase &
  (
    | {
        page: 'overview';
        name: string | null;
        email: string | null;
        emailVerified: boolean;
        factorCount: number;
        consents: { clientId: string; clientName: string; scopes: string[]; grantedAt: number }[];
      }
    | {
        page: 'profile';
        name: string;
        email: string;
        emailVerified: boolean;
        fieldErrors: { name?: string; email?: string };
      }
    | { page: 'password'; fieldErrors: { current?: string; password?: string; confirm?: string } }
    | {
        page: 'security';
        factors: FactorRow[];
        recoveryCodesLeft: number;
        /** TESSERA_MFA=off: no factor may be added. */
        mfaOff: boolean;
        /** Only passkeys count (TESSERA_MFA=phishing-resistant). */
        passkeysOnly: boolean;
        /** A factor is required of this user: the last one cannot be removed. */
        required: boolean;
      }
    | {
        page: 'totp';
        factorId: string;
        /** The secret, base32, and its QR code: absent after a wrong code (shown once). */
        secret?: string;
        qrSvg?: string;
        continueTo?: string;
      }
    | { page: 'recovery-codes'; left: number; codes?: string[]; continueTo?: string }
    | { page: 'sessions'; sessions: SessionRow[] }
    | { page: 'activity'; records: ActivityRow[] }
    | { page: 'data' }
    | { page: 'delete' }
    | { page: 'reauth'; returnTo: string }
  );
