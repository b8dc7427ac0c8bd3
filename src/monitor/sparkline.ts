// A sparkline of a series in `width` cells: the series is cut into `width` slices of equal time,
// each cell shows its slice's mean scaled between the window's min and max. A slice with no value
// (every sample a gap, or none at all) is a blank: missing data never looks like a zero.

const BARS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

export interface Point {
  t: number;
  v: number | null;
}

export function sparkline(points: Point[], from: number, to: number, width: number): string {
  if (width <= 0) return '';
  const span = Math.max(1, to - from);
  const sums = new Array<number>(width).fill(0);
  const counts = new Array<number>(width).fill(0);
  for (const p of points) {
    if (p.v === null || !Number.isFinite(p.v) || p.t < from || p.t > to) continue;
    const i = Math.min(width - 1, Math.floor(((p.t - from) / span) * width));
    sums[i]! += p.v;
    counts[i]!++;
  }
  const means = sums.map((s, i) => (counts[i] ? s / counts[i]! : null));
  const vals = means.filter((x): x is number => x !== null);
  if (vals.length === 0) return ' '.repeat(width);
  const lo = Math.min(...vals);
  const hi = Math.max(...vals);
  return means
    .map((m) => {
      if (m === null) return ' ';
      if (hi === lo) return BARS[hi === 0 ? 0 : 3];
      return BARS[Math.min(BARS.length - 1, Math.floor(((m - lo) / (hi - lo)) * BARS.length))];
    })
    .join('');
}

/** Compact number for a narrow column: 1234 → 1.2k, 5.3e9 → 5.3G; bytes with `B` use 1024. */
export function compact(v: number | null, unit = ''): string {
  if (v === null || !Number.isFinite(v)) return '-';
  const base = unit === 'B' ? 1024 : 1000;
  const steps = unit === 'B' ? ['B', 'K', 'M', 'G', 'T'] : ['', 'k', 'M', 'G', 'T'];
  let x = Math.abs(v);
  let i = 0;
  while (x >= base && i < steps.length - 1) {
    x /= base;
    i++;
  }
  const s = x >= 100 || Number.isInteger(x) ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
  const sign = v < 0 ? '-' : '';
  if (unit === 'B') return `${sign}${s}${steps[i]}`;
  return `${sign}${s}${steps[i]}${unit === '%' ? '%' : ''}`;
}
