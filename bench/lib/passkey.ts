// Passkeys for the benchmark: one passkey registered for the bench user through the account pages
// (password sign-in at /account, then /account/security/passkeys), made and used by the tests'
// software authenticator. The key travels to the flow workers as PEM.
import { createPrivateKey } from 'node:crypto';
import { softAssert, softRegister } from '../../test/fixtures/soft-authenticator.ts';
import { attr, CookieJar, FlowError } from './flow.ts';

export interface BenchPasskey {
  id: string;
  privateKeyPem: string;
  rpId: string;
  /** base64url, as the registration options gave it. */
  userHandle: string;
  origin: string;
}

/** A page's passkey form (`login` or `register`): its action, hidden fields and ceremony options. */
export function passkeyForm(
  html: string,
  kind: 'login' | 'register',
): { action: string; hidden: Record<string, string>; options: string } | undefined {
  const m = new RegExp(`<form\\b[^>]*data-passkey="${kind}"[^>]*>([\\s\\S]*?)</form>`, 'i').exec(html);
  if (!m) return undefined;
  const tag = /<form\b[^>]*>/i.exec(m[0])![0];
  const hidden: Record<string, string> = {};
  for (const input of m[1]!.match(/<input\b[^>]*>/gi) ?? []) {
    const name = attr(input, 'name');
    if (attr(input, 'type') === 'hidden' && name && name !== 'response') hidden[name] = attr(input, 'value') ?? '';
  }
  return { action: attr(tag, 'action') ?? '', hidden, options: attr(tag, 'data-options') ?? '' };
}

/** The answer a browser would post for these request options (JSON), signed with the passkey. */
export function passkeyAnswer(pk: BenchPasskey, optionsJson: string): string {
  const credential = {
    id: pk.id,
    privateKey: createPrivateKey(pk.privateKeyPem),
    rpId: pk.rpId,
    userHandle: pk.userHandle,
    counter: 0,
    backupEligible: false,
  };
  return softAssert(credential, JSON.parse(optionsJson), pk.origin);
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** Registers a passkey for the user (signing in at /account with the password first). */
export async function enrolBenchPasskey(
  issuer: string,
  user: { username: string; password: string },
): Promise<BenchPasskey> {
  const jar = new CookieJar();
  const go = async (path: string, body?: Record<string, string>) => {
    const cookie = jar.header();
    const res = await fetch(new URL(path, `${issuer}/`), {
      method: body ? 'POST' : 'GET',
      headers: { ...(cookie ? { cookie } : {}), ...(body ? FORM : {}) },
      body: body && new URLSearchParams(body).toString(),
      redirect: 'manual',
    });
    jar.store(res.headers.getSetCookie());
    return { status: res.status, text: await res.text() };
  };
  const login = await go(`${issuer}/account`);
  const csrf = /name="csrf" value="([^"]+)"/.exec(login.text)?.[1];
  if (!csrf) throw new FlowError('passkey enrolment', 'no account login form');
  const signedIn = await go(`${issuer}/account/login`, { csrf, username: user.username, password: user.password });
  if (signedIn.status !== 303) throw new FlowError('passkey enrolment', `account login: ${signedIn.status}`);
  const page = await go(`${issuer}/account/security/passkeys`);
  const form = passkeyForm(page.text, 'register');
  if (!form) throw new FlowError('passkey enrolment', `no registration form (${page.status})`);
  const options = JSON.parse(form.options);
  const origin = new URL(issuer).origin;
  const { credential, json } = softRegister(options, origin);
  const added = await go(form.action, { ...form.hidden, response: json, name: 'Bench key' });
  if (added.status !== 200 || !added.text.includes('added'))
    throw new FlowError('passkey enrolment', `${added.status}`);
  return {
    id: credential.id,
    privateKeyPem: credential.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    rpId: credential.rpId,
    userHandle: credential.userHandle,
    origin,
  };
}
