// The error pages of the sign-in pages (issue 18): a problem is a pair of catalog messages,
// `<key>.title` and `<key>.message`, so that protocol code names what went wrong and the page says it
// in the reader's language. An OAuth error's description, written for the application's developers,
// goes along as the page's technical detail, never as its sentence.
import { msg, type MessageKey, type MessageParams } from '../../i18n/catalog.ts';
import type { OAuthResponse, View } from '../provider.ts';

/** The catalog keys that have both a `.title` and a `.message`. */
export type ProblemKey = {
  [K in MessageKey]: K extends `${infer B}.title` ? (`${B}.message` extends MessageKey ? B : never) : never;
}[MessageKey];

/** The error view of `problem`; `params` fill both its title and its sentence. */
export function problemView(
  problem: ProblemKey,
  params?: MessageParams,
  detail?: string,
): Extract<View, { name: 'error' }> {
  return {
    name: 'error',
    title: msg(`${problem}.title`, params),
    message: msg(`${problem}.message`, params),
    ...(detail ? { detail } : {}),
  };
}

/** The error page of `problem`, with its status. */
export const problemPage = (
  problem: ProblemKey,
  status = 400,
  params?: MessageParams,
  detail?: string,
): OAuthResponse => ({ kind: 'page', status, view: problemView(problem, params, detail) });

/** "Try again in N seconds": the message of `key` (or of `key`One for a single second). */
export const waitMsg = (
  key: 'interaction.error.tooManyAttempts' | 'interaction.error.tooManyCodes',
  seconds: number,
): ReturnType<typeof msg> => (seconds === 1 ? msg(`${key}One`) : msg(key, { seconds }));
