// How sizes, speeds, durations and progress read on the page. Binary units with IEC names
// (a 1 GiB game is 1,073,741,824 bytes), one decimal below 10 units so a number never jumps
// between widths needlessly.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // 9.96 would round to "10.0"; show it as 10 instead.
  const text = value < 9.95 ? value.toFixed(1) : String(Math.round(value));
  if (text === '1024' && unit < UNITS.length - 1) return `1.0 ${UNITS[unit + 1]}`;
  return `${text} ${UNITS[unit]}`;
}

export function formatSpeed(bytesPerSecond: number | undefined | null): string {
  if (bytesPerSecond == null || !Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return '—';
  return `${formatBytes(bytesPerSecond)}/s`;
}

// "45 s", "12 min 5 s", "3 h 20 min", "2 d 4 h"; unknown or absurd values read as unknown.
export function formatDuration(seconds: number | undefined | null): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  if (d > 365) return '—';
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

export function formatEta(seconds: number | undefined | null): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return 'estimating time left';
  if (seconds < 1) return 'almost done';
  const d = formatDuration(seconds);
  return d === '—' ? 'estimating time left' : `${d} left`;
}

// Whole percent, floored, so 100 % appears only when everything is done; null when the total
// is unknown (the bar is then shown as busy without a number).
export function percent(done: number, total: number): number | null {
  if (!Number.isFinite(total) || total <= 0 || !Number.isFinite(done)) return null;
  const p = Math.floor((Math.max(0, done) / total) * 100);
  return Math.min(100, p);
}

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

// "just now", "12 s ago", "3 min ago".
export function formatAgo(ms: number): string {
  if (!Number.isFinite(ms) || ms < 2000) return 'just now';
  return `${formatDuration(ms / 1000)} ago`;
}
