import type { View } from '../protocol/provider.ts';
import type { PageChrome } from '../ui/html.ts';
import { accountAreaPage } from '../ui/account-pages.ts';
import {
  consentPage,
  deviceDonePage,
  deviceEntryPage,
  errorPage,
  formPostPage,
  loggedOutPage,
  loginPage,
  logoutConfirmPage,
  selectAccountPage,
  signupPage,
} from '../ui/pages.ts';
import { mfaEnrolPage, secondFactorPage } from '../ui/second-factor-page.ts';
import { passkeysPage } from '../ui/passkey-pages.ts';
import { upstreamContinuePage, upstreamProblemPage } from '../ui/upstream-pages.ts';
import { ASSET_VERSION } from './assets.ts';
import {
  emailUnverifiedPage,
  forgotPasswordPage,
  recoveryDonePage,
  resetPasswordPage,
  verifyEmailPage,
} from '../ui/recovery-pages.ts';

/** The page of `view`, with its chrome: nonce, branding (Tessera's own without one), language, language links. */
export function renderView(view: View, chrome: PageChrome): string {
  switch (view.name) {
    case 'login':
      return loginPage({ ...view, ...chrome, assetVersion: ASSET_VERSION });
    case 'consent':
      return consentPage({ ...view, ...chrome });
    case 'signup':
      return signupPage({ ...view, ...chrome });
    case 'select-account':
      return selectAccountPage({ ...view, ...chrome });
    case 'error':
      return errorPage({ ...view, ...chrome });
    case 'logout-confirm':
      return logoutConfirmPage({ ...view, ...chrome });
    case 'logged-out':
      return loggedOutPage({ ...chrome, frames: view.frames, continueTo: view.continueTo });
    case 'account-area':
      return accountAreaPage({ nav: view.nav, account: view.account, ...chrome });
    case 'second-factor':
      return secondFactorPage({ ...view, ...chrome, assetVersion: ASSET_VERSION });
    case 'mfa-enrol':
      return mfaEnrolPage({ ...view, ...chrome });
    case 'device':
      return deviceEntryPage({ ...view, ...chrome });
    case 'device-done':
      return deviceDonePage({ ...view, ...chrome });
    case 'passkeys':
      return passkeysPage({ ...view, ...chrome, assetVersion: ASSET_VERSION });
    case 'forgot-password':
      return forgotPasswordPage({ ...view, ...chrome });
    case 'reset-password':
      return resetPasswordPage({ ...view, ...chrome, assetVersion: ASSET_VERSION });
    case 'verify-email':
      return verifyEmailPage({ ...view, ...chrome });
    case 'email-unverified':
      return emailUnverifiedPage({ ...view, ...chrome });
    case 'recovery-done':
      return recoveryDonePage({ ...view, ...chrome });
    case 'upstream-problem':
      return upstreamProblemPage({ ...view, ...chrome });
    case 'upstream-continue':
      return upstreamContinuePage({ ...view, ...chrome });
    case 'console':
      return view.render(chrome);
  }
}

/** The auto-submitting form of a form_post response; its words (seen without JavaScript) in `locale`. */
export function renderFormPost(
  action: string,
  fields: Record<string, string>,
  nonce: string,
  locale?: PageChrome['locale'],
): string {
  return formPostPage({ nonce, action, fields, ...(locale ? { locale } : {}) });
}
