import { formatAgo, formatSpeed, plural } from '../format';
import type { Peer } from '../types';

export function Peers(props: { peers: Record<string, Peer>; gamesOfPeers: Map<string, string[]> }) {
  const peers = Object.values(props.peers).sort((a, b) => a.name.localeCompare(b.name));
  if (peers.length === 0) {
    return (
      <section class="panel empty-panel" aria-label="Peers">
        <h2>No peers yet — start lanspread on another machine on this network</h2>
        <p>Machines running lanspread on the same network find each other by themselves within a few seconds; there is nothing to type in.</p>
        <p class="muted">
          If one does not show up: both must be on the same network segment, a firewall must let UDP port 5353 (mDNS) and
          the QUIC port (UDP 7979 by default) through, and when a party key is used every machine needs the same one.
        </p>
      </section>
    );
  }
  return (
    <section aria-label="Peers">
      <ul class="peers">
        {peers.map((p) => {
          const names = props.gamesOfPeers.get(p.id) ?? [];
          const games = names.length || p.game_count;
          const rates = p.bytes_per_second_in !== undefined || p.bytes_per_second_out !== undefined;
          return (
            <li class="peer" data-peer={p.id}>
              <div class="peer-main">
                <span class="peer-name">{p.name || p.id.slice(0, 12)}</span>
                <span class="peer-id" title={p.id}>
                  {p.id.slice(0, 12)}
                </span>
              </div>
              <div class="peer-addresses">
                {p.addresses.map((a) => (
                  <code>{a}</code>
                ))}
              </div>
              <div class="peer-games">{names.length > 0 ? names.join(', ') : <span class="muted">No games of the catalog</span>}</div>
              <div class="peer-stats">
                <span>{plural(games, 'game', 'games')}</span>
                {rates && (
                  <span>
                    ↓ {formatSpeed(p.bytes_per_second_in)} ↑ {formatSpeed(p.bytes_per_second_out)}
                  </span>
                )}
                <span class="muted">seen {formatAgo(p.last_seen_ms_ago)}</span>
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
