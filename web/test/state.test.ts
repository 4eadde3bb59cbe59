// Guards against the page drifting from the daemon: events applied twice or out of order,
// a finished operation whose bar never goes away, progress speed lost between snapshots,
// refusals and failures swallowed instead of shown with the daemon's reason, peers that
// left still listed.
import { describe, expect, it } from 'vitest';
import { MAX_NOTICES, type Msg, type State, initialState, reduce } from '../src/state';
import type { ApiEvent } from '../src/types';
import { game, op, peer, status } from './fixtures';

function run(msgs: Msg[], from: State = initialState): State {
  return msgs.reduce(reduce, from);
}

const ev = (seq: number, type: string, data: unknown): Msg => ({ type: 'event', event: { seq, type, data } as ApiEvent });

const start = run([{ type: 'snapshot', status: status({ event_seq: 10 }), games: { local_revision: 1, games: [game()] }, peers: [peer('peer-b')] }]);

describe('snapshot', () => {
  it('takes games, peers and operations, and waits for the next event', () => {
    const s = run([{ type: 'snapshot', status: status({ event_seq: 41 }), games: { local_revision: 1, games: [game({ active_operation: op({ done: 5 }) })] }, peers: [] }]);
    expect(s.since).toBe(42);
    expect(s.operations.openarena!.done).toBe(5);
  });
});

describe('events', () => {
  it('replaces the library and its operations', () => {
    const s = run([ev(11, 'library', { local_revision: 2, games: [game({ installed: true, downloaded: true })] })], start);
    expect(s.games[0]!.installed).toBe(true);
    expect(s.operations).toEqual({});
    expect(s.since).toBe(12);
  });

  it('skips events it has already applied', () => {
    const s1 = run([ev(11, 'operation_progress', { id: 'openarena', ...op({ done: 500 }) })], start);
    const s2 = run([ev(11, 'operation_progress', { id: 'openarena', ...op({ done: 100 }) }), ev(5, 'peer_left', { id: 'peer-b' })], s1);
    expect(s2.operations.openarena!.done).toBe(500);
    expect(s2.peers['peer-b']).toBeDefined();
  });

  it('tracks progress with speed, ETA and peers, and drops the bar when it ends', () => {
    let s = run([ev(11, 'operation_begin', { id: 'openarena', kind: 'download' })], start);
    expect(s.operations.openarena).toMatchObject({ kind: 'download', done: 0 });
    s = run([ev(12, 'operation_progress', { id: 'openarena', kind: 'download', phase: 'downloading', done: 250, total: 1000, bytes_per_second: 2048, eta_seconds: 12, active_peers: 2 })], s);
    expect(s.operations.openarena).toEqual({ kind: 'download', phase: 'downloading', done: 250, total: 1000, bytes_per_second: 2048, eta_seconds: 12, active_peers: 2 });
    s = run([ev(13, 'operation_finished', { id: 'openarena', kind: 'download', bytes_fetched: 1000, bytes_reused: 0 })], s);
    expect(s.operations.openarena).toBeUndefined();
    expect(s.notices.at(-1)).toMatchObject({ tone: 'success', text: 'OpenArena downloaded', gameId: 'openarena' });
  });

  it('keeps newer progress fields (verified, stalled) as they come', () => {
    const s = run([ev(11, 'operation_progress', { id: 'openarena', ...op({ done: 300, verified: 200, stalled_seconds: 4 }) })], start);
    expect(s.operations.openarena).toMatchObject({ verified: 200, stalled_seconds: 4 });
  });

  it('takes the set of running operations as the truth', () => {
    let s = run([ev(11, 'active_operations', { operations: { openarena: op({ done: 1 }), xonotic: op({ kind: 'install', phase: 'extracting' }) } })], start);
    expect(Object.keys(s.operations).sort()).toEqual(['openarena', 'xonotic']);
    s = run([ev(12, 'active_operations', { operations: {} })], s);
    expect(s.operations).toEqual({});
  });

  it('shows failures and refusals with the daemon reason', () => {
    const s = run(
      [
        ev(11, 'operation_failed', { id: 'openarena', kind: 'download', reason: 'disk full on /games', rolled_back: true }),
        ev(12, 'operation_refused', { id: 'xonotic', reason: "no peer offers 'xonotic' right now" }),
        ev(13, 'games_dir_rejected', { path: '/nope', reason: 'not a directory' }),
      ],
      start,
    );
    expect(s.notices.map((n) => [n.tone, n.text])).toEqual([
      ['error', 'OpenArena: download failed: disk full on /games. Nothing was changed.'],
      ['error', "xonotic: no peer offers 'xonotic' right now"],
      ['error', 'Games folder /nope was refused: not a directory'],
    ]);
  });

  it('replaces an older notice about the same game, keeps at most a few, and dismisses', () => {
    let s = run([ev(11, 'operation_cancelled', { id: 'openarena', kind: 'download' }), ev(12, 'operation_finished', { id: 'openarena', kind: 'install' })], start);
    expect(s.notices.map((n) => n.text)).toEqual(['OpenArena installed']);
    for (let i = 0; i < 10; i++) s = reduce(s, { type: 'notice', tone: 'error', text: `e${i}` });
    expect(s.notices.length).toBe(MAX_NOTICES);
    expect(s.notices.at(-1)!.text).toBe('e9');
    s = reduce(s, { type: 'dismiss', key: s.notices[0]!.key });
    expect(s.notices.length).toBe(MAX_NOTICES - 1);
  });

  it('follows peers joining and leaving, the peer count and the games folder', () => {
    let s = run([ev(11, 'peer_joined', peer('peer-c', 'charlie')), ev(12, 'peer_count', { count: 2 })], start);
    expect(Object.keys(s.peers).sort()).toEqual(['peer-b', 'peer-c']);
    expect(s.status!.peer_count).toBe(2);
    s = run([ev(13, 'peer_left', { id: 'peer-b', reason: 'goodbye' }), ev(14, 'games_dir_changed', { path: '/srv/games' })], s);
    expect(Object.keys(s.peers)).toEqual(['peer-c']);
    expect(s.status!.games_dir).toBe('/srv/games');
  });

  it('takes a fresh peer list whole', () => {
    const s = reduce(start, { type: 'peers', peers: [peer('peer-c', 'charlie')] });
    expect(Object.keys(s.peers)).toEqual(['peer-c']);
  });

  it('ignores unknown events and malformed data without breaking', () => {
    const s = run([ev(11, 'something_new', { x: 1 }), ev(12, 'library', 'garbage'), ev(13, 'peer_joined', null)], start);
    expect(s.games).toEqual(start.games);
    expect(s.peers).toEqual(start.peers);
    expect(s.since).toBe(14);
  });
});
