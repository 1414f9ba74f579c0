import assert from 'node:assert/strict';
import { it } from 'node:test';
import { loadConfig } from './config.ts';
import { DEV_SECRET } from './settings.ts';
import { configProblems as problems, PRODUCTION_ENV as prod } from '../../test/fixtures/config.ts';

const old = 'an-older-server-secret-0123456789-abcdefghij';

it('production refuses a previous server secret that is short, equal to the current one or the development default', () => {
  assert.deepEqual(problems({ ...prod, TESSERA_SECRET_PREVIOUS: 'short', TESSERA_PAIRWISE_SECRET: old }), [
    'TESSERA_SECRET_PREVIOUS: must be at least 32 bytes (got 5)',
  ]);
  assert.deepEqual(problems({ ...prod, TESSERA_SECRET_PREVIOUS: prod.TESSERA_SECRET!, TESSERA_PAIRWISE_SECRET: old }), [
    'TESSERA_SECRET_PREVIOUS: must differ from TESSERA_SECRET',
  ]);
  assert.deepEqual(problems({ ...prod, TESSERA_SECRET_PREVIOUS: DEV_SECRET, TESSERA_PAIRWISE_SECRET: old }), [
    'TESSERA_SECRET_PREVIOUS: the development default is refused in production',
  ]);
});

it('production refuses a rotation without a pinned pairwise secret, and a short pairwise secret', () => {
  assert.match(
    problems({ ...prod, TESSERA_SECRET_PREVIOUS: old })[0]!,
    /^TESSERA_PAIRWISE_SECRET: must be set during a TESSERA_SECRET rotation/,
  );
  assert.deepEqual(problems({ ...prod, TESSERA_PAIRWISE_SECRET: 'short' }), [
    'TESSERA_PAIRWISE_SECRET: must be at least 32 bytes (got 5)',
  ]);
  const c = loadConfig({ ...prod, TESSERA_SECRET_PREVIOUS: old, TESSERA_PAIRWISE_SECRET: old });
  assert.deepEqual([c.secretPrevious, c.pairwiseSecret], [old, old]);
});

it('the pairwise secret is TESSERA_SECRET unless pinned', () => {
  const c = loadConfig(prod);
  assert.equal(c.pairwiseSecret, c.secret);
  assert.equal(c.secretPrevious, undefined);
});
