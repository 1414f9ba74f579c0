// The words of the interaction area (issue 18): the sign-in pages (login, sign-up, consent, second factor, device,
// sign-out, mail links, passkeys) and the messages the protocol puts on them. English is the source; the other
// languages must have every key (the type says so), with the same {placeholders}.

export const en = {
  // Shared by the pages that name a client
  'interaction.lead.continueTo': 'to continue to {client}',
  'interaction.unverified.sentTo': 'If you continue, you will be sent to {host}.',
  'interaction.unverified.device': 'Access would go to the device that showed you the code, not to this browser.',
  'interaction.unverified.document':
    'This application is identified by {host}, which publishes its details: its name has not been checked by anyone.',
  'interaction.unverified.self':
    'This application registered itself with Tessera: its name has not been checked by anyone.',
  'interaction.unverified.short': 'This application registered itself: its name has not been checked by anyone.',
  'interaction.cimd.label': 'About this application',
  'interaction.cimd.identified':
    'This application is identified by {host}, which publishes its details; its name has not been checked by anyone. If you continue, you will be sent to {redirect}.',
  'interaction.cimd.firstTime': 'You have not allowed this application before.',
  'interaction.cimd.firstTimeHost': 'Continue only if you expected to use an application from {host}.',
  'interaction.cimd.localOnly': 'This application returns to an address on your own device ({host}).',
  'interaction.cimd.localOnlyWarning':
    'Any program on your device could claim to be it: continue only if you started this sign-in yourself, from the application you expect.',
  'interaction.optional': '(optional)',
  // Login
  'interaction.login.title': 'Sign in',
  'interaction.login.username': 'Username',
  'interaction.login.password': 'Password',
  'interaction.login.submit': 'Sign in',
  'interaction.login.forgot': 'Forgot password?',
  'interaction.login.newHere': 'New here?',
  'interaction.login.signup': 'Create an account',
  'interaction.login.passkey': 'Sign in with a passkey',
  'interaction.login.usePasskey': 'Use a passkey',
  'interaction.login.yourAccount': 'your Tessera account',
  'interaction.upstream.or': 'Or continue with',
  'interaction.upstream.continueWith': 'Continue with {provider}',
  'interaction.continuing.title': 'Continuing',
  'interaction.continuing.heading': 'Continuing…',
  'interaction.continuing.link': 'Continue',
  'interaction.continuing.status': 'Returning you to the application.',
  'interaction.continuing.noscript': 'JavaScript is turned off. Select Continue to return to the application.',
  // Sign-up
  'interaction.signup.title': 'Create an account',
  'interaction.signup.email': 'Email',
  'interaction.signup.name': 'Full name',
  'interaction.signup.confirm': 'Confirm password',
  'interaction.signup.usernameHint': '3 to 32 characters: letters, digits, dots, dashes or underscores.',
  'interaction.signup.passwordHint': 'At least 8 characters. Long passphrases are welcome.',
  'interaction.signup.submit': 'Create account',
  'interaction.signup.haveAccount': 'Already have an account?',
  // Consent
  'interaction.consent.title': 'Allow access to {client}?',
  'interaction.consent.heading': 'Allow access?',
  'interaction.consent.lead': '{client} is asking for access to your account {user}.',
  'interaction.consent.leadDevice': '{client} is asking for access to your account {user} on a device.',
  'interaction.consent.checkCode': 'Check that this code is the one shown on your device:',
  'interaction.consent.codeWarning':
    'If it is not, or you did not start this on a device of your own, select Deny: someone may be trying to get access to your account.',
  'interaction.consent.scopes': 'This will allow {client} to:',
  'interaction.consent.shares': 'Shares:',
  'interaction.consent.noScopes': 'No specific permissions are requested.',
  'interaction.consent.resourceOne': 'This access can be used only with:',
  'interaction.consent.resourceMany': 'This access can be used only with these services:',
  'interaction.consent.serviceAt': 'The service at {host}',
  'interaction.consent.details': 'In particular:',
  'interaction.consent.claims': 'It also asks to see:',
  'interaction.consent.policiesOf': "{client}'s",
  'interaction.consent.privacy': 'privacy policy',
  'interaction.consent.terms': 'terms of service',
  'interaction.consent.deny': 'Deny',
  'interaction.consent.allow': 'Allow',
  'interaction.consent.trust':
    'Only allow access to applications you trust. You can revoke access later from your {brand} account.',
  // Account chooser
  'interaction.select.title': 'Choose an account',
  'interaction.select.switch': 'Use another account',
  'interaction.select.continueAs': 'Continue as {user}',
  // Device flow
  'interaction.device.title': 'Connect a device',
  'interaction.device.lead': 'Enter the code shown on your TV, console or other device.',
  'interaction.device.code': 'Code',
  'interaction.device.submit': 'Continue',
  'interaction.device.warning':
    'Only enter a code from a device you are setting up yourself. Never enter a code someone else sent you.',
  'interaction.deviceDone.title': 'Device connected',
  'interaction.deviceDone.heading': 'You may return to your device',
  'interaction.deviceDone.lead':
    '{client} now has the access you allowed. You can close this page and continue on your device.',
  'interaction.deviceDone.revoke': 'You can revoke its access at any time from your {brand} account.',
  'interaction.deviceDone.deniedTitle': 'Access denied',
  'interaction.deviceDone.deniedLead': '{client} was not given access. You can close this page.',
  // Error page
  'interaction.errorPage.back':
    'For your security, you have not been sent back to the application automatically. You can close this page, or go back only if you trust it:',
  'interaction.errorPage.noBack':
    'For your security, you have not been sent back to the application. You can close this page.',
  'interaction.errorPage.detail': 'Technical details:',
  'interaction.errorPage.returnTo': 'Return to {client}',
  'interaction.errorPage.returnToHost': 'Return to {client} ({host})',
  // Sign-out
  'interaction.logout.title': 'Sign out?',
  'interaction.logout.heading': 'Sign out of {brand}?',
  'interaction.logout.asking': '{client} is asking to sign you out of {brand}.',
  'interaction.logout.request': 'A request was made to sign you out of {brand}.',
  'interaction.logout.next':
    'You will then be sent to {host}, an address this application registered itself. Continue only if you trust it.',
  'interaction.logout.submit': 'Sign out',
  'interaction.logout.stay': 'If you did not ask to sign out, you can close this page and stay signed in.',
  'interaction.loggedOut.title': 'Signed out',
  'interaction.loggedOut.heading': 'You are signed out.',
  'interaction.loggedOut.frame': 'Signing out of an application',
  'interaction.loggedOut.continue': 'Continue to the application',
  'interaction.loggedOut.done': 'You have been signed out of {brand}. You can close this page.',
  // Second factor
  'interaction.mfa.title': 'Second factor',
  'interaction.mfa.lead': 'Signing in as {user} to continue to {client}',
  'interaction.mfa.recoveryCode': 'Recovery code',
  'interaction.mfa.recoveryHint': 'One of the codes you saved when you set up your second factor. Each works once.',
  'interaction.mfa.appCode': 'Code from your authenticator app',
  'interaction.mfa.remember': 'Remember this browser',
  'interaction.mfa.verify': 'Verify',
  'interaction.mfa.useApp': 'Use your authenticator app instead',
  'interaction.mfa.useRecovery': 'Use a recovery code',
  'interaction.mfa.passkey': 'Passkey',
  'interaction.mfa.needsPasskey': 'This sign-in needs a passkey, which this page cannot use yet.',
  'interaction.enrol.title': 'Set up a second factor',
  'interaction.enrol.leadPasskey': 'Signed in as {user}. To continue to {client}, your account needs a passkey.',
  'interaction.enrol.leadTotp':
    'Signed in as {user}. To continue to {client}, your account needs an authenticator app.',
  'interaction.enrol.setUpPasskey': 'Set up a passkey',
  'interaction.enrol.setUpTotp': 'Set up an authenticator app',
  'interaction.enrol.skipUntil': 'You can skip this until {date}.',
  'interaction.enrol.skip': 'Skip for now',
  // Mail pages
  'interaction.forgot.title': 'Forgot password',
  'interaction.forgot.heading': 'Forgot password?',
  'interaction.forgot.lead':
    "Enter your username or your account's email address. If the account has a confirmed address, we send a link there to choose a new password.",
  'interaction.forgot.name': 'Username or email address',
  'interaction.forgot.submit': 'Send the link',
  'interaction.forgot.sentTitle': 'Check your mail',
  'interaction.forgot.sent':
    'If an account matches and has a confirmed email address, a link to choose a new password is on its way there. It works once, for a short while.',
  'interaction.forgot.sentHint': 'No mail within a few minutes? Check the spam folder, or ask again later.',
  'interaction.reset.title': 'Choose a new password',
  'interaction.reset.for': 'for {user}',
  'interaction.reset.password': 'New password',
  'interaction.reset.confirm': 'New password again',
  'interaction.reset.code': 'Code from your authenticator app, or a recovery code',
  'interaction.reset.codeHint': 'Your account has a second sign-in step: the link alone cannot change its password.',
  'interaction.reset.passkeyHint':
    'Your account has a passkey: after choosing the new password, confirm the change with it.',
  'interaction.reset.passkeyHintCode':
    'Your account has a passkey: after choosing the new password, confirm the change with it (or enter a code above).',
  'interaction.reset.passkeyButton': 'Change password with a passkey',
  'interaction.reset.submit': 'Change password',
  'interaction.reset.signedOut': 'Every session of the account is signed out afterwards.',
  'interaction.verify.title': 'Confirm your email address',
  'interaction.verify.lead': 'Is {address} your address? Press the button to confirm it.',
  'interaction.verify.submit': 'Confirm my email address',
  'interaction.unconfirmed.heading': 'Confirm your email address first',
  'interaction.unconfirmed.lead':
    'This account can sign in once its email address ({address}) is confirmed. Open the link in the mail we sent there.',
  'interaction.unconfirmed.sent': '{newLink}, unless several were sent within the hour.',
  'interaction.unconfirmed.newLink': 'A new link is on its way',
  'interaction.unconfirmed.submit': 'Send the link again',
  // Passkeys page and script
  'interaction.passkeys.title': 'Passkeys',
  'interaction.passkeys.signedInAs': 'Signed in as {user}',
  'interaction.passkeys.about':
    "A passkey lets you sign in with your device's screen lock (fingerprint, face or PIN) instead of a password. It works only on this site, so it cannot be phished.",
  'interaction.passkeys.added': 'Passkey “{name}” added.',
  'interaction.passkeys.yours': 'Your passkeys',
  'interaction.passkeys.none': 'You have no passkeys yet.',
  'interaction.passkeys.synced': 'Synced passkey',
  'interaction.passkeys.oneDevice': 'Passkey on one device',
  'interaction.passkeys.addedOn': 'added {date}',
  'interaction.passkeys.lastUsed': 'Last used {date}',
  'interaction.passkeys.notUsed': 'Not used yet',
  'interaction.passkeys.add': 'Add a passkey',
  'interaction.passkeys.name': 'Name',
  'interaction.passkeys.nameHint': 'To tell your passkeys apart, for example “Work laptop”.',
  'interaction.passkeys.needsScript': 'Adding a passkey needs JavaScript, which is turned off or still loading.',
  'interaction.passkeys.continue': 'Continue signing in',
  'interaction.passkeys.back': 'Back to your account',
  'interaction.passkeys.script.notUsed': 'No passkey was used. Try again, or sign in with your password.',
  'interaction.passkeys.script.exists': 'This device already holds a passkey for your account.',
  'interaction.passkeys.script.notCreated': 'No passkey was created. Try again.',
  // Problems: an error page's title and sentence (interaction/problem.ts)
  'interaction.problem.expired.title': 'Sign-in request expired',
  'interaction.problem.expired.message':
    'This sign-in request has expired or was already completed. Go back to the application and start again.',
  'interaction.problem.notRecognised.title': 'Sign-in request not recognised',
  'interaction.problem.notRecognised.message':
    'This sign-in request was started in another browser or its cookie is missing. Go back to the application and start again.',
  'interaction.problem.clientGone.title': 'Unknown application',
  'interaction.problem.clientGone.message': 'The application is no longer registered.',
  'interaction.problem.formExpired.title': 'Form expired',
  'interaction.problem.formExpired.message':
    'The form could not be verified. Go back to the application and start again.',
  'interaction.problem.formExpiredDevice.title': 'Form expired',
  'interaction.problem.formExpiredDevice.message':
    'The form could not be verified. Reload the page and enter the code again.',
  'interaction.problem.formExpiredRetry.title': 'Form expired',
  'interaction.problem.formExpiredRetry.message': 'The form could not be verified. Go back and try again.',
  'interaction.problem.signInExpired.title': 'Sign-in expired',
  'interaction.problem.signInExpired.message':
    'This sign-in has expired or was already completed. Start again from the application or the account page.',
  'interaction.problem.signupUnavailable.title': 'Sign-up not available',
  'interaction.problem.signupUnavailable.message':
    'New accounts cannot be created here. Ask the operator of this service for an account.',
  'interaction.problem.formInvalid.title': 'Form not valid',
  'interaction.problem.formInvalid.message':
    'The form could not be read: a field is too long or was sent twice. Go back and try again.',
  'interaction.problem.notSignIn.title': 'Request not valid',
  'interaction.problem.notSignIn.message': 'The address to continue to is not one of a sign-in.',
  'interaction.problem.unknownClient.title': 'Unknown application',
  'interaction.problem.unknownClient.message':
    'The application that sent you here is not registered with this server, so you cannot sign in to it from here.',
  'interaction.problem.noRedirect.title': 'Missing redirect address',
  'interaction.problem.noRedirect.message': 'The application did not say where to send you back to.',
  'interaction.problem.unregisteredRedirect.title': 'Unregistered redirect address',
  'interaction.problem.unregisteredRedirect.message':
    'The application asked to send you to an address it has not registered, so this request was stopped.',
  'interaction.problem.invalidRequest.title': 'Invalid request',
  'interaction.problem.invalidRequest.message':
    'The application sent a request this server cannot accept. Go back to the application and try again.',
  'interaction.problem.requestNotValid.title': 'Request not valid',
  'interaction.problem.requestNotValid.message':
    'The application sent a request this server cannot accept. Go back to the application and try again.',
  'interaction.problem.parExpired.title': 'Sign-in request expired',
  'interaction.problem.parExpired.message':
    'This sign-in request has expired, was already used, or belongs to another application. Go back to the application and start again.',
  'interaction.problem.accessDenied.title': 'Access not allowed',
  'interaction.problem.accessDenied.message': 'You did not allow {client} access.',
  'interaction.problem.unavailable.title': 'Service unavailable',
  'interaction.problem.unavailable.message': 'This service cannot answer right now. Try again in a few minutes.',
  'interaction.problem.tooManyRequests.title': 'Too many requests',
  'interaction.problem.tooManyRequests.message': 'Too many requests. Try again in {seconds} seconds.',
  'interaction.problem.tooManyRequestsOne.title': 'Too many requests',
  'interaction.problem.tooManyRequestsOne.message': 'Too many requests. Try again in 1 second.',
  'interaction.problem.deviceUnavailable.title': 'Not found',
  'interaction.problem.deviceUnavailable.message': 'Device sign-in is not available on this server.',
  'interaction.problem.codeExpired.title': 'Code expired',
  'interaction.problem.codeExpired.message': 'This code has expired or was already used. Start again on your device.',
  'interaction.problem.noAdminAccess.title': 'No admin access',
  'interaction.problem.noAdminAccess.message':
    'Your account holds no admin role with these permissions (or you have not signed in with a second factor), so the device gets nothing. Ask an owner for a role.',
  'interaction.problem.logoutInvalid.title': 'Sign-out request not valid',
  'interaction.problem.logoutInvalid.message':
    'The application sent a sign-out request this server cannot accept. You are still signed in.',
  // A sign-in through an upstream provider that did not go through (upstream/callback.ts)
  'interaction.upstream.unknownProvider.title': 'Unknown sign-in provider',
  'interaction.upstream.unknownProvider.message':
    'This sign-in provider is not configured here. Start again from the sign-in page.',
  'interaction.upstream.badAnswer.title': 'Sign-in not completed',
  'interaction.upstream.badAnswer.message': 'The answer from {provider} is not valid.',
  'interaction.upstream.stateExpired.title': 'Sign-in expired',
  'interaction.upstream.stateExpired.message':
    'This sign-in through {provider} has expired, was already used, or was started in another browser. Start again from the sign-in page.',
  'interaction.upstream.tenant.title': 'Organisation not allowed',
  'interaction.upstream.tenant.message':
    'Your {provider} account belongs to an organisation that may not sign in here.',
  'interaction.upstream.domain.title': 'Account not allowed',
  'interaction.upstream.domain.message': 'Only {provider} accounts of the allowed email domains may sign in here.',
  'interaction.upstream.disabled.title': 'Account disabled',
  'interaction.upstream.disabled.message': 'The account linked to this {provider} sign-in cannot be used.',
  'interaction.upstream.emailInUse.title': 'Sign in to your account first',
  'interaction.upstream.emailInUse.message':
    'An account with this email exists. Sign in to it with your password or passkey, then link {provider} from your account page.',
  'interaction.upstream.notLinked.title': 'No linked account',
  'interaction.upstream.notLinked.message': 'No account is linked to this {provider} sign-in.',
  'interaction.upstream.username.title': 'Account not created',
  'interaction.upstream.username.message': 'An account could not be created for this {provider} sign-in. Try again.',
  'interaction.upstream.session.title': 'Sign in again',
  'interaction.upstream.session.message':
    'Your session ended or changed while you were at {provider}. Sign in to your account and try again.',
  'interaction.upstream.notYours.title': 'Not your linked sign-in',
  'interaction.upstream.notYours.message': 'This {provider} sign-in is not linked to your account.',
  'interaction.upstream.unavailable.title': 'Cannot reach {provider}',
  'interaction.upstream.unavailable.message':
    '{provider} cannot be reached right now, so you could not be signed in. Try again in a moment, or sign in another way.',
  'interaction.upstream.denied.title': 'Sign-in not completed',
  'interaction.upstream.denied.message': '{provider} did not sign you in. You can try again, or sign in another way.',
  'interaction.upstream.deniedCode.message':
    '{provider} did not sign you in ({code}). You can try again, or sign in another way.',
  'interaction.upstream.unverified.title': 'Sign-in not completed',
  'interaction.upstream.unverified.message':
    'The answer from {provider} could not be verified, so you were not signed in. Start again from the sign-in page.',
  'interaction.upstream.backToSignIn': 'Back to the sign-in page',
  'interaction.upstream.backToLinked': 'Back to your linked sign-ins',
  'interaction.upstream.goBack': 'Go back',
  // The mail flows' ends (interaction/email.ts, recovery.ts)
  'interaction.mail.formExpired.title': 'Form expired',
  'interaction.mail.formExpired.message': 'The form could not be verified. Open the link from the mail again.',
  'interaction.mail.verifyLinkInvalid.title': 'Link not valid',
  'interaction.mail.verifyLinkInvalid.message':
    'This verification link is not valid: it was used already, has expired, or a newer one was sent. Sign in to have a new one sent.',
  'interaction.mail.addressChanged.title': 'Address changed',
  'interaction.mail.addressChanged.message':
    'This address is no longer the one of your account, so it was not marked verified. Check your account for the current address.',
  'interaction.mail.confirmed.title': 'Email address confirmed',
  'interaction.mail.confirmed.message':
    'Thank you: your email address is confirmed. You can close this page or sign in.',
  'interaction.mail.confirmedAlready.title': 'Email address confirmed',
  'interaction.mail.confirmedAlready.message': 'Your email address is confirmed already: sign in.',
  'interaction.mail.ticketExpired.title': 'Link expired',
  'interaction.mail.ticketExpired.message': 'This page has expired. Sign in again to have the link sent.',
  'interaction.mail.resetLinkInvalid.title': 'Link not valid',
  'interaction.mail.resetLinkInvalid.message':
    'This password reset link is not valid: it was used already, has expired, was replaced by a newer one, or the account was signed in to since. Ask for a new one.',
  'interaction.mail.linkEnded.title': 'Link ended',
  'interaction.mail.linkEnded.message': 'Too many wrong codes: this reset link no longer works. Ask for a new one.',
  'interaction.mail.passwordChanged.title': 'Password changed',
  'interaction.mail.passwordChanged.message':
    'Your password is changed. Every session of your account was signed out and applications must be allowed again. Sign in with the new password.',
  'interaction.mail.toAccount': 'Go to your account',
  // Errors in a form (the page's alert, or a field's)
  'interaction.error.invalidLogin': 'Invalid username or password.',
  'interaction.error.tooManyAttempts': 'Too many failed attempts. Try again in {seconds} seconds.',
  'interaction.error.tooManyAttemptsOne': 'Too many failed attempts. Try again in 1 second.',
  'interaction.error.tooManyCodes': 'Too many wrong codes. Try again in {seconds} seconds.',
  'interaction.error.tooManyCodesOne': 'Too many wrong codes. Try again in 1 second.',
  'interaction.error.upstreamUnreachable':
    '{provider} cannot be reached right now. Try again in a moment, or sign in another way.',
  'interaction.error.notOffered': 'That way of signing in is not offered any more. Choose another one.',
  'interaction.error.passkeyLogin':
    'The passkey could not be used to sign you in. Try again, or sign in with your password.',
  'interaction.error.passkeyNotVerified': 'That passkey could not be verified. Try again, or use another way.',
  'interaction.error.codeReplayed': 'This code was used already. Wait for the next code from your app.',
  'interaction.error.recoveryInvalid': 'That recovery code is not valid.',
  'interaction.error.totpInvalid': 'That code is not valid. Check your app and try again.',
  'interaction.error.resetCodeInvalid':
    'The code is not valid. Enter a current code from your authenticator app, or a recovery code.',
  'interaction.error.passwordsDiffer': 'The two passwords differ.',
  'interaction.error.deviceCode':
    'That code is not valid or has expired. Check the code shown on your device and try again.',
  'interaction.error.signupFailed': 'Your account was not created. Check the fields marked below.',
  'interaction.error.usernameTaken': 'This username is taken. Choose another one.',
  'interaction.error.usernameConfusable': 'This username looks too much like an existing one. Choose another one.',
  'interaction.error.usernameReserved': 'This username is reserved. Choose another one.',
  'interaction.error.chooseUsername': 'Choose a username.',
  'interaction.error.usernameShape':
    'The username must be 3 to 32 characters: letters, digits, dots, dashes or underscores, starting with a letter or digit.',
  'interaction.error.enterEmail': 'Enter your email address.',
  'interaction.error.emailShape': 'Enter a valid email address, like name@example.com.',
  'interaction.error.nameTooLong': 'The name must be at most {max} characters long.',
  'interaction.error.nameCharacters': 'The name contains characters that are not allowed.',
  'interaction.error.choosePassword': 'Choose a password.',
  'interaction.error.passwordShort': 'The password must be at least {min} characters long.',
  'interaction.error.passwordLong': 'The password must be at most {max} characters long.',
  'interaction.error.passwordIsUsername': 'The password must not be your username.',
  'interaction.error.passwordCommon':
    'This password is too common and easy to guess. Choose another one; a few unrelated words make a good one.',
  'interaction.error.passwordsMismatch': 'The two passwords do not match.',
  'interaction.error.fieldInvalid': 'Check this field.',
  'interaction.error.passkeyNotCreated':
    'Your browser did not create a passkey. Adding one needs JavaScript and a browser that supports passkeys.',
  'interaction.error.passkeyExists': 'This passkey is registered already.',
  'interaction.error.passkeyNotAdded': 'The passkey could not be added. Try again.',
  // Bridges for the account area's error pages until its own messages land (account helper's branch).
} as const;

