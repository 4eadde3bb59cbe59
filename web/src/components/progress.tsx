import { runningLabel } from '../game_view';
import { progressView } from '../progress_view';
import type { ActiveOperation } from '../types';

export function Progress(props: { op: ActiveOperation; name: string }) {
  const { op, name } = props;
  const v = progressView(op);
  return (
    <div class="progress">
      <div class="progress-head">
        <span class="phase">{v.phase}</span>
        <span class="pct">{v.pct === null ? '' : `${v.pct}%`}</span>
      </div>
      <div
        class={`bar${v.pct === null ? ' indeterminate' : ''}${v.stalledText ? ' stalled' : ''}`}
        role="progressbar"
        aria-label={`${runningLabel(op)} ${name}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={v.pct ?? undefined}
      >
        {v.pct !== null && <div class="fill received" style={{ width: `${v.pct}%` }} />}
        {v.verifiedPct !== null && <div class="fill verified" style={{ width: `${v.verifiedPct}%` }} />}
      </div>
      {v.stats.length > 0 && <div class="progress-stats">{v.stats.join(' · ')}</div>}
      {v.verifiedText && <div class="progress-stats">{v.verifiedText}</div>}
      {v.stalledText && <div class="progress-stats warn-text">{v.stalledText}</div>}
    </div>
  );
}
