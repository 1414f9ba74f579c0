// OpenID Connect Back-Channel Logout 1.0: the logout token, and its delivery to clients off the
// request path with bounded retries. The POST goes out through the outbound port (client-keys.ts
// postForm: public addresses only, no redirects, time and size limits).
import type { ClientRecord } from '../../ports/clients.ts';
import { ClientKeysError, postForm } from '../client-auth/client-keys.ts';
import { randomToken } from '../hash.ts';
import type { Provider } from '../provider.ts';
import { responseSigner } from '../tokens/response-algs.ts';
import { signJwt, type SigningKey } from '../tokens/signer.ts';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Lifetime of a logout token: it is used at once, so two minutes cover clock differences. */
export const LOGOUT_TOKEN_TTL = 120;

/**
 * A logout token (section 2.4): iss, aud, iat, exp, jti, sub and sid, events; never a nonce. typ
 * logout+jwt (section 2.4 / RFC 8725). Signed like the client's ID tokens (id_token_signed_response_alg,
 * default RS256): `key` is responseSigner(p, client, 'logout_token').
 */
export function mintLogoutToken(
  p: Pick<Provider, 'config' | 'now'>,
  key: SigningKey,
  clientId: string,
  sub: string,
  sid: string,
): string {
  const now = p.now();
  return signJwt(key, 'logout+jwt', {
    iss: p.config.issuer,
    aud: clientId,
    iat: now,
    exp: now + LOGOUT_TOKEN_TTL,
    jti: randomToken(16),
    sub,
    sid,
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
  });
}

export interface DeliveryOutcome {
  clientId: string;
  delivered: boolean;
  attempts: number;
  /** Why it was not delivered (a short fixed word: refused, redirect, status_4xx, status_5xx, network, no_key). */
  reason?: string;
}

/** Delay before retry n (1-based): 1 s, 4 s, 16 s, ... */
export const retryDelayMs = (n: number): number => 1000 * 4 ** (n - 1);

/** What a delivery uses of the provider: its settings, keys and clock, where it reports, and the outbound port. */
export type LogoutDeps = Pick<Provider, 'config' | 'keys' | 'now' | 'log' | 'events' | 'outbound'>;

/**
 * The deliveries of one server process (built in app.ts, reached as `provider.logoutDelivery`).
 * `send` queues a delivery and returns at once; `idle` resolves when nothing is in flight (tests,
 * shutdown). Deliveries live in memory: a restart loses those still being retried (documented in
 * docs/security.md).
 */
export class LogoutDelivery {
  private readonly pending = new Set<Promise<DeliveryOutcome>>();
  private readonly delay: (n: number) => number;

  constructor(delay: (n: number) => number = retryDelayMs) {
    this.delay = delay;
  }

  send(p: LogoutDeps, client: ClientRecord, sub: string, sid: string): Promise<DeliveryOutcome> {
    const task = this.deliver(p, client, sub, sid).finally(() => this.pending.delete(task));
    this.pending.add(task);
    return task;
  }

  async idle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  private async deliver(p: LogoutDeps, client: ClientRecord, sub: string, sid: string): Promise<DeliveryOutcome> {
    const uri = client.metadata.backchannel_logout_uri!;
    const max = p.config.backchannelLogoutAttempts;
    let reason = 'network';
    let attempts = 0;
    let key: SigningKey;
    try {
      key = responseSigner(p, client, 'logout_token');
    } catch {
      // No active key has the client's algorithm (taken out of TESSERA_SIGNING_ALGS): nothing it could verify.
      p.events({
        type: 'backchannel_logout_failed',
        clientId: client.clientId,
        userId: sub,
        attempts: 0,
        reason: 'no_key',
      });
      p.log.error(
        { event: 'backchannel_logout_failed', client_id: client.clientId, sub, attempts: 0, reason: 'no_key' },
        "back-channel logout failed: no active key has the client's id_token_signed_response_alg",
      );
      return { clientId: client.clientId, delivered: false, attempts: 0, reason: 'no_key' };
    }
    for (let n = 1; n <= max; n++) {
      if (n > 1) await new Promise((r) => setTimeout(r, this.delay(n - 1)).unref());
      attempts = n;
      // A fresh token (new jti, iat) on every attempt: the client may have seen and refused a retry's predecessor.
      const form = new URLSearchParams({ logout_token: mintLogoutToken(p, key, client.clientId, sub, sid) });
      try {
        const status = await postForm(
          p.outbound,
          uri,
          form,
          p.config.clientJwksAllowLoopback,
          p.config.backchannelLogoutTimeout * 1000,
          'backchannel_logout_uri',
        );
        if (status >= 200 && status < 300) {
          p.events({ type: 'backchannel_logout_delivered', clientId: client.clientId, userId: sub, attempts });
          p.log.info(
            { event: 'backchannel_logout_delivered', client_id: client.clientId, sub, attempts },
            'back-channel logout delivered',
          );
          return { clientId: client.clientId, delivered: true, attempts };
        }
        reason = status < 400 ? 'redirect' : status < 500 ? 'status_4xx' : 'status_5xx';
        p.log.warn(
          { event: 'backchannel_logout_attempt_failed', client_id: client.clientId, status, attempt: n },
          'back-channel logout refused by the client',
        );
        if (status < 500) break; // refused, or a redirect (never followed): sending it again will not help
      } catch (err) {
        const refused = err instanceof ClientKeysError && err.reason === 'jwks_uri_refused';
        reason = refused ? 'refused' : 'network';
        p.log.warn(
          {
            event: 'backchannel_logout_attempt_failed',
            client_id: client.clientId,
            attempt: n,
            err: (err as Error).message,
          },
          'back-channel logout not delivered',
        );
        if (refused) break;
      }
    }
    p.events({ type: 'backchannel_logout_failed', clientId: client.clientId, userId: sub, attempts, reason });
    p.log.error(
      { event: 'backchannel_logout_failed', client_id: client.clientId, sub, attempts, reason },
      'back-channel logout failed',
    );
    return { clientId: client.clientId, delivered: false, attempts, reason };
  }
}

/** The delivery queue of a provider (one per server process, built in app.ts). */
export function logoutDelivery(p: Pick<Provider, 'logoutDelivery'>): LogoutDelivery {
  return p.logoutDelivery;
}
