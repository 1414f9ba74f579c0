import type { View } from '../protocol/provider.ts';
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

export function renderView(view: View, nonce: string): string {
  switch (view.name) {
    case 'login':
      return loginPage({ ...view, nonce, assetVersion: ASSET_VERSION });
    case 'consent':
      return consentPage({ ...view, nonce });
    case 'signup':
      return signupPage({ ...view, nonce });
    case 'select-account':
      return selectAccountPage({ ...view, nonce });
    case 'error':
      return errorPage({ ...view, nonce });
    case 'logout-confirm':
      return logoutConfirmPage({ ...view, nonce });
    case 'logged-out':
      return loggedOutPage({ nonce, frames: view.frames, continueTo: view.continueTo });
    case 'account-area':
      return accountAreaPage({ nav: view.nav, account: view.account, nonce });
    case 'second-factor':
      return secondFactorPage({ ...view, nonce, assetVersion: ASSET_VERSION });
    case 'mfa-enrol':
      return mfaEnrolPage({ ...view, nonce });
    case 'device':
      return deviceEntryPage({ ...view, nonce });
    case 'device-done':
      return deviceDonePage({ ...view, nonce });
    case 'passkeys':
      return passkeysPage({ ...view, nonce, assetVersion: ASSET_VERSION });
    case 'forgot-password':
      return forgotPasswordPage({ ...view, nonce });
    case 'reset-password':
      return resetPasswordPage({ ...view, nonce, assetVersion: ASSET_VERSION });
    case 'verify-email':
      return verifyEmailPage({ ...view, nonce });
    case 'email-unverified':
      return emailUnverifiedPage({ ...view, nonce });
    case 'recovery-done':
      return recoveryDonePage({ ...view, nonce });
    case 'upstream-problem':
      return upstreamProblemPage({ ...view, nonce });
    case 'upstream-continue':
      return upstreamContinuePage({ ...view, nonce });
    case 'console':
      return view.render(nonce);
  }
}

export function renderFormPost(action: string, fields: Record<string, string>, nonce: string): string {
  return formPostPage({ nonce, action, fields });
}
