// What a progress bar says about a running operation (pure; tested in
// test/progress_view.test.ts). Uses the daemon's figures as they come: speed and ETA only
// once the daemon knows them, verified bytes and stalls when it reports them.
import { formatBytes, formatEta, formatSpeed, percent, plural } from './format';
import { runningLabel } from './game_view';
import type { ActiveOperation } from './types';

const PHASE: Record<string, string> = {
  resolving: 'Asking peers for the file list',
  checking: 'Checking the files already here',
  downloading: 'Downloading',
  waiting_for_peers: 'Waiting for peers',
  committing: 'Finishing',
  starting: 'Starting',
  waiting_for_game: 'Waiting for the game to close',
  extracting: 'Extracting',
  copying: 'Copying',
  carrying: 'Carrying your files over',
  removing: 'Removing',
};

// Seconds without data after which a download is called stalled.
export const STALLED_AFTER_S = 3;

export interface ProgressView {
  phase: string;
  // Whole percent of done/total; null when the total is not known (a busy bar).
  pct: number | null;
  // Percent verified, drawn solid under the received part; null when not reported.
  verifiedPct: number | null;
  stats: string[];
  verifiedText: string | null;
  stalledText: string | null;
}

export function progressView(op: ActiveOperation): ProgressView {
  const pct = percent(op.done, op.total);
  const transfer = op.kind === 'download' || op.kind === 'update' || op.kind === 'verify';
  const waiting = transfer && op.phase === 'waiting_for_peers';
  const downloading = transfer && op.phase === 'downloading';
  const verifiedPct = transfer && op.verified !== undefined ? percent(op.verified, op.total) : null;
  const stalled = (downloading && (op.stalled_seconds ?? 0) >= STALLED_AFTER_S) || waiting;

  const stats: string[] = [];
  if (transfer && op.total > 0) stats.push(`${formatBytes(op.done)} of ${formatBytes(op.total)}`);
  if (downloading && !stalled) {
    if ((op.bytes_per_second ?? 0) > 0) stats.push(formatSpeed(op.bytes_per_second));
    stats.push(formatEta(op.eta_seconds));
  }
  if (downloading && op.active_peers !== undefined) stats.push(`from ${plural(op.active_peers, 'peer', 'peers')}`);

  return {
    phase: PHASE[op.phase] ?? runningLabel(op),
    pct,
    verifiedPct,
    stats,
    verifiedText: verifiedPct !== null && op.verified !== undefined && op.verified < op.done ? `${formatBytes(op.verified)} verified` : null,
    stalledText: waiting
      ? `No peer offers this version right now — it goes on when one is back (${Math.round(op.stalled_seconds ?? 0)} s so far)`
      : stalled
        ? `No data for ${Math.round(op.stalled_seconds ?? 0)} s — waiting for peers to answer`
        : null,
  };
}
