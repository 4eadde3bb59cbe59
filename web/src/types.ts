// The daemon's JSON, as docs/api.md describes it. Fields marked optional are newer than the
// first API version or filled only for some operations; the page shows them when present.

export type OperationKind = 'download' | 'install' | 'update' | 'uninstall' | 'remove' | 'verify';

export interface ActiveOperation {
  kind: OperationKind;
  phase: string;
  done: number;
  total: number;
  bytes_per_second?: number;
  eta_seconds?: number | null;
  active_peers?: number;
  verified?: number;
  stalled_seconds?: number;
}

export interface Game {
  id: string;
  name: string;
  description: string;
  genre: string;
  max_players: number;
  downloaded: boolean;
  installed: boolean;
  local_version: string;
  local_size: number;
  latest_version: string;
  latest_size?: number;
  latest_peers: string[];
  peers_by_version: Record<string, string[]>;
  update_available: boolean;
  available: boolean;
  // Set while the peers that offer the latest version disagree about its files.
  manifest_disagreement?: ManifestDisagreement | null;
  active_operation: ActiveOperation | null;
}

export interface ManifestDisagreement {
  version: string;
  groups: number[];
  agreeing: number;
  dissenting: number;
}

export interface GamesBody {
  local_revision: number;
  games: Game[];
}

export interface Peer {
  id: string;
  name: string;
  addresses: string[];
  port: number;
  game_count: number;
  last_seen_ms_ago: number;
  bytes_per_second_in?: number;
  bytes_per_second_out?: number;
}

export interface Status {
  peer_id: string;
  name: string;
  games_dir: string;
  quic_port: number;
  version: string;
  peer_count: number;
  event_seq: number;
  discovery?: Discovery;
}

// How peers are found: `state` is starting, waiting_for_interface, running, restarting or off.
export interface Discovery {
  state: string;
  interfaces: string[];
}

// A peer named by address (Settings, `serve --peer`, `peer =` in the settings file).
export interface ManualPeer {
  address: string;
  peer_id: string | null;
  listed: boolean;
}

// GET /api/v1/settings: what the daemon runs with.
export interface DaemonSettings {
  games_dir: string;
  peers: string[];
  interfaces: string[];
  all_interfaces: boolean;
  config_file: string;
}

// One message of the event stream. `missed` (no seq) is the stream's own note that events
// were dropped for a slow client.
export interface ApiEvent {
  seq?: number;
  type: string;
  data: unknown;
}
