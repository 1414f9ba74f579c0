// Self-registration (TESSERA_SELF_REGISTRATION): the sign-up page of a pending authorization,
// reached from its login page ("Create an account") or directly with prompt=create (OpenID Connect
// Prompt Create 1.0). A successful sign-up signs the new user in, exactly as a login would (new
// session id, amr pwd), and the authorization goes on to consent and the code.
import {
  MAX_NAME_LENGTH,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  normalizeUsername,
  validateSignup,
  type SignupField,
  type SignupInput,
  type SignupProblems,
} from '../../accounts/registration.ts';
import { msg, type Msg } from '../../i18n/catalog.ts';
import { createUser, type NewUsernameRefusal } from '../../accounts/users.ts';
import type { Stores } from '../../ports/index.ts';
import { needsConsent } from '../endpoints/authorize.ts';
import { readFormParams } from '../params.ts';
import type { OAuthResponse, Provider, ProtocolRequest } from '../provider.ts';
import { EXPIRED, finish, load, page, signupView } from './interaction.ts';
import { checkCsrf, startSession } from './session.ts';
import { emailVerificationRequired, sendVerification, unverifiedEmailAnswer } from './email.ts';
import type { DepsOf } from '../provider.ts';

/** What the sign-up page uses: settings, and loading the interaction and showing its page. */
export type ShowSignupDeps = Pick<Provider, 'config'> & DepsOf<typeof load> & DepsOf<typeof signupView>;
/**
 * What the sign-up form uses of the Provider: the page's, the clock, events and log, the interactions
 * and clients stores, what creating the user needs (accounts/users.ts createUser), and the steps it
 * shares with a login (CSRF, the new session, consent, finish).
 */
export type SignupDeps = ShowSignupDeps &
  Pick<Provider, 'now' | 'events' | 'log'> & {
    readonly stores: Pick<Stores, 'interactions' | 'clients'> & DepsOf<typeof createUser>;
  } & DepsOf<typeof checkCsrf> &
  DepsOf<typeof startSession> &
  DepsOf<typeof needsConsent> &
  DepsOf<typeof finish> &
  DepsOf<typeof sendVerification> &
  DepsOf<typeof unverifiedEmailAnswer>;

const SIGNUP_PARAMS = new Set(['username', 'email', 'name', 'password', 'confirm', 'csrf']);
// Longer than any acceptable value (the checks give the clear message), short enough to refuse junk.
const LIMITS = { username: 255, email: 320, name: 512, password: 1024, confirm: 1024, csrf: 128 };

type SignupRefusal = 'invalid' | NewUsernameRefusal;
const REFUSALS: Record<NewUsernameRefusal, Msg> = {
  username_taken: msg('interaction.error.usernameTaken'),
  username_confusable: msg('interaction.error.usernameConfusable'),
  username_reserved: msg('interaction.error.usernameReserved'),
};

/**
 * The sign-up checks (accounts/registration.ts) say what is wrong in English, for every caller (the
 * CLI, the admin API); the page says it from the catalog. A sentence not listed here (a check added
 * since) still marks its field, with a general word.
 */
const PROBLEMS: Readonly<Record<string, Msg>> = {
  'Choose a username.': msg('interaction.error.chooseUsername'),
  'The username must be 3 to 32 characters: letters, digits, dots, dashes or underscores, starting with a letter or digit.':
    msg('interaction.error.usernameShape'),
  'Enter your email address.': msg('interaction.error.enterEmail'),
  'Enter a valid email address, like name@example.com.': msg('interaction.error.emailShape'),
  [`The name must be at most ${MAX_NAME_LENGTH} characters long.`]: msg('interaction.error.nameTooLong', {
    max: MAX_NAME_LENGTH,
  }),
  'The name contains characters that are not allowed.': msg('interaction.error.nameCharacters'),
  'The two passwords do not match.': msg('interaction.error.passwordsMismatch'),
};

/** A password check's sentence (accounts/registration.ts passwordProblem) as a message of the catalog. */
export function passwordProblemMsg(problem: string): Msg {
  if (problem === 'Choose a password.') return msg('interaction.error.choosePassword');
  if (problem === `The password must be at least ${MIN_PASSWORD_LENGTH} characters long.`)
    return msg('interaction.error.passwordShort', { min: MIN_PASSWORD_LENGTH });
  if (problem === `The password must be at most ${MAX_PASSWORD_LENGTH} characters long.`)
    return msg('interaction.error.passwordLong', { max: MAX_PASSWORD_LENGTH });
  if (problem === 'The password must not be your username.') return msg('interaction.error.passwordIsUsername');
  if (problem.startsWith('This password is too common')) return msg('interaction.error.passwordCommon');
  return msg('interaction.error.fieldInvalid');
}

