import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { bool, pageInput } from '../admin/action.ts';
import { msg } from '../i18n/catalog.ts';
import { data } from '../ui/console-pages.ts';
import { fieldsFor, inputFrom, membersOf, SHOWN } from './forms.ts';

const schema = z
  .object({
    client_id: z.string().min(1),
    client_name: z.string().max(100).optional().describe('Shown on the consent page'),
    email: z.email().optional(),
    logo_uri: z.url().optional(),
    disabled: bool().optional(),
    admin_client: z.boolean().optional(),
    grant_types: z.array(z.enum(['authorization_code', 'refresh_token', 'client_credentials'])).optional(),
    redirect_uris: z.array(z.string()).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    ...pageInput,
  })
  .strict();

describe('console forms from action schemas', () => {
  it('reads each member as the field it becomes', () => {
    const m = Object.fromEntries(membersOf(schema).map((x) => [x.name, x]));
    assert.equal(m.client_id!.kind, 'text');
    assert.equal(m.client_id!.required, true);
    assert.equal(m.client_name!.required, false);
    assert.equal(m.client_name!.description, 'Shown on the consent page');
    assert.equal(m.email!.kind, 'email');
    assert.equal(m.logo_uri!.kind, 'url');
    assert.equal(m.disabled!.boolean, true);
    assert.equal(m.admin_client!.boolean, true);
    assert.equal(m.grant_types!.kind, 'checkboxes');
    assert.deepEqual(m.grant_types!.options, ['authorization_code', 'refresh_token', 'client_credentials']);
    assert.equal(m.redirect_uris!.kind, 'lines');
    assert.equal(m.metadata!.kind, 'json');
    assert.equal(m.limit!.kind, 'number');
    assert.equal(m.limit!.required, false);
    assert.equal(m.limit!.defaultValue, 50);
    assert.deepEqual(membersOf(z.string()), []);
  });

  it('turns a submitted form into input the schema accepts, leaving empty optional fields out', () => {
    const members = membersOf(schema);
    const params = new URLSearchParams([
      ['client_id', 'web'],
      ['client_name', '  Web App  '],
      ['email', ''],
      ['disabled', 'true'],
      ['admin_client', 'false'],
      ['grant_types', 'authorization_code'],
      ['grant_types', 'refresh_token'],
      ['redirect_uris', 'https://a.example/cb\r\n\r\n  https://b.example/cb '],
      ['metadata', '{"a": 1}'],
      ['limit', '20'],
      ['csrf', 'ignored'],
      ['not_a_member', 'ignored'],
    ]);
    const { input, problems } = inputFrom(members, params);
    assert.deepEqual(problems, []);
    assert.deepEqual(input, {
      client_id: 'web',
      client_name: 'Web App',
      disabled: true,
      admin_client: false,
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: ['https://a.example/cb', 'https://b.example/cb'],
      metadata: { a: 1 },
      limit: 20,
    });
    assert.equal(schema.safeParse(input).success, true);
  });

  it('an unticked set of checkboxes the form showed is "none"; one it did not show is left out', () => {
    const members = membersOf(schema);
    assert.deepEqual(inputFrom(members, new URLSearchParams({ [SHOWN]: 'grant_types' })).input, { grant_types: [] });
    assert.deepEqual(inputFrom(members, new URLSearchParams()).input, {});
  });

  it('reports JSON that does not parse and a member given twice, and keeps what was typed', () => {
    const members = membersOf(schema);
    const r = inputFrom(
      members,
      new URLSearchParams([
        ['metadata', '{oops'],
        ['client_id', 'a'],
        ['client_id', 'b'],
      ]),
    );
    assert.deepEqual(r.problems.map((p) => p.field).sort(), ['client_id', 'metadata']);
    assert.equal(r.typed.metadata, '{oops');
  });

  it('a required field left empty reaches the schema, which refuses it', () => {
    const { input } = inputFrom(membersOf(schema), new URLSearchParams({ client_id: ' ' }));
    assert.equal(input.client_id, '');
    assert.equal(schema.safeParse(input).success, false);
  });

  it('fills fields from a record and marks the fields problems name', () => {
    const fields = fieldsFor(
      membersOf(schema),
      {
        client_name: 'Web',
        redirect_uris: ['https://a/cb', 'https://b/cb'],
        disabled: false,
        grant_types: ['refresh_token'],
      },
      [{ field: 'client_name', message: 'Too long.' }],
    );
    const f = Object.fromEntries(fields.map((x) => [x.name, x]));
    assert.equal(f.client_name!.value, 'Web');
    assert.deepEqual(f.client_name!.error, [data('Too long.')]);
    assert.deepEqual(f.client_name!.label, msg('console.field.client_name'));
    assert.equal(f.redirect_uris!.value, 'https://a/cb\nhttps://b/cb');
    assert.equal(f.disabled!.value, 'false');
    assert.deepEqual(f.disabled!.options, [
      { value: 'true', label: msg('console.form.yes') },
      { value: 'false', label: msg('console.form.no') },
    ]);
    assert.deepEqual(f.grant_types!.values, ['refresh_token']);
    assert.equal(f.limit!.value, '50');
  });
});
