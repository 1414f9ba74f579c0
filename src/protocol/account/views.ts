// What the account area's pages show (the View 'account-area'); ui/account-pages.ts renders them. Every
// sentence the protocol code puts here is a message of the catalog (Msg), never English text: the page
// says it in the language the HTTP layer negotiated.
import type { Msg } from '../../i18n/catalog.ts';

/** The pages of the account area, as its navigation names them. */
export type AccountSection =
  | 'overview'
  | 'profile'
  | 'password'
  | 'security'
  | 'sessions'
  | 'activity'
  | 'linked'
  | 'data'
  | 'delete';

/** What every account page has: the user, the form token, a message after an action. */
export interface AccountPageBase {
  /** The issuer: every link and form action of the area is under it. */
  base: string;
  username: string;
  csrf: string;
  /** A confirmation of what was just done. */
  notice?: Msg;
  /** Why the form was refused (shown with role=alert). */
  error?: Msg;
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
  /** The browser's product name (not translated), or null when the User-Agent names none we know. */
  browser: string | null;
  /** The operating system's name, or null when unknown. */
  os: string | null;
  ip: string | null;
  createdAt: number;
  lastSeenAt: number;
  current: boolean;
}

/** A linked upstream identity (issue 17), as the "Linked sign-ins" page lists it. */
export interface LinkedRow {
  /** What the Unlink form names it by (upstream/account.ts identityRef), never the raw subject. */
  ref: string;
  providerLabel: string;
  /** The email the provider gave with it (shown to the user only). */
  email: string | null;
  createdAt: number;
  lastUsedAt: number;
}

/** A provider a button names: its id (the form's value) and its label. */
export interface ProviderButton {
  id: string;
  label: string;
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
        /** The language the user chose (a LOCALES tag), or null for the browser's. */
        locale: string | null;
        fieldErrors: { name?: Msg; email?: Msg; locale?: Msg };
      }
    | { page: 'password'; fieldErrors: { current?: Msg; password?: Msg; confirm?: Msg } }
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
    | {
        page: 'delete';
        /** False for an account without a password: the recent sign-in alone confirms it is the user. */
        hasPassword?: boolean;
      }
    | { page: 'linked'; identities: LinkedRow[]; available: ProviderButton[] }
    | {
        page: 'reauth';
        returnTo: string;
        /** The user's linked, enabled providers: re-authentication through one of them (issue 17). */
        providers?: ProviderButton[];
        /** False for an account without a password (made by an upstream sign-in): no password field. */
        hasPassword?: boolean;
      }
  );
