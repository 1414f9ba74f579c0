// The steps token() takes before and after any grant, without HTTP (testProvider): reading the
// parameters, client authentication, sender-constraint requirements, the answer's headers and event.
// Each grant's own cases are in grants/grants.table.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  answered,
  assertOutcome,
  basicAuth,
  refused,
  testProvider,
  type Expected,
  type Outcome,
  type TestProvider,
} from '../../../test/fixtures/protocol.ts';
import { token } from './token.ts';

const SECRET = 'svc-secret-0123456789-abcdefghijklmnop';
const BASIC = { authorization: basicAuth('svc', SECRET) };

interface Row {
  name: string;
  params: Record<string, string | string[]>;
  headers?: Record<string, string>;
  expect: Expected;
  check?: (t: TestProvider, o: Outcome) => void;
}

const rows: Row[] = [
  {
    name: 'an answer is not to be stored, and the issue is reported',
    params: { grant_type: 'client_credentials' },
    headers: BASIC,
    expect: answered({ scope: 'api:read api:write' }),
    check: (t, o) => {
      assert.ok(o.response?.kind === 'json');
      assert.deepEqual(o.response.headers, { 'cache-control': 'no-store', pragma: 'no-cache' });
      assert.deepEqual(t.events.at(-1), {
        type: 'token_issued',
        grantType: 'client_credentials',
        clientId: 'svc',
        scope: 'api:read api:write',
        ip: '192.0.2.1',
      });
    },
  },
  {
    name: 'grant_type twice',
    params: { grant_type: ['client_credentials', 'client_credentials'] },
    headers: BASIC,
    expect: refused('invalid_request'),
  },
  {
    name: 'a parameter of the grant twice',
    params: { grant_type: 'client_credentials', scope: ['api:read', 'api:read'] },
    headers: BASIC,
    expect: refused('invalid_request'),
  },
  {
    name: 'a parameter of another grant is dropped, even when repeated',
    params: { grant_type: 'client_credentials', code: ['x', 'y'], scope: 'api:read' },
    headers: BASIC,
    expect: answered({ scope: 'api:read' }),
  },
  {
    name: 'an empty parameter counts as absent',
    params: { grant_type: 'client_credentials', scope: '' },
    headers: BASIC,
    expect: answered({ scope: 'api:read api:write' }),
  },
  {
    name: 'a parameter over its length limit',
    params: { grant_type: 'refresh_token', refresh_token: 'A'.repeat(257) },
    headers: BASIC,
    expect: refused('invalid_request'),
  },
  {
    name: 'Basic and client_secret together',
    params: { grant_type: 'client_credentials', client_secret: SECRET },
    headers: BASIC,
    expect: refused('invalid_request'),
  },
  {
    name: 'Basic for another client than client_id names',
    params: { grant_type: 'client_credentials', client_id: 'other' },
    headers: BASIC,
    expect: refused('invalid_request'),
  },
  {
    name: 'the secret in the form (client_secret_post) for a client_secret_basic client',
    params: { grant_type: 'client_credentials', client_id: 'svc', client_secret: SECRET },
    expect: refused('invalid_client', 401),
  },
  {
    name: 'an unknown client: invalid_client, reported without taking its id as a name',
    params: { grant_type: 'client_credentials' },
    headers: { authorization: basicAuth('nobody', SECRET) },
    expect: refused('invalid_client', 401),
    check: (t) => {
      assert.deepEqual(t.events.at(-1), { type: 'client_auth_failed', unknownClient: 'nobody', ip: '192.0.2.1' });
    },
  },
  {
    name: 'no client authentication at all',
    params: { grant_type: 'client_credentials' },
    expect: refused('invalid_client', 401),
  },
  {
    name: 'a client registered for DPoP-bound tokens, without a proof',
    params: { grant_type: 'client_credentials' },
    headers: { authorization: basicAuth('dpop-svc', SECRET) },
    expect: refused('invalid_dpop_proof'),
  },
  {
    name: 'a client registered for certificate-bound tokens, without a certificate',
    params: { grant_type: 'client_credentials' },
    headers: { authorization: basicAuth('cert-svc', SECRET) },
    expect: refused('invalid_request'),
  },
];

describe('token(): the steps around the grant', () => {
  for (const row of rows) {
    it(row.name, async () => {
      const t = await testProvider();
      try {
        const cc = {
          client_secret: SECRET,
          grant_types: ['client_credentials' as const],
          scope: 'api:read api:write',
          redirect_uris: [],
        };
        await t.addClient({ client_id: 'svc', ...cc });
        await t.addClient({ client_id: 'dpop-svc', ...cc, metadata: { dpop_bound_access_tokens: true } });
        const certificateBound = { tls_client_certificate_bound_access_tokens: true };
        await t.addClient({ client_id: 'cert-svc', ...cc, metadata: certificateBound });
        const o = await t.outcome(() => token(t.p, t.request(row.params, { headers: row.headers })));
        assertOutcome(o, row.expect);
        row.check?.(t, o);
      } finally {
        await t.close();
      }
    });
  }
});
