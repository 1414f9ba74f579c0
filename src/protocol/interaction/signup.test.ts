import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateSignup, type SignupInput } from '../../accounts/registration.ts';
import { signupProblemMsgs } from './signup.ts';

const ok: SignupInput = {
  username: 'bob',
  email: 'bob@example.com',
  name: 'Bob',
  password: 'a long passphrase',
  confirm: '',
};

describe('sign-up problems as catalog messages', () => {
  it('every problem the checks can find has its own message (none falls back to the general one)', () => {
    const cases: Partial<SignupInput>[] = [
      { username: '' },
      { username: '-x' },
      { email: '' },
      { email: 'not an address' },
      { name: 'x'.repeat(200) },
      { name: 'a\u0007b' },
      { password: '' },
      { password: 'short' },
      { password: 'x'.repeat(1100) },
      { password: 'bobbobbob', username: 'bobbobbob' },
      { password: 'password123' },
      { confirm: 'something else' },
    ];
    for (const change of cases) {
      const input = { ...ok, confirm: ok.password, ...change };
      if (change.password !== undefined && change.confirm === undefined) input.confirm = change.password;
      const problems = validateSignup(input, { emailRequired: true });
      assert.ok(Object.keys(problems).length > 0, JSON.stringify(change));
      for (const [field, m] of Object.entries(signupProblemMsgs(problems)))
        assert.notEqual(m.key, 'interaction.error.fieldInvalid', `${field}: ${JSON.stringify(problems)}`);
    }
  });
});
