// Games, peers and statuses shaped like the daemon's JSON (docs/api.md), for the tests.
import type { ActiveOperation, Game, Peer, Status } from '../src/types';

export function game(over: Partial<Game> = {}): Game {
  return {
    id: 'openarena',
    name: 'OpenArena',
    description: 'Fast arena shooter.',
    genre: 'Arena shooter',
    max_players: 16,
    downloaded: false,
    installed: false,
    local_version: '',
    local_size: 0,
    latest_version: '20241002',
    latest_size: 512 * 1024 * 1024,
    latest_peers: ['peer-b'],
    peers_by_version: { '20241002': ['peer-b'] },
    update_available: false,
    available: true,
    active_operation: null,
    ...over,
  };
}

export function op(over: Partial<ActiveOperation> = {}): ActiveOperation {
  return { kind: 'download', phase: 'downloading', done: 0, total: 1000, bytes_per_second: 0, eta_seconds: null, active_peers: 1, ...over };
}

export function peer(id: string, name = id): Peer {
  return { id, name, addresses: ['198.18.0.2:7979'], port: 7979, game_count: 0, last_seen_ms_ago: 0 };
}

export function status(over: Partial<Status> = {}): Status {
  return { peer_id: 'me', name: 'alice', games_dir: '/games', quic_port: 7979, version: '0.1.0', peer_count: 1, event_seq: 10, ...over };
}
