// The README paragraphs of the modes other than the comparison (bench/readme.ts): each renders
// its own result file when it exists.
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
        `(${v.rssSlope?.flat ? 'flat' : 'not flat'}; target under 1); p99 ${v.p99.minMs}-${v.p99.maxMs} ms.`,
    ];
  },
});

export const SECTIONS: Section[] = [
  soak('soak-latest', 'SQLite, one instance'),
  soak('soak-postgres-2-latest', 'PostgreSQL + Redis, 2 instances'),
];