export const de: Record<keyof typeof en, string> = {
  'interaction.lead.continueTo': 'um mit {client} fortzufahren',
  'interaction.unverified.sentTo': 'Wenn Sie fortfahren, werden Sie zu {host} weitergeleitet.',
  'interaction.unverified.device':
    'Der Zugriff ginge an das Gerät, das Ihnen den Code angezeigt hat, nicht an diesen Browser.',
  'interaction.unverified.document':
    'Diese Anwendung wird durch {host} ausgewiesen, das ihre Angaben veröffentlicht: Ihr Name wurde von niemandem geprüft.',
  'interaction.unverified.self':
    'Diese Anwendung hat sich selbst bei Tessera registriert: Ihr Name wurde von niemandem geprüft.',
  'interaction.unverified.short': 'Diese Anwendung hat sich selbst registriert: Ihr Name wurde von niemandem geprüft.',
  'interaction.cimd.label': 'Über diese Anwendung',
  'interaction.cimd.identified':
    'Diese Anwendung wird durch {host} ausgewiesen, das ihre Angaben veröffentlicht; ihr Name wurde von niemandem geprüft. Wenn Sie fortfahren, werden Sie zu {redirect} weitergeleitet.',
  'interaction.cimd.firstTime': 'Sie haben dieser Anwendung bisher keinen Zugriff erlaubt.',
  'interaction.cimd.firstTimeHost': 'Fahren Sie nur fort, wenn Sie eine Anwendung von {host} nutzen wollten.',
  'interaction.cimd.localOnly': 'Diese Anwendung kehrt zu einer Adresse auf Ihrem eigenen Gerät zurück ({host}).',
  'interaction.cimd.localOnlyWarning':
    'Jedes Programm auf Ihrem Gerät könnte sich als diese Anwendung ausgeben: Fahren Sie nur fort, wenn Sie diese Anmeldung selbst in der erwarteten Anwendung gestartet haben.',
  'interaction.optional': '(optional)',
  'interaction.login.title': 'Anmelden',
  'interaction.login.username': 'Benutzername',
  'interaction.login.password': 'Passwort',
  'interaction.login.submit': 'Anmelden',
  'interaction.login.forgot': 'Passwort vergessen?',
  'interaction.login.newHere': 'Neu hier?',
  'interaction.login.signup': 'Konto erstellen',
  'interaction.login.passkey': 'Mit einem Passkey anmelden',
  'interaction.login.usePasskey': 'Passkey verwenden',
  'interaction.login.yourAccount': 'Ihrem Tessera-Konto',
  'interaction.upstream.or': 'Oder weiter mit',
  'interaction.upstream.continueWith': 'Weiter mit {provider}',
  'interaction.continuing.title': 'Weiterleitung',
  'interaction.continuing.heading': 'Einen Moment…',
  'interaction.continuing.link': 'Weiter',
  'interaction.continuing.status': 'Sie werden zur Anwendung zurückgeleitet.',
  'interaction.continuing.noscript':
    'JavaScript ist ausgeschaltet. Wählen Sie „Weiter“, um zur Anwendung zurückzukehren.',
  'interaction.signup.title': 'Konto erstellen',
  'interaction.signup.email': 'E-Mail-Adresse',
  'interaction.signup.name': 'Vollständiger Name',
  'interaction.signup.confirm': 'Passwort bestätigen',
  'interaction.signup.usernameHint': '3 bis 32 Zeichen: Buchstaben, Ziffern, Punkte, Bindestriche oder Unterstriche.',
  'interaction.signup.passwordHint': 'Mindestens 8 Zeichen. Lange Passphrasen sind willkommen.',
  'interaction.signup.submit': 'Konto erstellen',
  'interaction.signup.haveAccount': 'Sie haben schon ein Konto?',
  'interaction.consent.title': '{client} Zugriff erlauben?',
  'interaction.consent.heading': 'Zugriff erlauben?',
  'interaction.consent.lead': '{client} bittet um Zugriff auf Ihr Konto {user}.',
  'interaction.consent.leadDevice': '{client} bittet auf einem Gerät um Zugriff auf Ihr Konto {user}.',
  'interaction.consent.checkCode': 'Prüfen Sie, ob dieser Code der auf Ihrem Gerät angezeigte ist:',
  'interaction.consent.codeWarning':
    'Falls nicht, oder falls Sie dies nicht auf einem eigenen Gerät gestartet haben, wählen Sie „Ablehnen“: Möglicherweise versucht jemand, Zugriff auf Ihr Konto zu erhalten.',
  'interaction.consent.scopes': 'Damit darf {client}:',
  'interaction.consent.shares': 'Gibt weiter:',
  'interaction.consent.noScopes': 'Es werden keine bestimmten Berechtigungen angefragt.',
  'interaction.consent.resourceOne': 'Dieser Zugriff gilt nur für:',
  'interaction.consent.resourceMany': 'Dieser Zugriff gilt nur für diese Dienste:',
  'interaction.consent.serviceAt': 'Der Dienst unter {host}',
  'interaction.consent.details': 'Im Einzelnen:',
  'interaction.consent.claims': 'Außerdem möchte sie Folgendes sehen:',
  'interaction.consent.policiesOf': '{client}:',
  'interaction.consent.privacy': 'Datenschutzerklärung',
  'interaction.consent.terms': 'Nutzungsbedingungen',
  'interaction.consent.deny': 'Ablehnen',
  'interaction.consent.allow': 'Erlauben',
  'interaction.consent.trust':
    'Erlauben Sie den Zugriff nur Anwendungen, denen Sie vertrauen. Sie können ihn später in Ihrem {brand}-Konto widerrufen.',
  'interaction.select.title': 'Konto auswählen',
  'interaction.select.switch': 'Anderes Konto verwenden',
  'interaction.select.continueAs': 'Weiter als {user}',
  'interaction.device.title': 'Gerät verbinden',
  'interaction.device.lead':
    'Geben Sie den Code ein, der auf Ihrem Fernseher, Ihrer Konsole oder einem anderen Gerät angezeigt wird.',
  'interaction.device.code': 'Code',
  'interaction.device.submit': 'Weiter',
  'interaction.device.warning':
    'Geben Sie nur einen Code von einem Gerät ein, das Sie selbst einrichten. Geben Sie niemals einen Code ein, den Ihnen jemand anderes geschickt hat.',
  'interaction.deviceDone.title': 'Gerät verbunden',
  'interaction.deviceDone.heading': 'Sie können zu Ihrem Gerät zurückkehren',
  'interaction.deviceDone.lead':
    '{client} hat jetzt den Zugriff, den Sie erlaubt haben. Sie können diese Seite schließen und auf Ihrem Gerät weitermachen.',
  'interaction.deviceDone.revoke': 'Sie können den Zugriff jederzeit in Ihrem {brand}-Konto widerrufen.',
  'interaction.deviceDone.deniedTitle': 'Zugriff abgelehnt',
  'interaction.deviceDone.deniedLead': '{client} hat keinen Zugriff erhalten. Sie können diese Seite schließen.',
  'interaction.errorPage.back':
    'Zu Ihrer Sicherheit wurden Sie nicht automatisch zur Anwendung zurückgeleitet. Sie können diese Seite schließen oder nur dann zurückgehen, wenn Sie ihr vertrauen:',
  'interaction.errorPage.noBack':
    'Zu Ihrer Sicherheit wurden Sie nicht zur Anwendung zurückgeleitet. Sie können diese Seite schließen.',
  'interaction.errorPage.detail': 'Technische Angaben:',
  'interaction.errorPage.returnTo': 'Zurück zu {client}',
  'interaction.errorPage.returnToHost': 'Zurück zu {client} ({host})',
  'interaction.logout.title': 'Abmelden?',
  'interaction.logout.heading': 'Von {brand} abmelden?',
  'interaction.logout.asking': '{client} möchte Sie von {brand} abmelden.',
  'interaction.logout.request': 'Es wurde angefragt, Sie von {brand} abzumelden.',
  'interaction.logout.next':
    'Danach werden Sie zu {host} weitergeleitet, einer Adresse, die diese Anwendung selbst registriert hat. Fahren Sie nur fort, wenn Sie ihr vertrauen.',
  'interaction.logout.submit': 'Abmelden',
  'interaction.logout.stay':
    'Wenn Sie die Abmeldung nicht angefragt haben, können Sie diese Seite schließen und bleiben angemeldet.',
  'interaction.loggedOut.title': 'Abgemeldet',
  'interaction.loggedOut.heading': 'Sie sind abgemeldet.',
  'interaction.loggedOut.frame': 'Abmeldung bei einer Anwendung',
  'interaction.loggedOut.continue': 'Weiter zur Anwendung',
  'interaction.loggedOut.done': 'Sie wurden von {brand} abgemeldet. Sie können diese Seite schließen.',
  'interaction.mfa.title': 'Zweiter Faktor',
  'interaction.mfa.lead': 'Anmeldung als {user}, um mit {client} fortzufahren',
  'interaction.mfa.recoveryCode': 'Wiederherstellungscode',
  'interaction.mfa.recoveryHint':
    'Einer der Codes, die Sie beim Einrichten Ihres zweiten Faktors gespeichert haben. Jeder funktioniert nur einmal.',
  'interaction.mfa.appCode': 'Code aus Ihrer Authenticator-App',
  'interaction.mfa.remember': 'Diesen Browser merken',
  'interaction.mfa.verify': 'Bestätigen',
  'interaction.mfa.useApp': 'Stattdessen Ihre Authenticator-App verwenden',
  'interaction.mfa.useRecovery': 'Einen Wiederherstellungscode verwenden',
  'interaction.mfa.passkey': 'Passkey',
  'interaction.mfa.needsPasskey':
    'Für diese Anmeldung ist ein Passkey nötig, den diese Seite noch nicht verwenden kann.',
  'interaction.enrol.title': 'Zweiten Faktor einrichten',
  'interaction.enrol.leadPasskey':
    'Angemeldet als {user}. Um mit {client} fortzufahren, braucht Ihr Konto einen Passkey.',
  'interaction.enrol.leadTotp':
    'Angemeldet als {user}. Um mit {client} fortzufahren, braucht Ihr Konto eine Authenticator-App.',
  'interaction.enrol.setUpPasskey': 'Passkey einrichten',
  'interaction.enrol.setUpTotp': 'Authenticator-App einrichten',
  'interaction.enrol.skipUntil': 'Sie können dies bis zum {date} überspringen.',
  'interaction.enrol.skip': 'Vorerst überspringen',
  'interaction.forgot.title': 'Passwort vergessen',
  'interaction.forgot.heading': 'Passwort vergessen?',
  'interaction.forgot.lead':
    'Geben Sie Ihren Benutzernamen oder die E-Mail-Adresse Ihres Kontos ein. Hat das Konto eine bestätigte Adresse, senden wir Ihnen dorthin einen Link, um ein neues Passwort zu wählen.',
  'interaction.forgot.name': 'Benutzername oder E-Mail-Adresse',
  'interaction.forgot.submit': 'Link senden',
  'interaction.forgot.sentTitle': 'Sehen Sie in Ihrem Postfach nach',
  'interaction.forgot.sent':
    'Wenn ein Konto passt und eine bestätigte E-Mail-Adresse hat, ist ein Link zum Wählen eines neuen Passworts dorthin unterwegs. Er funktioniert einmal und nur für kurze Zeit.',
  'interaction.forgot.sentHint':
    'Keine E-Mail nach ein paar Minuten? Sehen Sie im Spam-Ordner nach oder fragen Sie später erneut an.',
  'interaction.reset.title': 'Neues Passwort wählen',
  'interaction.reset.for': 'für {user}',
  'interaction.reset.password': 'Neues Passwort',
  'interaction.reset.confirm': 'Neues Passwort wiederholen',
  'interaction.reset.code': 'Code aus Ihrer Authenticator-App oder ein Wiederherstellungscode',
  'interaction.reset.codeHint':
    'Ihr Konto hat einen zweiten Anmeldeschritt: Mit dem Link allein lässt sich das Passwort nicht ändern.',
  'interaction.reset.passkeyHint':
    'Ihr Konto hat einen Passkey: Bestätigen Sie die Änderung damit, nachdem Sie das neue Passwort gewählt haben.',
  'interaction.reset.passkeyHintCode':
    'Ihr Konto hat einen Passkey: Bestätigen Sie die Änderung damit, nachdem Sie das neue Passwort gewählt haben (oder geben Sie oben einen Code ein).',
  'interaction.reset.passkeyButton': 'Passwort mit einem Passkey ändern',
  'interaction.reset.submit': 'Passwort ändern',
  'interaction.reset.signedOut': 'Danach werden alle Sitzungen des Kontos abgemeldet.',
  'interaction.verify.title': 'E-Mail-Adresse bestätigen',
  'interaction.verify.lead': 'Ist {address} Ihre Adresse? Drücken Sie die Schaltfläche, um sie zu bestätigen.',
  'interaction.verify.submit': 'Meine E-Mail-Adresse bestätigen',
  'interaction.unconfirmed.heading': 'Bestätigen Sie zuerst Ihre E-Mail-Adresse',
  'interaction.unconfirmed.lead':
    'Mit diesem Konto können Sie sich anmelden, sobald seine E-Mail-Adresse ({address}) bestätigt ist. Öffnen Sie den Link in der E-Mail, die wir dorthin gesendet haben.',
  'interaction.unconfirmed.sent': '{newLink}, sofern nicht schon mehrere innerhalb der letzten Stunde gesendet wurden.',
  'interaction.unconfirmed.newLink': 'Ein neuer Link ist unterwegs',
  'interaction.unconfirmed.submit': 'Link erneut senden',
  'interaction.passkeys.title': 'Passkeys',
  'interaction.passkeys.signedInAs': 'Angemeldet als {user}',
  'interaction.passkeys.about':
    'Mit einem Passkey melden Sie sich über die Bildschirmsperre Ihres Geräts (Fingerabdruck, Gesicht oder PIN) statt mit einem Passwort an. Er funktioniert nur auf dieser Website und kann deshalb nicht abgefischt werden.',
  'interaction.passkeys.added': 'Passkey „{name}“ hinzugefügt.',
  'interaction.passkeys.yours': 'Ihre Passkeys',
  'interaction.passkeys.none': 'Sie haben noch keine Passkeys.',
  'interaction.passkeys.synced': 'Synchronisierter Passkey',
  'interaction.passkeys.oneDevice': 'Passkey auf einem Gerät',
  'interaction.passkeys.addedOn': 'hinzugefügt am {date}',
  'interaction.passkeys.lastUsed': 'Zuletzt verwendet am {date}',
  'interaction.passkeys.notUsed': 'Noch nicht verwendet',
  'interaction.passkeys.add': 'Passkey hinzufügen',
  'interaction.passkeys.name': 'Name',
  'interaction.passkeys.nameHint': 'Um Ihre Passkeys zu unterscheiden, zum Beispiel „Arbeitslaptop“.',
  'interaction.passkeys.needsScript':
    'Zum Hinzufügen eines Passkeys ist JavaScript nötig, das ausgeschaltet ist oder noch lädt.',
  'interaction.passkeys.continue': 'Mit der Anmeldung fortfahren',
  'interaction.passkeys.back': 'Zurück zu Ihrem Konto',
  'interaction.passkeys.script.notUsed':
    'Es wurde kein Passkey verwendet. Versuchen Sie es erneut oder melden Sie sich mit Ihrem Passwort an.',
  'interaction.passkeys.script.exists': 'Dieses Gerät hat bereits einen Passkey für Ihr Konto.',
  'interaction.passkeys.script.notCreated': 'Es wurde kein Passkey erstellt. Versuchen Sie es erneut.',
  'interaction.problem.expired.title': 'Anmeldeanfrage abgelaufen',
  'interaction.problem.expired.message':
    'Diese Anmeldeanfrage ist abgelaufen oder wurde bereits abgeschlossen. Kehren Sie zur Anwendung zurück und beginnen Sie erneut.',
  'interaction.problem.notRecognised.title': 'Anmeldeanfrage nicht erkannt',
  'interaction.problem.notRecognised.message':
    'Diese Anmeldeanfrage wurde in einem anderen Browser gestartet oder ihr Cookie fehlt. Kehren Sie zur Anwendung zurück und beginnen Sie erneut.',
  'interaction.problem.clientGone.title': 'Unbekannte Anwendung',
  'interaction.problem.clientGone.message': 'Die Anwendung ist nicht mehr registriert.',
  'interaction.problem.formExpired.title': 'Formular abgelaufen',
  'interaction.problem.formExpired.message':
    'Das Formular konnte nicht geprüft werden. Kehren Sie zur Anwendung zurück und beginnen Sie erneut.',
  'interaction.problem.formExpiredDevice.title': 'Formular abgelaufen',
  'interaction.problem.formExpiredDevice.message':
    'Das Formular konnte nicht geprüft werden. Laden Sie die Seite neu und geben Sie den Code erneut ein.',
  'interaction.problem.formExpiredRetry.title': 'Formular abgelaufen',
  'interaction.problem.formExpiredRetry.message':
    'Das Formular konnte nicht geprüft werden. Gehen Sie zurück und versuchen Sie es erneut.',
  'interaction.problem.signInExpired.title': 'Anmeldung abgelaufen',
  'interaction.problem.signInExpired.message':
    'Diese Anmeldung ist abgelaufen oder wurde bereits abgeschlossen. Beginnen Sie erneut in der Anwendung oder auf der Kontoseite.',
  'interaction.problem.signupUnavailable.title': 'Registrierung nicht verfügbar',
  'interaction.problem.signupUnavailable.message':
    'Hier können keine neuen Konten erstellt werden. Bitten Sie den Betreiber dieses Dienstes um ein Konto.',
  'interaction.problem.formInvalid.title': 'Formular ungültig',
  'interaction.problem.formInvalid.message':
    'Das Formular konnte nicht gelesen werden: Ein Feld ist zu lang oder wurde doppelt gesendet. Gehen Sie zurück und versuchen Sie es erneut.',
  'interaction.problem.notSignIn.title': 'Ungültige Anfrage',
  'interaction.problem.notSignIn.message': 'Die Adresse, zu der es weitergehen soll, gehört zu keiner Anmeldung.',
  'interaction.problem.unknownClient.title': 'Unbekannte Anwendung',
  'interaction.problem.unknownClient.message':
    'Die Anwendung, die Sie hierher geschickt hat, ist bei diesem Server nicht registriert. Deshalb können Sie sich von hier aus nicht bei ihr anmelden.',
  'interaction.problem.noRedirect.title': 'Rückleitungsadresse fehlt',
  'interaction.problem.noRedirect.message':
    'Die Anwendung hat nicht angegeben, wohin Sie zurückgeleitet werden sollen.',
  'interaction.problem.unregisteredRedirect.title': 'Nicht registrierte Rückleitungsadresse',
  'interaction.problem.unregisteredRedirect.message':
    'Die Anwendung wollte Sie zu einer Adresse leiten, die sie nicht registriert hat. Deshalb wurde diese Anfrage gestoppt.',
  'interaction.problem.invalidRequest.title': 'Fehlerhafte Anfrage',
  'interaction.problem.invalidRequest.message':
    'Die Anwendung hat eine Anfrage gesendet, die dieser Server nicht annehmen kann. Kehren Sie zur Anwendung zurück und versuchen Sie es erneut.',
  'interaction.problem.requestNotValid.title': 'Ungültige Anfrage',
  'interaction.problem.requestNotValid.message':
    'Die Anwendung hat eine Anfrage gesendet, die dieser Server nicht annehmen kann. Kehren Sie zur Anwendung zurück und versuchen Sie es erneut.',
  'interaction.problem.parExpired.title': 'Anmeldeanfrage abgelaufen',
  'interaction.problem.parExpired.message':
    'Diese Anmeldeanfrage ist abgelaufen, wurde bereits verwendet oder gehört zu einer anderen Anwendung. Kehren Sie zur Anwendung zurück und beginnen Sie erneut.',
  'interaction.problem.accessDenied.title': 'Zugriff nicht erlaubt',
  'interaction.problem.accessDenied.message': 'Sie haben {client} keinen Zugriff erlaubt.',
  'interaction.problem.unavailable.title': 'Dienst nicht verfügbar',
  'interaction.problem.unavailable.message':
    'Dieser Dienst kann gerade nicht antworten. Versuchen Sie es in ein paar Minuten erneut.',
  'interaction.problem.tooManyRequests.title': 'Zu viele Anfragen',
  'interaction.problem.tooManyRequests.message': 'Zu viele Anfragen. Versuchen Sie es in {seconds} Sekunden erneut.',
  'interaction.problem.tooManyRequestsOne.title': 'Zu viele Anfragen',
  'interaction.problem.tooManyRequestsOne.message': 'Zu viele Anfragen. Versuchen Sie es in 1 Sekunde erneut.',
  'interaction.problem.deviceUnavailable.title': 'Nicht gefunden',
  'interaction.problem.deviceUnavailable.message': 'Die Geräteanmeldung ist auf diesem Server nicht verfügbar.',
  'interaction.problem.codeExpired.title': 'Code abgelaufen',
  'interaction.problem.codeExpired.message':
    'Dieser Code ist abgelaufen oder wurde bereits verwendet. Beginnen Sie auf Ihrem Gerät erneut.',
  'interaction.problem.noAdminAccess.title': 'Kein Administrationszugriff',
  'interaction.problem.noAdminAccess.message':
    'Ihr Konto hat keine Administrationsrolle mit diesen Berechtigungen (oder Sie haben sich nicht mit einem zweiten Faktor angemeldet), daher erhält das Gerät nichts. Bitten Sie einen Eigentümer um eine Rolle.',
  'interaction.problem.logoutInvalid.title': 'Ungültige Abmeldeanfrage',
  'interaction.problem.logoutInvalid.message':
    'Die Anwendung hat eine Abmeldeanfrage gesendet, die dieser Server nicht annehmen kann. Sie sind weiterhin angemeldet.',
  'interaction.upstream.unknownProvider.title': 'Unbekannter Anmeldeanbieter',
  'interaction.upstream.unknownProvider.message':
    'Dieser Anmeldeanbieter ist hier nicht eingerichtet. Beginnen Sie erneut auf der Anmeldeseite.',
  'interaction.upstream.badAnswer.title': 'Anmeldung nicht abgeschlossen',
  'interaction.upstream.badAnswer.message': 'Die Antwort von {provider} ist ungültig.',
  'interaction.upstream.stateExpired.title': 'Anmeldung abgelaufen',
  'interaction.upstream.stateExpired.message':
    'Diese Anmeldung über {provider} ist abgelaufen, wurde bereits verwendet oder in einem anderen Browser gestartet. Beginnen Sie erneut auf der Anmeldeseite.',
  'interaction.upstream.tenant.title': 'Organisation nicht zugelassen',
  'interaction.upstream.tenant.message':
    'Ihr {provider}-Konto gehört zu einer Organisation, die sich hier nicht anmelden darf.',
  'interaction.upstream.domain.title': 'Konto nicht zugelassen',
  'interaction.upstream.domain.message':
    'Hier dürfen sich nur {provider}-Konten der zugelassenen E-Mail-Domains anmelden.',
  'interaction.upstream.disabled.title': 'Konto deaktiviert',
  'interaction.upstream.disabled.message':
    'Das mit dieser {provider}-Anmeldung verknüpfte Konto kann nicht verwendet werden.',
  'interaction.upstream.emailInUse.title': 'Melden Sie sich zuerst bei Ihrem Konto an',
  'interaction.upstream.emailInUse.message':
    'Es gibt bereits ein Konto mit dieser E-Mail-Adresse. Melden Sie sich mit Ihrem Passwort oder Passkey dort an und verknüpfen Sie dann {provider} auf Ihrer Kontoseite.',
  'interaction.upstream.notLinked.title': 'Kein verknüpftes Konto',
  'interaction.upstream.notLinked.message': 'Mit dieser {provider}-Anmeldung ist kein Konto verknüpft.',
  'interaction.upstream.username.title': 'Konto nicht erstellt',
  'interaction.upstream.username.message':
    'Für diese {provider}-Anmeldung konnte kein Konto erstellt werden. Versuchen Sie es erneut.',
  'interaction.upstream.session.title': 'Erneut anmelden',
  'interaction.upstream.session.message':
    'Ihre Sitzung ist abgelaufen oder hat sich geändert, während Sie bei {provider} waren. Melden Sie sich bei Ihrem Konto an und versuchen Sie es erneut.',
  'interaction.upstream.notYours.title': 'Nicht Ihre verknüpfte Anmeldung',
  'interaction.upstream.notYours.message': 'Diese {provider}-Anmeldung ist nicht mit Ihrem Konto verknüpft.',
  'interaction.upstream.unavailable.title': '{provider} nicht erreichbar',
  'interaction.upstream.unavailable.message':
    '{provider} ist gerade nicht erreichbar, daher konnten Sie nicht angemeldet werden. Versuchen Sie es gleich noch einmal oder melden Sie sich auf andere Weise an.',
  'interaction.upstream.denied.title': 'Anmeldung nicht abgeschlossen',
  'interaction.upstream.denied.message':
    '{provider} hat Sie nicht angemeldet. Sie können es erneut versuchen oder sich auf andere Weise anmelden.',
  'interaction.upstream.deniedCode.message':
    '{provider} hat Sie nicht angemeldet ({code}). Sie können es erneut versuchen oder sich auf andere Weise anmelden.',
  'interaction.upstream.unverified.title': 'Anmeldung nicht abgeschlossen',
  'interaction.upstream.unverified.message':
    'Die Antwort von {provider} konnte nicht geprüft werden, daher wurden Sie nicht angemeldet. Beginnen Sie erneut auf der Anmeldeseite.',
  'interaction.upstream.backToSignIn': 'Zurück zur Anmeldeseite',
  'interaction.upstream.backToLinked': 'Zurück zu Ihren verknüpften Anmeldungen',
  'interaction.upstream.goBack': 'Zurück',
  'interaction.mail.formExpired.title': 'Formular abgelaufen',
  'interaction.mail.formExpired.message':
    'Das Formular konnte nicht geprüft werden. Öffnen Sie den Link aus der E-Mail erneut.',
  'interaction.mail.verifyLinkInvalid.title': 'Link ungültig',
  'interaction.mail.verifyLinkInvalid.message':
    'Dieser Bestätigungslink ist ungültig: Er wurde bereits verwendet, ist abgelaufen oder ein neuerer wurde gesendet. Melden Sie sich an, um einen neuen zu erhalten.',
  'interaction.mail.addressChanged.title': 'Adresse geändert',
  'interaction.mail.addressChanged.message':
    'Diese Adresse ist nicht mehr die Ihres Kontos und wurde daher nicht als bestätigt markiert. Sehen Sie in Ihrem Konto nach der aktuellen Adresse.',
  'interaction.mail.confirmed.title': 'E-Mail-Adresse bestätigt',
  'interaction.mail.confirmed.message':
    'Vielen Dank: Ihre E-Mail-Adresse ist bestätigt. Sie können diese Seite schließen oder sich anmelden.',
  'interaction.mail.confirmedAlready.title': 'E-Mail-Adresse bestätigt',
  'interaction.mail.confirmedAlready.message': 'Ihre E-Mail-Adresse ist bereits bestätigt: Melden Sie sich an.',
  'interaction.mail.ticketExpired.title': 'Link abgelaufen',
  'interaction.mail.ticketExpired.message':
    'Diese Seite ist abgelaufen. Melden Sie sich erneut an, um den Link gesendet zu bekommen.',
  'interaction.mail.resetLinkInvalid.title': 'Link ungültig',
  'interaction.mail.resetLinkInvalid.message':
    'Dieser Link zum Zurücksetzen des Passworts ist ungültig: Er wurde bereits verwendet, ist abgelaufen, wurde durch einen neueren ersetzt, oder es wurde sich seitdem bei dem Konto angemeldet. Fordern Sie einen neuen an.',
  'interaction.mail.linkEnded.title': 'Link beendet',
  'interaction.mail.linkEnded.message':
    'Zu viele falsche Codes: Dieser Link zum Zurücksetzen funktioniert nicht mehr. Fordern Sie einen neuen an.',
  'interaction.mail.passwordChanged.title': 'Passwort geändert',
  'interaction.mail.passwordChanged.message':
    'Ihr Passwort ist geändert. Alle Sitzungen Ihres Kontos wurden abgemeldet, und Anwendungen müssen erneut erlaubt werden. Melden Sie sich mit dem neuen Passwort an.',
  'interaction.mail.toAccount': 'Zu Ihrem Konto',
  'interaction.error.invalidLogin': 'Benutzername oder Passwort ist falsch.',
  'interaction.error.tooManyAttempts':
    'Zu viele fehlgeschlagene Versuche. Versuchen Sie es in {seconds} Sekunden erneut.',
  'interaction.error.tooManyAttemptsOne': 'Zu viele fehlgeschlagene Versuche. Versuchen Sie es in 1 Sekunde erneut.',
  'interaction.error.tooManyCodes': 'Zu viele falsche Codes. Versuchen Sie es in {seconds} Sekunden erneut.',
  'interaction.error.tooManyCodesOne': 'Zu viele falsche Codes. Versuchen Sie es in 1 Sekunde erneut.',
  'interaction.error.upstreamUnreachable':
    '{provider} ist gerade nicht erreichbar. Versuchen Sie es gleich noch einmal oder melden Sie sich auf andere Weise an.',
  'interaction.error.notOffered': 'Diese Anmeldeart wird nicht mehr angeboten. Wählen Sie eine andere.',
  'interaction.error.passkeyLogin':
    'Mit dem Passkey konnten Sie nicht angemeldet werden. Versuchen Sie es erneut oder melden Sie sich mit Ihrem Passwort an.',
  'interaction.error.passkeyNotVerified':
    'Dieser Passkey konnte nicht geprüft werden. Versuchen Sie es erneut oder wählen Sie einen anderen Weg.',
  'interaction.error.codeReplayed': 'Dieser Code wurde bereits verwendet. Warten Sie auf den nächsten Code Ihrer App.',
  'interaction.error.recoveryInvalid': 'Dieser Wiederherstellungscode ist ungültig.',
  'interaction.error.totpInvalid': 'Dieser Code ist ungültig. Prüfen Sie Ihre App und versuchen Sie es erneut.',
  'interaction.error.resetCodeInvalid':
    'Der Code ist ungültig. Geben Sie einen aktuellen Code aus Ihrer Authenticator-App oder einen Wiederherstellungscode ein.',
  'interaction.error.passwordsDiffer': 'Die beiden Passwörter unterscheiden sich.',
  'interaction.error.deviceCode':
    'Dieser Code ist ungültig oder abgelaufen. Prüfen Sie den auf Ihrem Gerät angezeigten Code und versuchen Sie es erneut.',
  'interaction.error.signupFailed': 'Ihr Konto wurde nicht erstellt. Prüfen Sie die unten markierten Felder.',
  'interaction.error.usernameTaken': 'Dieser Benutzername ist vergeben. Wählen Sie einen anderen.',
  'interaction.error.usernameConfusable':
    'Dieser Benutzername ähnelt zu sehr einem bestehenden. Wählen Sie einen anderen.',
  'interaction.error.usernameReserved': 'Dieser Benutzername ist reserviert. Wählen Sie einen anderen.',
  'interaction.error.chooseUsername': 'Wählen Sie einen Benutzernamen.',
  'interaction.error.usernameShape':
    'Der Benutzername muss 3 bis 32 Zeichen lang sein: Buchstaben, Ziffern, Punkte, Bindestriche oder Unterstriche, beginnend mit einem Buchstaben oder einer Ziffer.',
  'interaction.error.enterEmail': 'Geben Sie Ihre E-Mail-Adresse ein.',
  'interaction.error.emailShape': 'Geben Sie eine gültige E-Mail-Adresse ein, zum Beispiel name@example.com.',
  'interaction.error.nameTooLong': 'Der Name darf höchstens {max} Zeichen lang sein.',
  'interaction.error.nameCharacters': 'Der Name enthält nicht erlaubte Zeichen.',
  'interaction.error.choosePassword': 'Wählen Sie ein Passwort.',
  'interaction.error.passwordShort': 'Das Passwort muss mindestens {min} Zeichen lang sein.',
  'interaction.error.passwordLong': 'Das Passwort darf höchstens {max} Zeichen lang sein.',
  'interaction.error.passwordIsUsername': 'Das Passwort darf nicht Ihr Benutzername sein.',
  'interaction.error.passwordCommon':
    'Dieses Passwort ist zu verbreitet und leicht zu erraten. Wählen Sie ein anderes; einige voneinander unabhängige Wörter ergeben ein gutes.',
  'interaction.error.passwordsMismatch': 'Die beiden Passwörter stimmen nicht überein.',
  'interaction.error.fieldInvalid': 'Prüfen Sie dieses Feld.',
  'interaction.error.passkeyNotCreated':
    'Ihr Browser hat keinen Passkey erstellt. Dafür sind JavaScript und ein Browser nötig, der Passkeys unterstützt.',
  'interaction.error.passkeyExists': 'Dieser Passkey ist bereits registriert.',
  'interaction.error.passkeyNotAdded': 'Der Passkey konnte nicht hinzugefügt werden. Versuchen Sie es erneut.',
};

