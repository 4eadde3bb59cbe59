import { useEffect } from 'preact/hooks';
import type { Notice } from '../state';

// Errors stay until dismissed; good news fades after a while.
const FADE_MS = 6000;

function NoticeItem(props: { notice: Notice; onDismiss: (key: number) => void }) {
  const { notice, onDismiss } = props;
  useEffect(() => {
    if (notice.tone === 'error') return undefined;
    const t = setTimeout(() => onDismiss(notice.key), FADE_MS);
    return () => clearTimeout(t);
  }, [notice.key, notice.tone, onDismiss]);
  return (
    <li class={`notice ${notice.tone}`} role={notice.tone === 'error' ? 'alert' : 'status'}>
      <span>{notice.text}</span>
      <button type="button" class="dismiss" aria-label="Dismiss" onClick={() => onDismiss(notice.key)}>
        ×
      </button>
    </li>
  );
}

export function Notices(props: { notices: Notice[]; onDismiss: (key: number) => void }) {
  return (
    <ul class="notices" aria-live="polite">
      {props.notices.map((n) => (
        <NoticeItem key={n.key} notice={n} onDismiss={props.onDismiss} />
      ))}
    </ul>
  );
}
