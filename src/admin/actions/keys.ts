// Signing keys: list, rotate now, retire now (the logic is admin/keys.ts, as the CLI's).
import { z } from 'zod';
import { defineAction } from '../action.ts';
import { SIGNING_ALGS, describeKeys, retireKeyNow, rotateKeysNow } from '../keys.ts';

export const keyActions = [
  defineAction({
    name: 'keys.list',
    summary: 'The signing keys: states, ages, when each rotates and stops being published (never key material).',
    permission: 'admin:keys:read',
    event: 'admin_keys_listed',
    input: z.object({}).strict(),
    http: { method: 'GET', path: '/keys' },
    async run(ctx) {
      const keys = describeKeys(await ctx.stores.keys.list(), ctx.p.config, ctx.now);
      return { result: { keys } };
    },
  }),
  defineAction({
    name: 'keys.rotate',
    summary: 'Rotates the signing key of one algorithm now (the prepublished key becomes active, else a new key).',
    permission: 'admin:keys:write',
    event: 'key_rotated',
    recentAuth: true,
    input: z.object({ alg: z.enum(SIGNING_ALGS as [string, ...string[]]).optional() }).strict(),
    http: { method: 'POST', path: '/keys/rotate' },
    async run(ctx, input) {
      const t = await rotateKeysNow(ctx.stores, ctx.p.config, input.alg, ctx.now);
      const { graceSeconds: _, ...transition } = t;
      ctx.after(() => ctx.p.events({ ...transition, trigger: 'manual', actor: 'admin', audited: true }));
      return {
        result: {
          kid: t.kid,
          alg: t.alg,
          previous: t.previous,
          prepublished: t.prepublished,
          grace_seconds: t.graceSeconds,
          reload_seconds: ctx.p.config.keyReloadSeconds,
        },
        details: { kid: t.kid, alg: t.alg, previous: t.previous ?? null, trigger: 'manual' },
      };
    },
  }),
  defineAction({
    name: 'keys.retire',
    summary: 'Takes a grace or prepublished key out of the JWKS now.',
    permission: 'admin:keys:write',
    event: 'key_retired',
    recentAuth: true,
    input: z.object({ kid: z.string().min(1).max(200) }).strict(),
    http: { method: 'POST', path: '/keys/{kid}/retire' },
    async run(ctx, input) {
      const t = await retireKeyNow(ctx.stores, input.kid, ctx.now, ctx.p.config);
      if (t) ctx.after(() => ctx.p.events({ ...t, trigger: 'manual', actor: 'admin', audited: true }));
      const state = (await ctx.stores.keys.list()).find((k) => k.kid === input.kid)?.state ?? 'retired';
      return {
        result: { kid: input.kid, state, changed: t !== undefined },
        details: { kid: input.kid, state, changed: t !== undefined, trigger: 'manual' },
      };
    },
  }),
];
