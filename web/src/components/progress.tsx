import { formatBytes, formatEta, formatSpeed, percent, plural } from '../format';
import { runningLabel } from '../game_view';
import type { ActiveOperation } from '../types';

const PHASE: Record<string, string> = {
  resolving: 'Asking peers for the file list',
  downloading: 'Downloading',
  starting: 'Starting',
  extracting: 'Extracting',
  copying: 'Copying',
  carrying: 'Carrying your files over',
  removing: 'Removing',
};

// Seconds without data after which a download is called stalled.
const STALLED_AFTER_S = 3;

export function phaseText(op: ActiveOperation): string {
  return PHASE[op.phase] ?? runningLabel(op);
}

export function Progress(props: { op: ActiveOperation; name: string }) {
  const { op, name } = props;
  const pct = percent(op.done, op.total);
  const transfer = op.kind === 'download' || op.kind === 'update';
  const downloading = transfer && op.phase === 'downloading';
  const verifiedPct = op.verified !== undefined ? percent(op.verified, op.total) : null;
  const stalled = downloading && (op.stalled_seconds ?? 0) >= STALLED_AFTER_S;

  const stats: string[] = [];
  if (transfer && op.total > 0) stats.push(`${formatBytes(op.done)} of ${formatBytes(op.total)}`);
  if (downloading && !stalled) {
    // No speed yet (the first second of a download): say only that the ETA is coming.
    if ((op.bytes_per_second ?? 0) > 0) stats.push(formatSpeed(op.bytes_per_second));
    stats.push(formatEta(op.eta_seconds));
  }
  if (downloading && op.active_peers !== undefined) stats.push(`from ${plural(op.active_peers, 'peer', 'peers')}`);

  return (
    <div class="progress">
      <div class="progress-head">
        <span class="phase">{phaseText(op)}</span>
        <span class="pct">{pct === null ? '' : `${pct}%`}</span>
      </div>
      <div
        class={`bar${pct === null ? ' indeterminate' : ''}${stalled ? ' stalled' : ''}`}
        role="progressbar"
        aria-label={`${runningLabel(op)} ${name}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct ?? undefined}
      >
        {pct !== null && <div class="fill received" style={{ width: `${pct}%` }} />}
        {verifiedPct !== null && <div class="fill verified" style={{ width: `${verifiedPct}%` }} />}
      </div>
      {stats.length > 0 && <div class="progress-stats">{stats.join(' · ')}</div>}
      {op.verified !== undefined && transfer && op.total > 0 && (
        <div class="progress-stats">{formatBytes(op.verified)} verified</div>
      )}
      {stalled && (
        <div class="progress-stats warn-text">
          No data for {Math.round(op.stalled_seconds ?? 0)} s — waiting for peers to answer
        </div>
      )}
    </div>
  );
}
