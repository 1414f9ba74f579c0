// The dashboard's chart: tokens issued and sign-ins ok and failed over the last hours, from the
// per-minute figures every instance adds to (observability/stats.ts, stores.stats), so the chart
// shows all instances together. Read through runAction like every console read (permission, audit).
import { z } from 'zod';
import { defineAction } from '../admin/action.ts';
import type { ConsoleChart } from '../ui/console-pages.ts';

/** The spans the chart offers, hours → bucket minutes (about 36 to 60 points each). */
export const SPANS: Readonly<Record<string, number>> = { '1': 1, '6': 10, '24': 30, '48': 60 };
const FIGURES = [
  { name: 'tokens_issued', label: 'Tokens issued' },
  { name: 'sign_ins_ok', label: 'Sign-ins ok' },
  { name: 'sign_ins_failed', label: 'Sign-ins failed' },
] as const;

/** Buckets of `bucketMinutes` over [from, to) and each figure's sum per bucket (missing minutes count 0). */
export function bucketed(
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
export function spanOf(hours: string, now: number): { from: number; to: number; size: number } {
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
    title: `Last ${hours} hour${hours === '1' ? '' : 's'}`,
    buckets,
    series: FIGURES.map((f) => ({ name: f.name, label: f.label, values: series[f.name]! })),
  };
  const totals = Object.fromEntries(FIGURES.map((f) => [f.name, series[f.name]!.reduce((a, b) => a + b, 0)]));
  return { chart, totals };
}

/**
 * The figures of the last `hours` (console-only until the dashboard action carries them; then the
 * console reads those). Its result is the chart's data.
 */
export const figuresAction = defineAction({
  name: 'console.figures',
  summary: 'Tokens issued and sign-ins ok and failed per interval over the last hours, all instances together.',
  permission: 'admin:dashboard:read',
  event: 'admin_dashboard_read',
  consoleOnly: 'the chart of the console dashboard (the API has the dashboard summary)',
  input: z.object({ hours: z.enum(Object.keys(SPANS) as [string, ...string[]]).default('6') }).strict(),
  async run(ctx, input) {
    const { from, to } = spanOf(input.hours, ctx.now);
    const { chart, totals } = chartOf(await ctx.stores.stats.range(from, to), input.hours, ctx.now);
    return { result: { chart, totals }, details: { hours: Number(input.hours) } };
  },
});
