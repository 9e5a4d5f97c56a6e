/** Small, pure formatting helpers (no Vue). */

/** 950 -> "950 ms", 3200 -> "3.2 s", 72000 -> "1m 12s", 3_780_000 -> "1h 3m". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return '—';
  const safe = Math.max(0, ms);
  if (safe < 1000) return `${Math.round(safe)} ms`;
  if (safe < 10_000) return `${(Math.floor(safe / 100) / 10).toFixed(1)} s`;
  const totalSeconds = Math.floor(safe / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m ${seconds}s`;
  return `${seconds} s`;
}

/** A ticking clock-style duration: 4000 -> "0:04", 252000 -> "4:12", 3_723_000 -> "1:02:03". */
export function formatElapsed(ms: number): string {
  const totalSeconds = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = String(totalSeconds % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/** Countdown to a future moment: 252000 -> "4m 12s", 45000 -> "45s", 7_260_000 -> "2h 1m". */
export function formatCountdown(ms: number): string {
  const totalSeconds = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m ${String(seconds).padStart(2, '0')}s`;
  return `${seconds}s`;
}

/** "5s ago", "3m ago", "2h ago", "4d ago"; future or unknown -> "just now" / "—". */
export function formatAgo(iso: string | null | undefined, now: number): string {
  if (!iso) return '—';
  const diff = now - Date.parse(iso);
  if (!Number.isFinite(diff)) return '—';
  if (diff < 5000) return 'just now';
  const s = Math.floor(diff / 1000);
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.floor(h / 24)}d ago`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateTimeShort = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** Local time of day, e.g. "16:00:05". */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  return Number.isFinite(t) ? timeOnly.format(t) : '—';
}

/**
 * A moment (epoch ms) as a local time of day, "16:00:05", with the date in front when it is not today (relative to
 * `today`, epoch ms): "Jan 26, 16:00:05". For "as of" and "since" marks.
 */
export function formatClock(ms: number, today: number = Date.now()): string {
  const a = new Date(ms);
  const b = new Date(today);
  const sameDay = a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
  return (sameDay ? timeOnly : dateTime).format(ms);
}

/** Local date and time, e.g. "Jan 27, 16:00:05" (with seconds unless `seconds` is false). */
export function formatDateTime(iso: string | null | undefined, seconds = true): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  return Number.isFinite(t) ? (seconds ? dateTime : dateTimeShort).format(t) : '—';
}

/** Interval in seconds as words: 300 -> "5 min", 90 -> "1 min 30 s", 7200 -> "2 h". */
export function formatInterval(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) {
    const m = Math.floor(seconds / 60);
    const s = seconds % 60;
    return s ? `${m} min ${s} s` : `${m} min`;
  }
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return m ? `${h} h ${m} min` : `${h} h`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
