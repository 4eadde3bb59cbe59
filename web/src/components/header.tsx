import type { Connection } from '../state';
import type { Status } from '../types';

export type View = 'library' | 'peers' | 'settings';

const CONNECTION_TEXT: Record<Connection, string> = {
  loading: 'Connecting',
  live: 'Live',
  reconnecting: 'Reconnecting',
  unauthorized: 'Logged out',
};

export function Header(props: { view: View; status: Status | null; peerCount: number; connection: Connection }) {
  const { view, status, peerCount, connection } = props;
  const tab = (v: View, label: string, count?: number) => (
    <a href={`#/${v}`} class="tab" aria-current={view === v ? 'page' : undefined}>
      {label}
      {count !== undefined && <span class="tab-count">{count}</span>}
    </a>
  );
  return (
    <header class="top">
      <div class="brand">
        <svg class="logo" viewBox="0 0 32 32" aria-hidden="true">
          <rect width="32" height="32" rx="7" />
          <path d="M9 8v16h14" />
          <circle cx="22" cy="10" r="3" />
        </svg>
        <span class="brand-name">lanspread</span>
        {status && <span class="machine" title={`peer id ${status.peer_id}`}>{status.name}</span>}
      </div>
      <nav class="tabs" aria-label="Views">
        {tab('library', 'Library')}
        {tab('peers', 'Peers', peerCount)}
        {tab('settings', 'Settings')}
      </nav>
      <div class={`conn conn-${connection}`} role="status" title="Connection to the daemon on this machine">
        <span class="dot" aria-hidden="true" />
        {CONNECTION_TEXT[connection]}
      </div>
    </header>
  );
}
