// A queued mail's values (its reset or verification link among them) wait in the outbox sealed under
// the key-encryption key, so a copy of the database holds no usable link while SMTP is down: the
// tokens themselves are stored only as hashes (account_tokens), and this keeps it so. One JWE
// (dir/A256GCM, accounts/secret-wrap.ts, label "mail-vars") per mail, opened by the worker to render it.
import { unwrapAccountSecret, wrapAccountSecret } from '../../accounts/secret-wrap.ts';
import { isLocale, type Locale } from '../../i18n/negotiate.ts';

export interface Keks {
  readonly keyEncryptionKey: string;
  readonly keyEncryptionKeyPrevious?: string | undefined;
}

const LABEL = 'mail-vars';

/**
 * The values of a queued mail keep its language too, under this name (no template has a value of that
 * name): the outbox needs no column for it, and a mail queued before languages simply has none.
 */
export const LOCALE_VAR = 'locale';

/** The values as they are queued: `{ sealed: <JWE> }`, the mail's language among them when it has one. */
export async function sealVars(
  keks: Keks,
  vars: Readonly<Record<string, string>>,
  locale?: Locale,
): Promise<Record<string, string>> {
  const all = locale ? { ...vars, [LOCALE_VAR]: locale } : vars;
  return { sealed: await wrapAccountSecret(keks.keyEncryptionKey, LABEL, JSON.stringify(all)) };
}

/** A claimed mail's values apart from its language; an unknown or absent language is English. */
export function localeOfVars(vars: Readonly<Record<string, string>>): {
  locale: Locale;
  vars: Readonly<Record<string, string>>;
} {
  const { [LOCALE_VAR]: stored, ...rest } = vars;
  return { locale: stored !== undefined && isLocale(stored) ? stored : 'en', vars: rest };
}

/** The values of a claimed mail (a mail queued before sealing has them as they are). */
export async function openVars(
  keks: Keks,
  vars: Readonly<Record<string, string>>,
): Promise<Readonly<Record<string, string>>> {
  const keys = Object.keys(vars);
  if (keys.length !== 1 || keys[0] !== 'sealed') return vars;
  return JSON.parse(await unwrapAccountSecret(keks, LABEL, vars.sealed!)) as Record<string, string>;
}
