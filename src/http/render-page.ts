import type { View } from '../protocol/provider.ts';
import type { PageBrand } from '../ui/html.ts';
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

/** The page of `view`, with the deployment's branding (Tessera's own without one). */
export function renderView(view: View, nonce: string, brand?: PageBrand): string {
  switch (view.name) {
    case 'login':
      return loginPage({ ...view, nonce, brand, assetVersion: ASSET_VERSION });
    case 'consent':
      return consentPage({ ...view, nonce, brand });
    case 'signup':
      return signupPage({ ...view, nonce, brand });
    case 'select-account':
      return selectAccountPage({ ...view, nonce, brand });
    case 'error':
      return errorPage({ ...view, nonce, brand });
    case 'logout-confirm':
      return logoutConfirmPage({ ...view, nonce, brand });
    case 'logged-out':
      return loggedOutPage({ nonce, brand, frames: view.frames, continueTo: view.continueTo });
    case 'account-area':
      return accountAreaPage({ nav: view.nav, account: view.account, nonce, brand });
    case 'second-factor':
      return secondFactorPage({ ...view, nonce, brand, assetVersion: ASSET_VERSION });
    case 'mfa-enrol':
      return mfaEnrolPage({ ...view, nonce, brand });
    case 'device':
      return deviceEntryPage({ ...view, nonce, brand });
    case 'device-done':
      return deviceDonePage({ ...view, nonce, brand });
    case 'passkeys':
      return passkeysPage({ ...view, nonce, brand, assetVersion: ASSET_VERSION });
    case 'forgot-password':
      return forgotPasswordPage({ ...view, nonce, brand });
    case 'reset-password':
      return resetPasswordPage({ ...view, nonce, brand, assetVersion: ASSET_VERSION });
    case 'verify-email':
      return verifyEmailPage({ ...view, nonce, brand });
    case 'email-unverified':
      return emailUnverifiedPage({ ...view, nonce, brand });
    case 'recovery-done':
      return recoveryDonePage({ ...view, nonce, brand });
    case 'upstream-problem':
      return upstreamProblemPage({ ...view, nonce, brand });
    case 'upstream-continue':
      return upstreamContinuePage({ ...view, nonce, brand });
    case 'console':
      return view.render(nonce, brand);
  }
}

export function renderFormPost(action: string, fields: Record<string, string>, nonce: string): string {
  return formPostPage({ nonce, action, fields });
}
