/**
 * Least-squares slopes of the soak run's memory curves, in MB per hour (10^6 bytes, the unit
 * of issue 13), with the standard error of each slope so that a slope inside its own noise
 * is not read as growth.
 *
 * @module
 */

/** A fitted line over (seconds, bytes) points. */
export interface Slope {
  /** Growth in MB (10^6 bytes) per hour. */
  mbPerHour: number;
  /** Standard error of that slope, MB/h. */
  stdErr: number;
  /** Points fitted. */
  points: number;
  /** Seconds covered. */
  seconds: number;
  /** The fitted value at the first and last point, bytes. */
  first: number;
  last: number;
}

/**
 * Fits `y = a + b t` to the points. Returns null for fewer than three points or no time span.
 *
 * @param t - seconds
 * @param y - bytes
 */
export function fitSlope(t: readonly number[], y: readonly number[]): Slope | null {
  const n = Math.min(t.length, y.length);
  if (n < 3) return null;
  let st = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    st += t[i] as number;
    sy += y[i] as number;
  }
  const mt = st / n;
  const my = sy / n;
  let stt = 0;
  let sty = 0;
  for (let i = 0; i < n; i++) {
    const dt = (t[i] as number) - mt;
    stt += dt * dt;
    sty += dt * ((y[i] as number) - my);
  }
  if (stt === 0) return null;
  const b = sty / stt;
  const a = my - b * mt;
  let sse = 0;
  for (let i = 0; i < n; i++) {
    const r = (y[i] as number) - (a + b * (t[i] as number));
    sse += r * r;
  }
  const se = Math.sqrt(sse / (n - 2) / stt);
  const perHour = 3600 / 1e6;
  const t0 = t[0] as number;
  const t1 = t[n - 1] as number;
  return { mbPerHour: b * perHour, stdErr: se * perHour, points: n, seconds: t1 - t0, first: a + b * t0, last: a + b * t1 };
}

/** `+12.3 ± 4.5 MB/h` (or `-` without a fit). */
export function formatSlope(s: Slope | null): string {
  if (s === null) return '-';
  const sign = s.mbPerHour >= 0 ? '+' : '';
  return `${sign}${s.mbPerHour.toFixed(1)} ± ${s.stdErr.toFixed(1)} MB/h`;
}
