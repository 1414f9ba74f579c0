import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OAuthError } from './errors.ts';
import {
  describeAuthorizationDetails,
  isSubsetOf,
  MAX_AUTHORIZATION_DETAILS_LENGTH,
  narrowAuthorizationDetails,
  parseAuthorizationDetails,
  parseAuthorizationDetailsTypes,
  readAuthorizationDetails,
} from './authorization-details.ts';

const TYPES = parseAuthorizationDetailsTypes(
  ['payment_initiation=instructedAmount|creditorName', 'account_information'],
  [],
);
const config = { featuresDisabled: [] as string[], authorizationDetailsTypes: TYPES };
const PAYMENT = {
  type: 'payment_initiation',
  actions: ['initiate'],
  instructedAmount: { currency: 'EUR', amount: '12.00' },
  creditorName: 'Merchant',
};
const ACCOUNTS = { type: 'account_information', actions: ['list_accounts'], locations: ['https://bank.example/'] };

function refused(f: () => unknown, pattern: RegExp): void {
  assert.throws(
    f,
    (err: unknown) =>
      err instanceof OAuthError && err.code === 'invalid_authorization_details' && pattern.test(err.description),
  );
}

describe('TESSERA_AUTHORIZATION_DETAILS_TYPES', () => {
  it('parses TYPE and TYPE=FIELD|FIELD entries', () => {
    assert.deepEqual(TYPES, [
      { type: 'payment_initiation', fields: ['instructedAmount', 'creditorName'] },
      { type: 'account_information' },
    ]);
    assert.deepEqual(parseAuthorizationDetailsTypes(['https://api.example/types/payment'], []), [
      { type: 'https://api.example/types/payment' },
    ]);
  });
  it('reports bad entries by name', () => {
    const problems: string[] = [];
    parseAuthorizationDetailsTypes(['=x', 'a=b c', 'dup', 'dup', 'x=type'], problems);
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.ok(problems.every((p) => p.startsWith('TESSERA_AUTHORIZATION_DETAILS_TYPES')));
  });
});

describe('parseAuthorizationDetails', () => {
  it('accepts configured types with their fields and the common ones', () => {
    assert.deepEqual(parseAuthorizationDetails(JSON.stringify([PAYMENT, ACCOUNTS]), TYPES), [PAYMENT, ACCOUNTS]);
  });
  it('refuses malformed JSON, non-arrays, empty arrays and non-objects', () => {
    refused(() => parseAuthorizationDetails('[{"type":', TYPES), /not valid JSON/);
    refused(() => parseAuthorizationDetails(JSON.stringify(PAYMENT), TYPES), /must be a JSON array/);
    refused(() => parseAuthorizationDetails('[]', TYPES), /must not be empty/);
    refused(() => parseAuthorizationDetails('["payment_initiation"]', TYPES), /must be an object/);
    refused(() => parseAuthorizationDetails('[null]', TYPES), /must be an object/);
  });
  it('refuses unknown or missing types and fields the type does not allow', () => {
    refused(() => parseAuthorizationDetails('[{"type":"wire_transfer"}]', TYPES), /does not support/);
    refused(() => parseAuthorizationDetails('[{"actions":["x"]}]', TYPES), /has no type/);
    refused(() => parseAuthorizationDetails('[{"type":7}]', TYPES), /has no type/);
    refused(
      () => parseAuthorizationDetails(JSON.stringify([{ ...PAYMENT, debtorAccount: 'x' }]), TYPES),
      /does not allow/,
    );
  });
  it('checks the shapes of the common fields', () => {
    refused(
      () => parseAuthorizationDetails('[{"type":"account_information","actions":"read"}]', TYPES),
      /actions must be an array of strings/,
    );
    refused(
      () => parseAuthorizationDetails('[{"type":"account_information","locations":[1]}]', TYPES),
      /locations must be an array/,
    );
    refused(
      () => parseAuthorizationDetails('[{"type":"account_information","identifier":["x"]}]', TYPES),
      /identifier must be a string/,
    );
  });
  it('refuses oversized values and too many entries', () => {
    const big = JSON.stringify([
      { type: 'account_information', identifier: 'x'.repeat(MAX_AUTHORIZATION_DETAILS_LENGTH) },
    ]);
    refused(() => parseAuthorizationDetails(big, TYPES), /longer than/);
    refused(() => parseAuthorizationDetails(JSON.stringify(Array(11).fill(ACCOUNTS)), TYPES), /at most 10/);
  });
  it('is refused altogether when the feature is off or no type is configured', () => {
    refused(
      () =>
        readAuthorizationDetails(
          { featuresDisabled: ['rar'], authorizationDetailsTypes: TYPES },
          JSON.stringify([ACCOUNTS]),
        ),
      /not supported/,
    );
    refused(
      () =>
        readAuthorizationDetails({ featuresDisabled: [], authorizationDetailsTypes: [] }, JSON.stringify([ACCOUNTS])),
      /not supported/,
    );
  });
});

describe('narrowing at the token endpoint', () => {
  const granted = JSON.stringify([PAYMENT, ACCOUNTS]);
  it('keeps what was granted when nothing is asked for', () => {
    assert.deepEqual(narrowAuthorizationDetails(config, undefined, granted), [PAYMENT, ACCOUNTS]);
    assert.equal(narrowAuthorizationDetails(config, undefined, null), undefined);
  });
  it('accepts a subset, compared as JSON values (key order does not matter)', () => {
    const reordered = {
      creditorName: 'Merchant',
      instructedAmount: { amount: '12.00', currency: 'EUR' },
      actions: ['initiate'],
      type: 'payment_initiation',
    };
    assert.deepEqual(narrowAuthorizationDetails(config, JSON.stringify([reordered]), granted), [reordered]);
    assert.ok(isSubsetOf([ACCOUNTS], [PAYMENT, ACCOUNTS]));
  });
  it('refuses anything wider or altered, or details when none were granted', () => {
    refused(
      () =>
        narrowAuthorizationDetails(
          config,
          JSON.stringify([{ ...PAYMENT, instructedAmount: { currency: 'EUR', amount: '999.00' } }]),
          granted,
        ),
      /more than was authorized/,
    );
    refused(() => narrowAuthorizationDetails(config, JSON.stringify([ACCOUNTS]), null), /more than was authorized/);
  });
});

describe('describeAuthorizationDetails', () => {
  it('renders each field as text', () => {
    assert.deepEqual(describeAuthorizationDetails([PAYMENT]), [
      {
        type: 'payment_initiation',
        fields: [
          { name: 'actions', value: 'initiate' },
          { name: 'instructedAmount', value: '{"currency":"EUR","amount":"12.00"}' },
          { name: 'creditorName', value: 'Merchant' },
        ],
      },
    ]);
  });
});
