// The dashboard's chart: tokens issued and sign-ins ok and failed over the last hours, drawn from
// the per-minute figures the dashboard action (dashboard.read) gives, summed into buckets that suit
// the span shown (about 36 to 60 points).
import { DASHBOARD_FIGURES } from '../admin/actions/dashboard.ts';
import { msg, type Msg } from '../i18n/catalog.ts';
import type { ConsoleChart } from '../ui/console-pages.ts';

/** The spans the chart offers, hours → bucket minutes (about 36 to 60 points each). */
export const SPANS: Readonly<Record<string, number>> = { '1': 1, '6': 10, '24': 30, '48': 60 };
/** How the chart and the dashboard's facts name each figure. */
const LABELS: Record<(typeof DASHBOARD_FIGURES)[number], Msg> = {
  tokens_issued: msg('console.figure.tokens_issued'),
  sign_ins_ok: msg('console.figure.sign_ins_ok'),
  sign_ins_failed: msg('console.figure.sign_ins_failed'),
};
const FIGURES = DASHBOARD_FIGURES.map((name) => ({ name, label: LABELS[name] }));

/** Buckets of `bucketMinutes` over [from, to) and each figure's sum per bucket (missing minutes count 0). */
function bucketed(
  rows: readonly { minute: number; values: Record<string, number> }[],
  from: number,
  to: number,
  bucketMinutes: number,
): { buckets: number[]; series: Record<string, number[]> } {
  const size = bucketMinutes * 60;
  const buckets: number[] = [];
  for (let t = from; t < to; t += size) buckets.push(t);
  const series: Record<string, number[]> = {};
  for (const f of FIGURES) series[f.name] = buckets.map(() => 0);
  for (const r of rows) {
    const i = Math.floor((r.minute - from) / size);
    if (i < 0 || i >= buckets.length) continue;
    for (const f of FIGURES) series[f.name]![i]! += r.values[f.name] ?? 0;
  }
  return { buckets, series };
}

/** The minutes [from, to) of the last `hours` (one of SPANS), the current bucket included. */
function spanOf(hours: string, now: number): { from: number; to: number; size: number } {
  const size = (SPANS[hours] ?? 10) * 60;
  const to = (Math.floor(now / size) + 1) * size;
  return { from: to - Number(hours) * 3600, to, size };
}

/** The chart of the last `hours` from per-minute rows, and each figure's total. */
export function chartOf(
  rows: readonly { minute: number; values: Record<string, number> }[],
  hours: string,
  now: number,
): { chart: ConsoleChart; totals: Record<string, number> } {
  const { from, to, size } = spanOf(hours, now);
  const { buckets, series } = bucketed(rows, from, to, size / 60);
  const chart: ConsoleChart = {
    title: hours === '1' ? msg('console.chart.lastHour') : msg('console.chart.lastHours', { hours }),
    buckets,
    series: FIGURES.map((f) => ({ name: f.name, label: f.label, values: series[f.name]! })),
  };
  const totals = Object.fromEntries(FIGURES.map((f) => [f.name, series[f.name]!.reduce((a, b) => a + b, 0)]));
  return { chart, totals };
}