export const fr: Record<keyof typeof en, string> = {
  'interaction.lead.continueTo': 'pour continuer vers {client}',
  'interaction.unverified.sentTo': 'Si vous continuez, vous serez redirigé vers {host}.',
  'interaction.unverified.device': 'L’accès irait à l’appareil qui vous a montré le code, et non à ce navigateur.',
  'interaction.unverified.document':
    'Cette application est identifiée par {host}, qui publie ses informations : son nom n’a été vérifié par personne.',
  'interaction.unverified.self':
    'Cette application s’est enregistrée elle-même auprès de Tessera : son nom n’a été vérifié par personne.',
  'interaction.unverified.short':
    'Cette application s’est enregistrée elle-même : son nom n’a été vérifié par personne.',
  'interaction.cimd.label': 'À propos de cette application',
  'interaction.cimd.identified':
    'Cette application est identifiée par {host}, qui publie ses informations ; son nom n’a été vérifié par personne. Si vous continuez, vous serez redirigé vers {redirect}.',
  'interaction.cimd.firstTime': 'Vous n’avez encore jamais autorisé cette application.',
  'interaction.cimd.firstTimeHost': 'Ne continuez que si vous pensiez utiliser une application de {host}.',
  'interaction.cimd.localOnly': 'Cette application revient vers une adresse de votre propre appareil ({host}).',
  'interaction.cimd.localOnlyWarning':
    'N’importe quel programme de votre appareil pourrait se faire passer pour elle : ne continuez que si vous avez lancé cette connexion vous-même, depuis l’application attendue.',
  'interaction.optional': '(facultatif)',
  'interaction.login.title': 'Connexion',
  'interaction.login.username': 'Nom d’utilisateur',
  'interaction.login.password': 'Mot de passe',
  'interaction.login.submit': 'Se connecter',
  'interaction.login.forgot': 'Mot de passe oublié ?',
  'interaction.login.newHere': 'Nouveau ici ?',
  'interaction.login.signup': 'Créer un compte',
  'interaction.login.passkey': 'Se connecter avec une clé d’accès',
  'interaction.login.usePasskey': 'Utiliser une clé d’accès',
  'interaction.login.yourAccount': 'votre compte Tessera',
  'interaction.upstream.or': 'Ou continuer avec',
  'interaction.upstream.continueWith': 'Continuer avec {provider}',
  'interaction.continuing.title': 'Redirection',
  'interaction.continuing.heading': 'Un instant…',
  'interaction.continuing.link': 'Continuer',
  'interaction.continuing.status': 'Retour vers l’application en cours.',
  'interaction.continuing.noscript': 'JavaScript est désactivé. Choisissez « Continuer » pour revenir à l’application.',
  'interaction.signup.title': 'Créer un compte',
  'interaction.signup.email': 'Adresse e-mail',
  'interaction.signup.name': 'Nom complet',
  'interaction.signup.confirm': 'Confirmer le mot de passe',
  'interaction.signup.usernameHint': 'De 3 à 32 caractères : lettres, chiffres, points, tirets ou tirets bas.',
  'interaction.signup.passwordHint': 'Au moins 8 caractères. Les longues phrases de passe sont les bienvenues.',
  'interaction.signup.submit': 'Créer le compte',
  'interaction.signup.haveAccount': 'Vous avez déjà un compte ?',
  'interaction.consent.title': 'Autoriser l’accès à {client} ?',
  'interaction.consent.heading': 'Autoriser l’accès ?',
  'interaction.consent.lead': '{client} demande l’accès à votre compte {user}.',
  'interaction.consent.leadDevice': '{client} demande l’accès à votre compte {user} sur un appareil.',
  'interaction.consent.checkCode': 'Vérifiez que ce code est bien celui affiché sur votre appareil :',
  'interaction.consent.codeWarning':
    'Si ce n’est pas le cas, ou si vous n’avez pas lancé cette demande sur un de vos appareils, choisissez « Refuser » : quelqu’un essaie peut-être d’accéder à votre compte.',
  'interaction.consent.scopes': 'Cela permettra à {client} de :',
  'interaction.consent.shares': 'Partage :',
  'interaction.consent.noScopes': 'Aucune autorisation particulière n’est demandée.',
  'interaction.consent.resourceOne': 'Cet accès ne peut servir qu’avec :',
  'interaction.consent.resourceMany': 'Cet accès ne peut servir qu’avec ces services :',
  'interaction.consent.serviceAt': 'Le service à l’adresse {host}',
  'interaction.consent.details': 'En particulier :',
  'interaction.consent.claims': 'Elle demande aussi à voir :',
  'interaction.consent.policiesOf': '{client} :',
  'interaction.consent.privacy': 'politique de confidentialité',
  'interaction.consent.terms': 'conditions d’utilisation',
  'interaction.consent.deny': 'Refuser',
  'interaction.consent.allow': 'Autoriser',
  'interaction.consent.trust':
    'N’autorisez l’accès qu’aux applications auxquelles vous faites confiance. Vous pourrez le révoquer plus tard depuis votre compte {brand}.',
  'interaction.select.title': 'Choisir un compte',
  'interaction.select.switch': 'Utiliser un autre compte',
  'interaction.select.continueAs': 'Continuer en tant que {user}',
  'interaction.device.title': 'Connecter un appareil',
  'interaction.device.lead': 'Saisissez le code affiché sur votre téléviseur, votre console ou un autre appareil.',
  'interaction.device.code': 'Code',
  'interaction.device.submit': 'Continuer',
  'interaction.device.warning':
    'Ne saisissez que le code d’un appareil que vous configurez vous-même. Ne saisissez jamais un code qu’une autre personne vous a envoyé.',
  'interaction.deviceDone.title': 'Appareil connecté',
  'interaction.deviceDone.heading': 'Vous pouvez retourner à votre appareil',
  'interaction.deviceDone.lead':
    '{client} dispose maintenant de l’accès que vous avez autorisé. Vous pouvez fermer cette page et continuer sur votre appareil.',
  'interaction.deviceDone.revoke': 'Vous pouvez révoquer son accès à tout moment depuis votre compte {brand}.',
  'interaction.deviceDone.deniedTitle': 'Accès refusé',
  'interaction.deviceDone.deniedLead': '{client} n’a pas reçu d’accès. Vous pouvez fermer cette page.',
  'interaction.errorPage.back':
    'Pour votre sécurité, vous n’avez pas été renvoyé automatiquement vers l’application. Vous pouvez fermer cette page, ou y retourner seulement si vous lui faites confiance :',
  'interaction.errorPage.noBack':
    'Pour votre sécurité, vous n’avez pas été renvoyé vers l’application. Vous pouvez fermer cette page.',
  'interaction.errorPage.detail': 'Détails techniques :',
  'interaction.errorPage.returnTo': 'Retour à {client}',
  'interaction.errorPage.returnToHost': 'Retour à {client} ({host})',
  'interaction.logout.title': 'Se déconnecter ?',
  'interaction.logout.heading': 'Se déconnecter de {brand} ?',
  'interaction.logout.asking': '{client} demande à vous déconnecter de {brand}.',
  'interaction.logout.request': 'Une demande a été faite pour vous déconnecter de {brand}.',
  'interaction.logout.next':
    'Vous serez ensuite redirigé vers {host}, une adresse que cette application a enregistrée elle-même. Ne continuez que si vous lui faites confiance.',
  'interaction.logout.submit': 'Se déconnecter',
  'interaction.logout.stay':
    'Si vous n’avez pas demandé à vous déconnecter, vous pouvez fermer cette page et rester connecté.',
  'interaction.loggedOut.title': 'Déconnecté',
  'interaction.loggedOut.heading': 'Vous êtes déconnecté.',
  'interaction.loggedOut.frame': 'Déconnexion d’une application',
  'interaction.loggedOut.continue': 'Continuer vers l’application',
  'interaction.loggedOut.done': 'Vous avez été déconnecté de {brand}. Vous pouvez fermer cette page.',
  'interaction.mfa.title': 'Second facteur',
  'interaction.mfa.lead': 'Connexion en tant que {user} pour continuer vers {client}',
  'interaction.mfa.recoveryCode': 'Code de récupération',
  'interaction.mfa.recoveryHint':
    'L’un des codes que vous avez enregistrés en configurant votre second facteur. Chacun ne fonctionne qu’une fois.',
  'interaction.mfa.appCode': 'Code de votre application d’authentification',
  'interaction.mfa.remember': 'Se souvenir de ce navigateur',
  'interaction.mfa.verify': 'Vérifier',
  'interaction.mfa.useApp': 'Utiliser plutôt votre application d’authentification',
  'interaction.mfa.useRecovery': 'Utiliser un code de récupération',
  'interaction.mfa.passkey': 'Clé d’accès',
  'interaction.mfa.needsPasskey':
    'Cette connexion nécessite une clé d’accès, que cette page ne peut pas encore utiliser.',
  'interaction.enrol.title': 'Configurer un second facteur',
  'interaction.enrol.leadPasskey':
    'Connecté en tant que {user}. Pour continuer vers {client}, votre compte a besoin d’une clé d’accès.',
  'interaction.enrol.leadTotp':
    'Connecté en tant que {user}. Pour continuer vers {client}, votre compte a besoin d’une application d’authentification.',
  'interaction.enrol.setUpPasskey': 'Configurer une clé d’accès',
  'interaction.enrol.setUpTotp': 'Configurer une application d’authentification',
  'interaction.enrol.skipUntil': 'Vous pouvez ignorer cette étape jusqu’au {date}.',
  'interaction.enrol.skip': 'Plus tard',
  'interaction.forgot.title': 'Mot de passe oublié',
  'interaction.forgot.heading': 'Mot de passe oublié ?',
  'interaction.forgot.lead':
    'Saisissez votre nom d’utilisateur ou l’adresse e-mail de votre compte. Si le compte a une adresse confirmée, nous y envoyons un lien pour choisir un nouveau mot de passe.',
  'interaction.forgot.name': 'Nom d’utilisateur ou adresse e-mail',
  'interaction.forgot.submit': 'Envoyer le lien',
  'interaction.forgot.sentTitle': 'Consultez vos e-mails',
  'interaction.forgot.sent':
    'Si un compte correspond et possède une adresse e-mail confirmée, un lien pour choisir un nouveau mot de passe y a été envoyé. Il ne fonctionne qu’une fois, pendant peu de temps.',
  'interaction.forgot.sentHint':
    'Pas d’e-mail au bout de quelques minutes ? Vérifiez le dossier des indésirables, ou refaites la demande plus tard.',
  'interaction.reset.title': 'Choisir un nouveau mot de passe',
  'interaction.reset.for': 'pour {user}',
  'interaction.reset.password': 'Nouveau mot de passe',
  'interaction.reset.confirm': 'Nouveau mot de passe (confirmation)',
  'interaction.reset.code': 'Code de votre application d’authentification, ou code de récupération',
  'interaction.reset.codeHint':
    'Votre compte a une seconde étape de connexion : le lien seul ne permet pas de changer son mot de passe.',
  'interaction.reset.passkeyHint':
    'Votre compte a une clé d’accès : après avoir choisi le nouveau mot de passe, confirmez le changement avec elle.',
  'interaction.reset.passkeyHintCode':
    'Votre compte a une clé d’accès : après avoir choisi le nouveau mot de passe, confirmez le changement avec elle (ou saisissez un code ci-dessus).',
  'interaction.reset.passkeyButton': 'Changer le mot de passe avec une clé d’accès',
  'interaction.reset.submit': 'Changer le mot de passe',
  'interaction.reset.signedOut': 'Toutes les sessions du compte sont ensuite fermées.',
  'interaction.verify.title': 'Confirmer votre adresse e-mail',
  'interaction.verify.lead': '{address} est-elle bien votre adresse ? Appuyez sur le bouton pour la confirmer.',
  'interaction.verify.submit': 'Confirmer mon adresse e-mail',
  'interaction.unconfirmed.heading': 'Confirmez d’abord votre adresse e-mail',
  'interaction.unconfirmed.lead':
    'Ce compte pourra se connecter une fois son adresse e-mail ({address}) confirmée. Ouvrez le lien de l’e-mail que nous y avons envoyé.',
  'interaction.unconfirmed.sent': '{newLink}, sauf si plusieurs ont déjà été envoyés dans l’heure.',
  'interaction.unconfirmed.newLink': 'Un nouveau lien est en route',
  'interaction.unconfirmed.submit': 'Renvoyer le lien',
  'interaction.passkeys.title': 'Clés d’accès',
  'interaction.passkeys.signedInAs': 'Connecté en tant que {user}',
  'interaction.passkeys.about':
    'Une clé d’accès vous permet de vous connecter avec le verrouillage d’écran de votre appareil (empreinte, visage ou code PIN) au lieu d’un mot de passe. Elle ne fonctionne que sur ce site et ne peut donc pas être hameçonnée.',
  'interaction.passkeys.added': 'Clé d’accès « {name} » ajoutée.',
  'interaction.passkeys.yours': 'Vos clés d’accès',
  'interaction.passkeys.none': 'Vous n’avez pas encore de clé d’accès.',
  'interaction.passkeys.synced': 'Clé d’accès synchronisée',
  'interaction.passkeys.oneDevice': 'Clé d’accès sur un seul appareil',
  'interaction.passkeys.addedOn': 'ajoutée le {date}',
  'interaction.passkeys.lastUsed': 'Dernière utilisation le {date}',
  'interaction.passkeys.notUsed': 'Pas encore utilisée',
  'interaction.passkeys.add': 'Ajouter une clé d’accès',
  'interaction.passkeys.name': 'Nom',
  'interaction.passkeys.nameHint': 'Pour distinguer vos clés d’accès, par exemple « Ordinateur du bureau ».',
  'interaction.passkeys.needsScript':
    'L’ajout d’une clé d’accès nécessite JavaScript, qui est désactivé ou encore en cours de chargement.',
  'interaction.passkeys.continue': 'Continuer la connexion',
  'interaction.passkeys.back': 'Retour à votre compte',
  'interaction.passkeys.script.notUsed':
    'Aucune clé d’accès n’a été utilisée. Réessayez, ou connectez-vous avec votre mot de passe.',
  'interaction.passkeys.script.exists': 'Cet appareil contient déjà une clé d’accès pour votre compte.',
  'interaction.passkeys.script.notCreated': 'Aucune clé d’accès n’a été créée. Réessayez.',
  'interaction.problem.expired.title': 'Demande de connexion expirée',
  'interaction.problem.expired.message':
    'Cette demande de connexion a expiré ou a déjà été menée à terme. Retournez à l’application et recommencez.',
  'interaction.problem.notRecognised.title': 'Demande de connexion non reconnue',
  'interaction.problem.notRecognised.message':
    'Cette demande de connexion a été lancée dans un autre navigateur, ou son cookie manque. Retournez à l’application et recommencez.',
  'interaction.problem.clientGone.title': 'Application inconnue',
  'interaction.problem.clientGone.message': 'L’application n’est plus enregistrée.',
  'interaction.problem.formExpired.title': 'Formulaire expiré',
  'interaction.problem.formExpired.message':
    'Le formulaire n’a pas pu être vérifié. Retournez à l’application et recommencez.',
  'interaction.problem.formExpiredDevice.title': 'Formulaire expiré',
  'interaction.problem.formExpiredDevice.message':
    'Le formulaire n’a pas pu être vérifié. Rechargez la page et saisissez à nouveau le code.',
  'interaction.problem.formExpiredRetry.title': 'Formulaire expiré',
  'interaction.problem.formExpiredRetry.message':
    'Le formulaire n’a pas pu être vérifié. Revenez en arrière et réessayez.',
  'interaction.problem.signInExpired.title': 'Connexion expirée',
  'interaction.problem.signInExpired.message':
    'Cette connexion a expiré ou a déjà été menée à terme. Recommencez depuis l’application ou la page de votre compte.',
  'interaction.problem.signupUnavailable.title': 'Inscription indisponible',
  'interaction.problem.signupUnavailable.message':
    'Aucun compte ne peut être créé ici. Demandez un compte à l’exploitant de ce service.',
  'interaction.problem.formInvalid.title': 'Formulaire non valide',
  'interaction.problem.formInvalid.message':
    'Le formulaire n’a pas pu être lu : un champ est trop long ou a été envoyé deux fois. Revenez en arrière et réessayez.',
  'interaction.problem.notSignIn.title': 'Demande non valide',
  'interaction.problem.notSignIn.message': 'L’adresse vers laquelle continuer n’est pas celle d’une connexion.',
  'interaction.problem.unknownClient.title': 'Application inconnue',
  'interaction.problem.unknownClient.message':
    'L’application qui vous a envoyé ici n’est pas enregistrée auprès de ce serveur : vous ne pouvez donc pas vous y connecter d’ici.',
  'interaction.problem.noRedirect.title': 'Adresse de retour manquante',
  'interaction.problem.noRedirect.message': 'L’application n’a pas indiqué où vous renvoyer.',
  'interaction.problem.unregisteredRedirect.title': 'Adresse de retour non enregistrée',
  'interaction.problem.unregisteredRedirect.message':
    'L’application a demandé à vous envoyer vers une adresse qu’elle n’a pas enregistrée : cette demande a donc été arrêtée.',
  'interaction.problem.invalidRequest.title': 'Demande incorrecte',
  'interaction.problem.invalidRequest.message':
    'L’application a envoyé une demande que ce serveur ne peut pas accepter. Retournez à l’application et réessayez.',
  'interaction.problem.requestNotValid.title': 'Demande non valide',
  'interaction.problem.requestNotValid.message':
    'L’application a envoyé une demande que ce serveur ne peut pas accepter. Retournez à l’application et réessayez.',
  'interaction.problem.parExpired.title': 'Demande de connexion expirée',
  'interaction.problem.parExpired.message':
    'Cette demande de connexion a expiré, a déjà été utilisée ou appartient à une autre application. Retournez à l’application et recommencez.',
  'interaction.problem.accessDenied.title': 'Accès non autorisé',
  'interaction.problem.accessDenied.message': 'Vous n’avez pas autorisé l’accès à {client}.',
  'interaction.problem.unavailable.title': 'Service indisponible',
  'interaction.problem.unavailable.message':
    'Ce service ne peut pas répondre pour le moment. Réessayez dans quelques minutes.',
  'interaction.problem.tooManyRequests.title': 'Trop de demandes',
  'interaction.problem.tooManyRequests.message': 'Trop de demandes. Réessayez dans {seconds} secondes.',
  'interaction.problem.tooManyRequestsOne.title': 'Trop de demandes',
  'interaction.problem.tooManyRequestsOne.message': 'Trop de demandes. Réessayez dans 1 seconde.',
  'interaction.problem.deviceUnavailable.title': 'Introuvable',
  'interaction.problem.deviceUnavailable.message': 'La connexion d’appareils n’est pas disponible sur ce serveur.',
  'interaction.problem.codeExpired.title': 'Code expiré',
  'interaction.problem.codeExpired.message': 'Ce code a expiré ou a déjà été utilisé. Recommencez sur votre appareil.',
  'interaction.problem.noAdminAccess.title': 'Pas d’accès d’administration',
  'interaction.problem.noAdminAccess.message':
    'Votre compte n’a aucun rôle d’administration avec ces autorisations (ou vous ne vous êtes pas connecté avec un second facteur) : l’appareil ne reçoit donc rien. Demandez un rôle à un propriétaire.',
  'interaction.problem.logoutInvalid.title': 'Demande de déconnexion non valide',
  'interaction.problem.logoutInvalid.message':
    'L’application a envoyé une demande de déconnexion que ce serveur ne peut pas accepter. Vous êtes toujours connecté.',
  'interaction.upstream.unknownProvider.title': 'Fournisseur de connexion inconnu',
  'interaction.upstream.unknownProvider.message':
    'Ce fournisseur de connexion n’est pas configuré ici. Recommencez depuis la page de connexion.',
  'interaction.upstream.badAnswer.title': 'Connexion non aboutie',
  'interaction.upstream.badAnswer.message': 'La réponse de {provider} n’est pas valide.',
  'interaction.upstream.stateExpired.title': 'Connexion expirée',
  'interaction.upstream.stateExpired.message':
    'Cette connexion via {provider} a expiré, a déjà été utilisée ou a été lancée dans un autre navigateur. Recommencez depuis la page de connexion.',
  'interaction.upstream.tenant.title': 'Organisation non autorisée',
  'interaction.upstream.tenant.message':
    'Votre compte {provider} appartient à une organisation qui ne peut pas se connecter ici.',
  'interaction.upstream.domain.title': 'Compte non autorisé',
  'interaction.upstream.domain.message':
    'Seuls les comptes {provider} des domaines de messagerie autorisés peuvent se connecter ici.',
  'interaction.upstream.disabled.title': 'Compte désactivé',
  'interaction.upstream.disabled.message': 'Le compte lié à cette connexion {provider} ne peut pas être utilisé.',
  'interaction.upstream.emailInUse.title': 'Connectez-vous d’abord à votre compte',
  'interaction.upstream.emailInUse.message':
    'Un compte avec cette adresse e-mail existe déjà. Connectez-vous-y avec votre mot de passe ou votre clé d’accès, puis liez {provider} depuis la page de votre compte.',
  'interaction.upstream.notLinked.title': 'Aucun compte lié',
  'interaction.upstream.notLinked.message': 'Aucun compte n’est lié à cette connexion {provider}.',
  'interaction.upstream.username.title': 'Compte non créé',
  'interaction.upstream.username.message': 'Aucun compte n’a pu être créé pour cette connexion {provider}. Réessayez.',
  'interaction.upstream.session.title': 'Reconnectez-vous',
  'interaction.upstream.session.message':
    'Votre session a pris fin ou a changé pendant que vous étiez chez {provider}. Connectez-vous à votre compte et réessayez.',
  'interaction.upstream.notYours.title': 'Ce n’est pas votre connexion liée',
  'interaction.upstream.notYours.message': 'Cette connexion {provider} n’est pas liée à votre compte.',
  'interaction.upstream.unavailable.title': '{provider} injoignable',
  'interaction.upstream.unavailable.message':
    '{provider} est injoignable pour le moment : vous n’avez donc pas pu être connecté. Réessayez dans un instant, ou connectez-vous autrement.',
  'interaction.upstream.denied.title': 'Connexion non aboutie',
  'interaction.upstream.denied.message':
    '{provider} ne vous a pas connecté. Vous pouvez réessayer, ou vous connecter autrement.',
  'interaction.upstream.deniedCode.message':
    '{provider} ne vous a pas connecté ({code}). Vous pouvez réessayer, ou vous connecter autrement.',
  'interaction.upstream.unverified.title': 'Connexion non aboutie',
  'interaction.upstream.unverified.message':
    'La réponse de {provider} n’a pas pu être vérifiée : vous n’avez donc pas été connecté. Recommencez depuis la page de connexion.',
  'interaction.upstream.backToSignIn': 'Retour à la page de connexion',
  'interaction.upstream.backToLinked': 'Retour à vos connexions liées',
  'interaction.upstream.goBack': 'Retour',
  'interaction.mail.formExpired.title': 'Formulaire expiré',
  'interaction.mail.formExpired.message':
    'Le formulaire n’a pas pu être vérifié. Ouvrez à nouveau le lien de l’e-mail.',
  'interaction.mail.verifyLinkInvalid.title': 'Lien non valide',
  'interaction.mail.verifyLinkInvalid.message':
    'Ce lien de vérification n’est pas valide : il a déjà été utilisé, a expiré, ou un plus récent a été envoyé. Connectez-vous pour en recevoir un nouveau.',
  'interaction.mail.addressChanged.title': 'Adresse modifiée',
  'interaction.mail.addressChanged.message':
    'Cette adresse n’est plus celle de votre compte : elle n’a donc pas été marquée comme vérifiée. Consultez votre compte pour connaître l’adresse actuelle.',
  'interaction.mail.confirmed.title': 'Adresse e-mail confirmée',
  'interaction.mail.confirmed.message':
    'Merci : votre adresse e-mail est confirmée. Vous pouvez fermer cette page ou vous connecter.',
  'interaction.mail.confirmedAlready.title': 'Adresse e-mail confirmée',
  'interaction.mail.confirmedAlready.message': 'Votre adresse e-mail est déjà confirmée : connectez-vous.',
  'interaction.mail.ticketExpired.title': 'Lien expiré',
  'interaction.mail.ticketExpired.message': 'Cette page a expiré. Reconnectez-vous pour que le lien vous soit envoyé.',
  'interaction.mail.resetLinkInvalid.title': 'Lien non valide',
  'interaction.mail.resetLinkInvalid.message':
    'Ce lien de réinitialisation du mot de passe n’est pas valide : il a déjà été utilisé, a expiré, a été remplacé par un plus récent, ou quelqu’un s’est connecté au compte depuis. Demandez-en un nouveau.',
  'interaction.mail.linkEnded.title': 'Lien désactivé',
  'interaction.mail.linkEnded.message':
    'Trop de codes erronés : ce lien de réinitialisation ne fonctionne plus. Demandez-en un nouveau.',
  'interaction.mail.passwordChanged.title': 'Mot de passe modifié',
  'interaction.mail.passwordChanged.message':
    'Votre mot de passe est modifié. Toutes les sessions de votre compte ont été fermées et les applications doivent être autorisées à nouveau. Connectez-vous avec le nouveau mot de passe.',
  'interaction.mail.toAccount': 'Aller à votre compte',
  'interaction.error.invalidLogin': 'Nom d’utilisateur ou mot de passe incorrect.',
  'interaction.error.tooManyAttempts': 'Trop de tentatives échouées. Réessayez dans {seconds} secondes.',
  'interaction.error.tooManyAttemptsOne': 'Trop de tentatives échouées. Réessayez dans 1 seconde.',
  'interaction.error.tooManyCodes': 'Trop de codes erronés. Réessayez dans {seconds} secondes.',
  'interaction.error.tooManyCodesOne': 'Trop de codes erronés. Réessayez dans 1 seconde.',
  'interaction.error.upstreamUnreachable':
    '{provider} est injoignable pour le moment. Réessayez dans un instant, ou connectez-vous autrement.',
  'interaction.error.notOffered': 'Ce mode de connexion n’est plus proposé. Choisissez-en un autre.',
  'interaction.error.passkeyLogin':
    'La clé d’accès n’a pas permis de vous connecter. Réessayez, ou connectez-vous avec votre mot de passe.',
  'interaction.error.passkeyNotVerified':
    'Cette clé d’accès n’a pas pu être vérifiée. Réessayez, ou utilisez un autre moyen.',
  'interaction.error.codeReplayed': 'Ce code a déjà été utilisé. Attendez le prochain code de votre application.',
  'interaction.error.recoveryInvalid': 'Ce code de récupération n’est pas valide.',
  'interaction.error.totpInvalid': 'Ce code n’est pas valide. Vérifiez votre application et réessayez.',
  'interaction.error.resetCodeInvalid':
    'Le code n’est pas valide. Saisissez un code actuel de votre application d’authentification, ou un code de récupération.',
  'interaction.error.passwordsDiffer': 'Les deux mots de passe sont différents.',
  'interaction.error.deviceCode':
    'Ce code n’est pas valide ou a expiré. Vérifiez le code affiché sur votre appareil et réessayez.',
  'interaction.error.signupFailed': 'Votre compte n’a pas été créé. Vérifiez les champs signalés ci-dessous.',
  'interaction.error.usernameTaken': 'Ce nom d’utilisateur est déjà pris. Choisissez-en un autre.',
  'interaction.error.usernameConfusable':
    'Ce nom d’utilisateur ressemble trop à un nom existant. Choisissez-en un autre.',
  'interaction.error.usernameReserved': 'Ce nom d’utilisateur est réservé. Choisissez-en un autre.',
  'interaction.error.chooseUsername': 'Choisissez un nom d’utilisateur.',
  'interaction.error.usernameShape':
    'Le nom d’utilisateur doit compter de 3 à 32 caractères : lettres, chiffres, points, tirets ou tirets bas, en commençant par une lettre ou un chiffre.',
  'interaction.error.enterEmail': 'Saisissez votre adresse e-mail.',
  'interaction.error.emailShape': 'Saisissez une adresse e-mail valide, par exemple name@example.com.',
  'interaction.error.nameTooLong': 'Le nom doit compter au plus {max} caractères.',
  'interaction.error.nameCharacters': 'Le nom contient des caractères non autorisés.',
  'interaction.error.choosePassword': 'Choisissez un mot de passe.',
  'interaction.error.passwordShort': 'Le mot de passe doit compter au moins {min} caractères.',
  'interaction.error.passwordLong': 'Le mot de passe doit compter au plus {max} caractères.',
  'interaction.error.passwordIsUsername': 'Le mot de passe ne doit pas être votre nom d’utilisateur.',
  'interaction.error.passwordCommon':
    'Ce mot de passe est trop courant et facile à deviner. Choisissez-en un autre ; quelques mots sans rapport entre eux en font un bon.',
  'interaction.error.passwordsMismatch': 'Les deux mots de passe ne correspondent pas.',
  'interaction.error.fieldInvalid': 'Vérifiez ce champ.',
  'interaction.error.passkeyNotCreated':
    'Votre navigateur n’a pas créé de clé d’accès. Il faut pour cela JavaScript et un navigateur qui prend en charge les clés d’accès.',
  'interaction.error.passkeyExists': 'Cette clé d’accès est déjà enregistrée.',
  'interaction.error.passkeyNotAdded': 'La clé d’accès n’a pas pu être ajoutée. Réessayez.',
};
