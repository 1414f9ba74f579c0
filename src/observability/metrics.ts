import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ProtocolEvent } from '../protocol/events.ts';
import type { KeyRing } from '../protocol/tokens/keys.ts';
import { httpRequestMetrics, plainCounter } from './http-metrics.ts';
import { nextRotationAt, type ScheduleSettings } from '../protocol/tokens/key-schedule.ts';

/** Prometheus metrics: HTTP traffic, what the protocol reports, and the signing keys' age. */
export interface Metrics {
  registry: Registry;
  /** Record one HTTP request (route pattern, method, status, seconds). */
  request(route: string, method: string, status: number, seconds: number): void;
  event(e: ProtocolEvent): void;
  /** A request refused by a rate limit (policy name, what the rule counts by). */
  rateLimited(policy: string, key: string): void;
  /** A rate-limit hit counted in the process because the shared backend (Redis) was unreachable. */
  rateLimitFallback(): void;
  /** The Redis circuit breaker changed state (closed, open, half_open). */
  redisBreaker(state: string): void;
  /** This process found that the Redis replay cache had lost its markers. */
  replayStoreLost(): void;
  /** Mail: queued by this process, or delivered, retried later or given up by its worker. */
  mail(outcome: 'queued' | 'sent' | 'retry' | 'failed'): void;
  /** Mails waiting in the outbox, as the worker last counted them. */
  mailQueueDepth(depth: number): void;
  /** A webhook attempt by this process's dispatcher: delivered, retry (tried again later) or failed (given up). */
  webhook(outcome: 'delivered' | 'retry' | 'failed'): void;
}

