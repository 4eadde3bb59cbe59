// The page's state and the one reducer that folds API answers and the daemon's events into
// it (pure; tested in test/state.test.ts). Events carry whole snapshots (library, active
// operations) or single facts (a peer joined, an operation failed), so replaying an event
// already seen is harmless; events older than `since` are skipped all the same.
import type { ActiveOperation, ApiEvent, Game, GamesBody, Peer, Status } from './types';

export type Connection = 'loading' | 'live' | 'reconnecting' | 'unauthorized';

export type NoticeTone = 'error' | 'info' | 'success';

export interface Notice {
  key: number;
  tone: NoticeTone;
  text: string;
  gameId?: string;
}

export interface State {
  status: Status | null;
  games: Game[];
  peers: Record<string, Peer>;
  operations: Record<string, ActiveOperation>;
  notices: Notice[];
  connection: Connection;
  // The seq of the next event wanted from the stream.
  since: number;
  nextNoticeKey: number;
}

export const MAX_NOTICES = 5;

export const initialState: State = {
  status: null,
  games: [],
  peers: {},
  operations: {},
  notices: [],
  connection: 'loading',
  since: 0,
  nextNoticeKey: 1,
};

export type Msg =
  // A fresh read of /status, /games and /peers (start, reconnect after a restart, `missed`).
  | { type: 'snapshot'; status: Status; games: GamesBody; peers: Peer[] }
  | { type: 'event'; event: ApiEvent }
  | { type: 'connection'; connection: Connection }
  // The daemon refused a request (its reason), or a request failed on the way.
  | { type: 'notice'; tone: NoticeTone; text: string; gameId?: string }
  | { type: 'dismiss'; key: number }
  // A fresh read of /peers (their last-seen times age; events do not carry that).
  | { type: 'peers'; peers: Peer[] }
  | { type: 'games_dir'; path: string };

function operationsOf(games: Game[]): Record<string, ActiveOperation> {
  const ops: Record<string, ActiveOperation> = {};
  for (const g of games) if (g.active_operation) ops[g.id] = g.active_operation;
  return ops;
}

function addNotice(state: State, tone: NoticeTone, text: string, gameId?: string): State {
  const notice: Notice = { key: state.nextNoticeKey, tone, text, ...(gameId ? { gameId } : {}) };
  // A newer notice about the same game replaces the older one.
  const kept = state.notices.filter((n) => !(gameId && n.gameId === gameId));
  return {
    ...state,
    notices: [...kept, notice].slice(-MAX_NOTICES),
    nextNoticeKey: state.nextNoticeKey + 1,
  };
}

function gameName(state: State, id: string): string {
  return state.games.find((g) => g.id === id)?.name || id;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function withoutKey<T>(record: Record<string, T>, key: string): Record<string, T> {
  if (!(key in record)) return record;
  const copy = { ...record };
  delete copy[key];
  return copy;
}

const DONE_TEXT: Record<string, string> = {
  download: 'downloaded',
  update: 'updated',
  install: 'installed',
  uninstall: 'uninstalled',
  remove: 'removed',
};

function applyEvent(state: State, event: ApiEvent): State {
  if (typeof event.seq === 'number') {
    if (event.seq < state.since) return state; // seen already
    state = { ...state, since: event.seq + 1 };
  }
  const d = isRecord(event.data) ? event.data : {};
  const id = str(d.id);
  switch (event.type) {
    case 'library': {
      const games = Array.isArray(d.games) ? (d.games as Game[]) : state.games;
      return { ...state, games, operations: operationsOf(games) };
    }
    case 'peer_joined':
      return id ? { ...state, peers: { ...state.peers, [id]: d as unknown as Peer } } : state;
    case 'peer_left':
      return { ...state, peers: withoutKey(state.peers, id) };
    case 'peer_count':
      return state.status ? { ...state, status: { ...state.status, peer_count: num(d.count) } } : state;
    case 'games_dir_changed':
      return state.status ? { ...state, status: { ...state.status, games_dir: str(d.path) } } : state;
    case 'games_dir_rejected':
      return addNotice(state, 'error', `Games folder ${str(d.path)} was refused: ${str(d.reason)}`);
    case 'active_operations': {
      const ops = isRecord(d.operations) ? (d.operations as Record<string, ActiveOperation>) : {};
      return { ...state, operations: ops };
    }
    case 'operation_begin': {
      if (!id || state.operations[id]) return state;
      const op: ActiveOperation = { kind: str(d.kind) as ActiveOperation['kind'], phase: 'starting', done: 0, total: 0 };
      return { ...state, operations: { ...state.operations, [id]: op } };
    }
    case 'operation_progress': {
      if (!id) return state;
      const { id: _ignored, ...op } = d;
      return { ...state, operations: { ...state.operations, [id]: op as unknown as ActiveOperation } };
    }
    case 'operation_finished': {
      const next = { ...state, operations: withoutKey(state.operations, id) };
      const what = DONE_TEXT[str(d.kind)] ?? 'done';
      return addNotice(next, 'success', `${gameName(state, id)} ${what}`, id);
    }
    case 'operation_failed': {
      const next = { ...state, operations: withoutKey(state.operations, id) };
      const rolled = d.rolled_back === true ? ' Nothing was changed.' : '';
      return addNotice(next, 'error', `${gameName(state, id)}: ${str(d.kind)} failed: ${str(d.reason)}.${rolled}`, id);
    }
    case 'operation_cancelled': {
      const next = { ...state, operations: withoutKey(state.operations, id) };
      return addNotice(next, 'info', `${gameName(state, id)}: ${str(d.kind)} cancelled`, id);
    }
    case 'operation_refused':
      return addNotice(state, 'error', `${gameName(state, id)}: ${str(d.reason)}`, id);
    case 'get_game_failed':
      return addNotice(state, 'error', `${gameName(state, id)}: ${str(d.reason)}`, id);
    case 'game_recovered':
      return addNotice(state, 'info', `${gameName(state, id)}: an interrupted operation was repaired at start (${str(d.outcome).replace('_', ' ')})`, id);
    case 'runtime_failure':
      return addNotice(state, 'error', `${str(d.task)} failed and was restarted: ${str(d.message)}`);
    default:
      return state;
  }
}

export function reduce(state: State, msg: Msg): State {
  switch (msg.type) {
    case 'snapshot': {
      const peers: Record<string, Peer> = {};
      for (const p of msg.peers) peers[p.id] = p;
      return {
        ...state,
        status: msg.status,
        games: msg.games.games,
        operations: operationsOf(msg.games.games),
        peers,
        since: msg.status.event_seq + 1,
      };
    }
    case 'event':
      return applyEvent(state, msg.event);
    case 'connection':
      return state.connection === msg.connection ? state : { ...state, connection: msg.connection };
    case 'notice':
      return addNotice(state, msg.tone, msg.text, msg.gameId);
    case 'dismiss':
      return { ...state, notices: state.notices.filter((n) => n.key !== msg.key) };
    case 'peers': {
      const peers: Record<string, Peer> = {};
      for (const p of msg.peers) peers[p.id] = p;
      return { ...state, peers };
    }
    case 'games_dir':
      return state.status ? { ...state, status: { ...state.status, games_dir: msg.path } } : state;
  }
}
