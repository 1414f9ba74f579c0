// The Standard Webhooks message (https://www.standardwebhooks.com): the secret (`whsec_` and 32
// random bytes in base64), its wrapping at rest under the key-encryption key, the JSON body made of
// an audit record, the three signature fields, and one signed POST through the SSRF-safe outbound
// port with its outcome as the delivery log records it. The secret never leaves this file but as
// the HMAC it keys; errors are classes (`timeout`, `refused`, ...), never a receiver's address.
import { createHmac, randomBytes } from 'node:crypto';
import { unwrapAccountSecret, wrapAccountSecret } from '../accounts/secret-wrap.ts';
import { OutboundError, type OutboundHttp } from '../ports/outbound.ts';
import type { WebhookAuditRecord } from '../ports/webhooks.ts';

/** The key-encryption keys (config), the previous one still opening secrets during a rotation. */
export interface Keks {
  keyEncryptionKey: string;
  keyEncryptionKeyPrevious?: string | undefined;
}

/** The most of a receiver's answer the delivery log keeps, bytes. */
export const RESPONSE_KEEP_BYTES = 1024;

const SECRET_PREFIX = 'whsec_';
const label = (endpointId: string) => `webhook:${endpointId}`;

/** A new signing secret: `whsec_` and the base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

export function wrapWebhookSecret(kek: string, endpointId: string, secret: string): Promise<string> {
  return wrapAccountSecret(kek, label(endpointId), secret);
}

export function openWebhookSecret(keks: Keks, endpointId: string, wrapped: string): Promise<string> {
  return unwrapAccountSecret(keks, label(endpointId), wrapped);
}

/** `v1,<base64 HMAC-SHA256>` over `<id>.<timestamp>.<body>`, keyed by the secret's bytes. */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** The message of an audit record: `tessera.<type>` and its JSON body. */
export function auditMessage(r: WebhookAuditRecord): { type: string; payload: string } {
  const type = `tessera.${r.type}`;
  return {
    type,
    payload: JSON.stringify({
      type,
      timestamp: new Date(r.at).toISOString(),
      data: {
        seq: r.seq,
        at: r.at,
        type: r.type,
        actor: r.actor,
        client_id: r.clientId,
        ip: r.ip,
        outcome: r.outcome,
        details: r.details,
      },
    }),
  };
}

/** The message an operator's test sends: `tessera.ping`, naming the endpoint. */
export function pingMessage(endpointId: string, at: number): { type: string; payload: string } {
  const type = 'tessera.ping';
  return {
    type,
    payload: JSON.stringify({ type, timestamp: new Date(at * 1000).toISOString(), data: { endpoint: endpointId } }),
  };
}

/** A delivery's message id (webhook-id) for an audit record: the same at every attempt and redelivery. */
export const auditDeliveryId = (endpointId: string, seq: number): string => `msg_${endpointId}_${seq}`;

/** One attempt's outcome, as the delivery log keeps it. */
export interface SendOutcome {
  /** The answer's status, when one came. */
  status: number | null;
  /** null when delivered (2xx); else `status` (another answer), `timeout`, `network`, `refused` or `invalid`. */
  error: string | null;
  durationMs: number;
  /** The answer's first bytes (at most RESPONSE_KEEP_BYTES) as text. */
  response: string | null;
}

export interface SendSettings {
  outbound: OutboundHttp;
  /** The test allowance: http and loopback receivers (TESSERA_CLIENT_JWKS_ALLOW_LOOPBACK). */
  allowLoopback: boolean;
  timeoutMs: number;
}

/**
 * A receiver's answer as the log keeps it: no NUL (PostgreSQL text refuses one, and a receiver must
 * not be able to make its attempt unrecordable), at most RESPONSE_KEEP_BYTES of UTF-8 (a character
 * cut in two by the limit is dropped).
 */
function keptText(body: string): string | null {
  let text = body.replaceAll('\u0000', '\uFFFD');
  while (Buffer.byteLength(text) > RESPONSE_KEEP_BYTES) text = text.slice(0, -1);
  if (text.endsWith('\uFFFD') && Buffer.byteLength(body) >= RESPONSE_KEEP_BYTES) text = text.slice(0, -1);
  return text === '' ? null : text;
}

/** Signs and POSTs one message; never throws (every failure is an outcome). */
export async function sendWebhook(
  s: SendSettings,
  m: { id: string; url: string; payload: string; secret: string; timestamp: number },
): Promise<SendOutcome> {
  const started = performance.now();
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'Tessera-Webhooks',
    'webhook-id': m.id,
    'webhook-timestamp': String(m.timestamp),
    'webhook-signature': signWebhook(m.secret, m.id, m.timestamp, m.payload),
  };
  try {
    const answer = await s.outbound.post(
      m.url,
      { headers, body: m.payload },
      { name: 'webhook url', allowLoopback: s.allowLoopback, timeoutMs: s.timeoutMs, keepBytes: RESPONSE_KEEP_BYTES },
    );
    const ok = answer.status >= 200 && answer.status < 300;
    return {
      status: answer.status,
      error: ok ? null : 'status',
      durationMs: performance.now() - started,
      response: keptText(answer.body),
    };
  } catch (err) {
    const error =
      err instanceof OutboundError
        ? err.reason === 'failed'
          ? /within \d+ ms/.test(err.message)
            ? 'timeout'
            : 'network'
          : err.reason
        : 'network';
    return { status: null, error, durationMs: performance.now() - started, response: null };
  }
}
