// The README paragraphs of the modes other than the comparison (bench/readme.ts): each renders
// its own result file when it exists.
import type { LatencyReport } from './latency.ts';
import type { SoakReport } from './soak.ts';

/** A paragraph rendered from one result file, when it exists. */
export interface Section {
  file: string;
  render(report: unknown): string[];
}

const soak = (file: string, label: string): Section => ({
  file,
  render(report) {
    const r = report as SoakReport;
    const v = r.verdicts;
    return [
      `**Soak, ${label}** (\`${r.command}\`, ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC; raw: \`bench/results/${file}.json\`): ` +
        `${r.scenario} at ${Math.round(r.targetRps)} req/s (70% of the measured peak of ${Math.round(r.peak.rps ?? 0)}) for ${r.durationS} s: ` +
        `${Math.round(v.rate.achievedRps)} req/s held; ${v.errors.failedRequests} failed requests and ${v.errors.serverLoggedErrors} errors logged; ` +
        `RSS ${v.rss.minMB}-${v.rss.maxMB} MB after the warm-up, slope ${v.rssSlope ? v.rssSlope.mbPerMin.toFixed(2) : '-'} MB/min ` +
        `(${v.rssSlope?.flat ? 'flat' : 'not flat'}; target under 1` +
        (v.rssSlope?.secondHalfMBPerMin != null
          ? `; ${v.rssSlope.secondHalfMBPerMin.toFixed(2)} MB/min over the second half of the soak alone`
          : '') +
        `); p99 ${v.p99.minMs}-${v.p99.maxMs} ms.`,
    ];
  },
});

const latency = (file: string, label: string): Section => ({
  file,
  render(report) {
    const r = report as LatencyReport;
    const lines = [
      `**Latency under open load, ${label}** (\`${r.command}\`, ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC; raw: ` +
        `\`bench/results/${file}.json\`, \`.md\`): requests sent on a fixed schedule whatever the server does, each ` +
        'latency counted from when the request was due (coordinated omission corrected); the highest rate at which p99 ' +
        'stays under 50 ms with no error:',
      '',
    ];
    for (const sc of r.scenarios) {
      const of = (server: string) => sc.servers.find((x) => x.server === server);
      const t = of('tessera');
      const o = of('oidc-provider');
      const best = (x: typeof t) =>
        x?.bestRate === undefined
          ? '-'
          : `${Math.round(x.bestRate)}/s${x.end === 'bracketed' ? '' : ' (lower bound: the search ended on steps that did not count)'}`;
      lines.push(
        `- ${sc.scenario}: Tessera ${best(t)}, node-oidc-provider ${best(o)}` +
          (sc.ratio === undefined ? '' : `, ratio **${sc.ratio.toFixed(2)}x** (target 2.0x)`) +
          '.',
      );
    }
    return lines;
  },
});

export const SECTIONS: Section[] = [
  latency('latency-latest', 'SQLite'),
  latency('postgres-latency-latest', 'PostgreSQL + Redis'),
  soak('soak-postgres-2-latest', 'PostgreSQL + Redis, 2 instances'),
];
