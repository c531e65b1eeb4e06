/** Timing helpers for the benchmark: repeat a step, keep every sample, summarise. */
export interface Summary {
  median_ms: number;
  p99_ms: number;
  mean_ms: number;
  runs: number;
}

export function summarise(samplesMs: number[]): Summary {
  const s = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { median_ms: round(at(0.5)), p99_ms: round(at(0.99)), mean_ms: round(mean), runs: s.length };
}

export async function timeRuns(runs: number, warmup: number, step: (i: number) => Promise<unknown> | unknown): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await step(i);
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await step(warmup + i);
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
