// Security notifications (TESSERA_NOTIFICATIONS): a listener on the provider's events that mails the account's owner
// when a browser not seen before signs in (new-device), a factor is added or removed, or a sign-in through an upstream
// provider linked or unlinked (factor-changed), or the password changes (password-changed; a reset by link mails its
// own notice, interaction/recovery.ts). Only to a verified address. Fire and forget: the event sink never waits and
// never throws; a mail that cannot be queued is logged.
import type { Config } from '../config/config.ts';
import type { MailTemplate } from '../ports/mail.ts';
import { describeUserAgent } from './account/user-agent.ts';
import type { EventSink, ProtocolEvent } from './events.ts';
import { mailLocale } from './mail-language.ts';
import type { Provider, StoreDeps } from './provider.ts';

export type NotificationDeps = Pick<Provider, 'mail' | 'log' | 'now'> & {
  readonly config: Pick<Config, 'notifications' | 'defaultLocale'>;
} & StoreDeps<'users'>;

/** The mail an event asks for under the settings, with its values; none for most events. */
export function notificationFor(
  notifications: readonly string[],
  e: ProtocolEvent,
): { userId: string; template: MailTemplate; vars: Record<string, string> } | undefined {
  switch (e.type) {
    case 'new_device_sign_in': {
      if (!notifications.includes('new-device')) return undefined;
      // The browser in Tessera's own words: a User-Agent is whatever the signing-in party typed, and
      // its text in a genuine security mail could tell the owner to ignore it or send them elsewhere.
      const { browser, os } = describeUserAgent(e.userAgent);
      return {
        userId: e.userId,
        template: 'new-device',
        vars: e.userAgent ? { browser: `${browser} on ${os}` } : {},
      };
    }
    case 'factor_added':
    case 'factor_removed':
      if (!notifications.includes('factor-changed')) return undefined;
      return {
        userId: e.userId,
        template: e.type === 'factor_added' ? 'factor-added' : 'factor-removed',
        vars: { kind: e.kind },
      };
    // A linked upstream identity is a way in like a factor (issue 17): its owner hears of it the same way.
    case 'upstream_linked':
    case 'upstream_unlinked':
      if (!notifications.includes('factor-changed') || (e.type === 'upstream_linked' && e.by === 'created'))
        return undefined;
      return {
        userId: e.userId,
        template: e.type === 'upstream_linked' ? 'factor-added' : 'factor-removed',
        vars: { kind: 'upstream', provider: e.provider },
      };
    case 'password_changed':
      if (!notifications.includes('password-changed') || e.by === 'reset') return undefined;
      return { userId: e.userId, template: 'password-changed', vars: {} };
    default:
      return undefined;
  }
}

/** The listener app.ts adds to the provider's event sink. */
export function securityNotifications(p: NotificationDeps): EventSink {
  return (e) => {
    if (p.config.notifications.length === 0) return;
    const n = notificationFor(p.config.notifications, e);
    if (!n) return;
    const at = p.now();
    void (async () => {
      const user = await p.stores.users.get(n.userId);
      if (!user || !user.email || !user.emailVerified) return;
      await p.mail.send({
        to: user.email,
        template: n.template,
        vars: { username: user.username, time: new Date(at * 1000).toUTCString(), ...n.vars },
        userId: user.id,
        // An event carries no request: the user's own language, else the deployment's.
        locale: mailLocale(undefined, p.config, user),
      });
    })().catch((err) =>
      p.log.warn(
        { event: 'notification_not_queued', template: n.template, sub: n.userId, err: String(err) },
        'security notification not queued',
      ),
    );
  };
}