export function createMetrics(keys: () => KeyRing, now: () => number, schedule?: ScheduleSettings): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tessera_process_' });
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name, help, labelNames, registers: [registry] });
  const request = httpRequestMetrics(registry);
  const tokenIssued = plainCounter(
    registry,
    'tessera_tokens_issued_total',
    'Token responses by grant type.',
    'grant_type',
  );
  const clientAuthFailures = counter('tessera_client_auth_failures_total', 'Failed client authentications.');
  const logins = counter('tessera_logins_total', 'User login attempts by outcome.', ['outcome']);
  const reuse = counter(
    'tessera_reuse_detected_total',
    'Replayed authorization codes and rotated refresh tokens (each revokes a grant).',
    ['artifact'],
  );
  const fapiRefused = counter(
    'tessera_fapi_refusals_total',
    'Requests of FAPI 2.0 clients refused by a rule of the profile, by reason.',
    ['reason'],
  );
  const dpopRefused = counter(
    'tessera_dpop_proofs_refused_total',
    'DPoP proofs refused, by reason (replays are counted in tessera_reuse_detected_total).',
    ['reason'],
  );
  const pushed = counter('tessera_par_requests_total', 'Pushed authorization requests accepted.');
  const signups = counter(
    'tessera_signups_total',
    'Self-registration attempts by outcome: registered, invalid (the form was refused), username_taken, username_confusable, username_reserved.',
    ['outcome'],
  );
  const device = counter(
    'tessera_device_authorizations_total',
    'Device flow (RFC 8628) steps by outcome: started, approved, denied, and user-code entries that failed or were throttled.',
    ['outcome'],
  );
  const registrations = counter(
    'tessera_client_registrations_total',
    'Dynamic client registration (RFC 7591/7592) by outcome: registered, updated, deleted, refused (missing or wrong token).',
    ['outcome'],
  );
  const revocations = counter('tessera_revocations_total', 'Tokens revoked at the revocation endpoint.', [
    'token_type',
  ]);
  const rateLimited = counter(
    'tessera_rate_limited_total',
    'Requests refused with 429 by a rate limit, by policy and what the rule counts by.',
    ['policy', 'key'],
  );
  const rateLimitFallbacks = counter(
    'tessera_rate_limit_fallbacks_total',
    'Rate-limit hits counted in the process because Redis was unreachable.',
  );
  const breakerChanges = counter(
    'tessera_redis_breaker_transitions_total',
    'Changes of the Redis circuit breaker, by the state entered (open: Redis did not answer in time; half_open: probing; closed: answering again).',
    ['state'],
  );
  const breakerState = new Gauge({
    name: 'tessera_redis_breaker_open',
    help: '1 while the Redis circuit breaker is open or half-open (no command sent but its probe), 0 when closed.',
    registers: [registry],
  });
  const replayLost = counter(
    'tessera_replay_store_losses_total',
    'Losses of the Redis replay cache (restarted empty) recorded by this process.',
  );
  new Gauge({
    name: 'tessera_signing_key_age_seconds',
    help: 'Age of each published signing key.',
    labelNames: ['kid', 'alg', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of keys().records) this.set({ kid: r.kid, alg: r.alg, state: r.state }, now() - r.createdAt);
    },
  });
  new Gauge({
    name: 'tessera_signing_key_state',
    help: 'Signing keys by state (1 for the state each key is in): prepublished, active, grace, retired.',
    labelNames: ['kid', 'alg', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of keys().records) this.set({ kid: r.kid, alg: r.alg, state: r.state }, 1);
    },
  });
  new Gauge({
    name: 'tessera_signing_key_next_rotation_seconds',
    help: 'Seconds until the next scheduled signing-key rotation (absent when none is scheduled).',
    registers: [registry],
    collect() {
      this.reset();
      const at = schedule && nextRotationAt(keys().records, schedule);
      if (at !== undefined) this.set(at - now());
    },
  });
  const backchannel = counter(
    'tessera_backchannel_logouts_total',
    'Back-channel logout deliveries by outcome (delivered, failed).',
    ['outcome'],
  );
  const mails = counter(
    'tessera_mails_total',
    'Mail by outcome: queued (by this process), sent, retry (not delivered, tried again later), failed (given up).',
    ['outcome'],
  );
  const mailDepth = new Gauge({
    name: 'tessera_mail_queue_depth',
    help: 'Mails waiting in the outbox to be delivered (due or retrying), as last counted by this process.',
    registers: [registry],
  });
  const webhooks = counter(
    'tessera_webhook_deliveries_total',
    'Webhook delivery attempts by outcome: delivered, retry (not delivered, tried again later), failed (given up).',
    ['outcome'],
  );
  const keyTransitions = counter(
    'tessera_key_transitions_total',
    'Signing-key transitions made by this process, by type and trigger (scheduled or manual).',
    ['type', 'trigger'],
  );
  return {
    registry,
    rateLimited(policy, key) {
      rateLimited.inc({ policy, key });
    },
    rateLimitFallback() {
      rateLimitFallbacks.inc();
    },
    redisBreaker(state) {
      breakerChanges.inc({ state });
      breakerState.set(state === 'closed' ? 0 : 1);
    },
    replayStoreLost() {
      replayLost.inc();
    },
    mail(outcome) {
      mails.inc({ outcome });
    },
    mailQueueDepth(depth) {
      mailDepth.set(depth);
    },
    webhook(outcome) {
      webhooks.inc({ outcome });
    },
    request,
    event(e) {
      switch (e.type) {
        case 'token_issued':
          tokenIssued(e.grantType);
          break;
        case 'client_auth_failed':
          clientAuthFailures.inc();
          break;
        case 'login_succeeded':
          logins.inc({ outcome: 'success' });
          break;
        case 'login_failed':
          logins.inc({ outcome: 'failure' });
          break;
        case 'login_throttled':
          logins.inc({ outcome: 'throttled' });
          break;
        case 'code_reuse':
          reuse.inc({ artifact: 'authorization_code' });
          break;
        case 'refresh_reuse':
          reuse.inc({ artifact: 'refresh_token' });
          break;
        case 'token_revoked':
          revocations.inc({ token_type: e.tokenType });
          break;
        case 'dpop_proof_refused':
          dpopRefused.inc({ reason: e.reason });
          break;
        case 'dpop_replay':
          reuse.inc({ artifact: 'dpop_proof' });
          break;
        case 'par_request':
          pushed.inc();
          break;
        case 'fapi_refused':
          fapiRefused.inc({ reason: e.reason });
          break;
        case 'backchannel_logout_delivered':
          backchannel.inc({ outcome: 'delivered' });
          break;
        case 'backchannel_logout_failed':
          backchannel.inc({ outcome: 'failed' });
          break;
        case 'key_prepublished':
        case 'key_rotated':
        case 'key_retired':
          keyTransitions.inc({ type: e.type, trigger: e.trigger });
          break;
        case 'device_authorization_started':
          device.inc({ outcome: 'started' });
          break;
        case 'device_authorization_approved':
          device.inc({ outcome: 'approved' });
          break;
        case 'device_authorization_denied':
          device.inc({ outcome: 'denied' });
          break;
        case 'device_user_code_failed':
          device.inc({ outcome: 'user_code_failed' });
          break;
        case 'user_registered':
          signups.inc({ outcome: 'registered' });
          break;
        case 'signup_refused':
          signups.inc({ outcome: e.reason });
          break;
        case 'device_user_code_throttled':
          device.inc({ outcome: 'user_code_throttled' });
          break;
        case 'client_registered':
          registrations.inc({ outcome: 'registered' });
          break;
        case 'client_updated':
          registrations.inc({ outcome: 'updated' });
          break;
        case 'client_deleted':
          registrations.inc({ outcome: 'deleted' });
          break;
        case 'registration_refused':
          registrations.inc({ outcome: 'refused' });
          break;
      }
    },
  };
}
