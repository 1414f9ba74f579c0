// The README's performance block (bench/readme.ts) shows passkey sign-ins beside password sign-ins
// (issue 19, target 1), from the comparison's result file.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generate, passkeyLine } from '../../bench/readme.ts';
import type { BenchReport } from '../../bench/lib/report.ts';
import { REPO_ROOT } from '../../bench/lib/servers.ts';

const latest = JSON.parse(readFileSync(join(REPO_ROOT, 'bench/results/latest.json'), 'utf8')) as BenchReport;
const tessera = (scenario: string) => latest.results.find((r) => r.scenario === scenario && r.server === 'tessera')!;

describe('README performance block', () => {
  it('gives passkey sign-ins beside password sign-ins of the same run', () => {
    const line = passkeyLine(latest);
    assert.ok(line);
    assert.ok(line.includes(`${Math.round(tessera('passkey_flow').rps ?? 0)} flows/s`), line);
    assert.ok(line.includes(`against ${Math.round(tessera('authcode_flow').rps ?? 0)} flows/s`), line);
    assert.ok(generate().includes(line));
  });

  it('leaves the line out when the run has no passkey result', () => {
    const without = { ...latest, results: latest.results.filter((r) => r.scenario !== 'passkey_flow') };
    assert.equal(passkeyLine(without), undefined);
  });
});