/** The sign-up checks' problems as messages of the catalog, field by field. */
export function signupProblemMsgs(problems: SignupProblems): Partial<Record<SignupField, Msg>> {
  const out: Partial<Record<SignupField, Msg>> = {};
  for (const [field, text] of Object.entries(problems) as [SignupField, string][])
    out[field] =
      field === 'password' ? passwordProblemMsg(text) : (PROBLEMS[text] ?? msg('interaction.error.fieldInvalid'));
  return out;
}

const notAvailable = () => page('interaction.problem.signupUnavailable', 404);
const formExpired = () => page('interaction.problem.formExpired', 403);

/** GET /interaction/:uid/signup: the sign-up page (from the login page's "Create an account"). */
export async function showSignup(p: ShowSignupDeps, req: ProtocolRequest, uid: string): Promise<OAuthResponse> {
  if (!p.config.selfRegistration) return notAvailable();
  const l = await load(p, req, uid);
  if ('kind' in l) return l;
  if (l.ia.loginAt !== null) return { kind: 'redirect', location: `${p.config.issuer}/interaction/${uid}` };
  return signupView(p, l);
}

/** POST /interaction/:uid/signup: checks the form, creates the account, signs the new user in. */
export async function submitSignup(p: SignupDeps, req: ProtocolRequest, uid: string): Promise<OAuthResponse> {
  if (!p.config.selfRegistration) return notAvailable();
  const l = await load(p, req, uid);
  if ('kind' in l) return l;
  const csrf = req.params.getAll('csrf');
  if (csrf.length !== 1 || !checkCsrf(p, `ia:${uid}`, l.browserSecret, csrf[0])) return formExpired();
  const form = readFormParams(req.params, SIGNUP_PARAMS, LIMITS);
  if (!form) return page('interaction.problem.formInvalid', 400);
  if (l.ia.loginAt !== null) return { kind: 'redirect', location: `${p.config.issuer}/interaction/${uid}` };

  const input: SignupInput = {
    username: normalizeUsername(form.username ?? ''),
    email: (form.email ?? '').trim(),
    name: (form.name ?? '').trim(),
    password: form.password ?? '',
    confirm: form.confirm ?? '',
  };
  const clientId = l.ia.clientId;
  const refuse = (reason: SignupRefusal, errors: Partial<Record<SignupField, Msg>>) => {
    p.events({ type: 'signup_refused', reason, clientId, ip: req.ip });
    p.log.info({ event: 'signup_refused', reason, client_id: clientId, ip: req.ip }, 'sign-up refused');
    return signupView(p, l, {
      values: input,
      errors,
      status: 400,
      error: msg('interaction.error.signupFailed'),
    });
  };
  const problems = validateSignup(input, { emailRequired: p.config.selfRegistrationEmail === 'required' });
  if (Object.keys(problems).length) return refuse('invalid', signupProblemMsgs(problems));
  // The answer "taken" tells whether an account exists; sign-up cannot avoid it (see
  // docs/security.md). The login rate limits bound how fast it can be asked. A name equal to an
  // existing one in canonical form (RFC 8265), looking like one (UTS #39 skeleton) or reserved
  // (admin, the issuer's host, ...) is refused.
  const created = await createUser(
    p.stores,
    {
      username: input.username,
      password: input.password,
      ...(input.email ? { email: input.email } : {}),
      ...(input.name ? { name: input.name } : {}),
    },
    p.now(),
    { origin: 'signup', issuer: p.config.issuer },
  );
  if ('refused' in created) return refuse(created.refused, { username: REFUSALS[created.refused] });
  const { user } = created;

  p.events({ type: 'user_registered', userId: user.id, clientId, ip: req.ip });
  p.log.info({ event: 'user_registered', sub: user.id, client_id: clientId, ip: req.ip }, 'user registered');
  // Email verification (email.ts): the link is mailed now (a failure to queue it does not undo the
  // account: the sign-in page offers to send it again); before-sign-in mode signs in only after it is used.
  if (user.email && p.config.emailVerification !== 'off')
    await sendVerification(p, user, user.email, req, l.areq.uiLocales).catch((err) =>
      p.log.warn({ event: 'mail_not_queued', sub: user.id, err: String(err) }, 'verification mail not queued'),
    );
  if (emailVerificationRequired(p, user)) return unverifiedEmailAnswer(p, req, user, { status: 200 });
  // Signed in as at login: a new session (and session id), amr pwd.
  const { session, cookies } = await startSession(p, req, user.id, ['pwd']);
  await p.stores.interactions.setLogin(uid, session.idHash, session.authTime);
  const client = await p.stores.clients.get(clientId);
  if (!client) return EXPIRED;
  if (await needsConsent(p, client, user.id, l.areq)) {
    return { kind: 'redirect', location: `${p.config.issuer}/interaction/${uid}`, cookies };
  }
  return finish(p, req, { ...l, ia: { ...l.ia, sessionIdHash: session.idHash, loginAt: session.authTime } }, cookies);
}
