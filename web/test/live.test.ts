// Guards against a page that silently stops updating: a dropped stream must reconnect and
// continue from the first event not seen (no gap, no repeat), `missed` and a restarted
// daemon must lead to a fresh snapshot, and a 401 must show the login help instead of
// retrying forever in silence.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../src/api';
import { Live, type SocketLike, daemonChanged, reconnectDelay } from '../src/live';
import type { Msg } from '../src/state';
import type { Status } from '../src/types';
import { game, status } from './fixtures';

class FakeSocket implements SocketLike {
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  closed = false;
  constructor(readonly url: string) {}
  close() {
    this.closed = true;
  }
  send(event: object) {
    this.onmessage?.({ data: JSON.stringify(event) });
  }
  drop() {
    this.onclose?.();
  }
}

function setup(initial: Status) {
  const msgs: Msg[] = [];
  const sockets: FakeSocket[] = [];
  let current: Status | Error = initial;
  const calls = { status: 0, games: 0, peers: 0 };
  const live = new Live({
    dispatch: (m) => msgs.push(m),
    api: {
      status: async () => {
        calls.status++;
        if (current instanceof Error) throw current;
        return current;
      },
      games: async () => {
        calls.games++;
        return { local_revision: 1, games: [game()] };
      },
      peers: async () => {
        calls.peers++;
        return [];
      },
    },
    openSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    url: (since) => `ws://test/api/v1/events/ws?since=${since}`,
  });
  return { live, msgs, sockets, calls, set: (s: Status | Error) => (current = s) };
}

const flush = () => vi.advanceTimersByTimeAsync(0);

describe('Live', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('backs off between attempts, up to a ceiling', () => {
    expect([0, 1, 2, 3, 4, 10].map(reconnectDelay)).toEqual([500, 1000, 2000, 4000, 8000, 8000]);
  });

  it('tells a restarted or different daemon from the same one', () => {
    expect(daemonChanged({ peerId: 'me', since: 50 }, { peer_id: 'me', event_seq: 60 })).toBe(false);
    expect(daemonChanged({ peerId: 'me', since: 50 }, { peer_id: 'me', event_seq: 3 })).toBe(true);
    expect(daemonChanged({ peerId: 'me', since: 50 }, { peer_id: 'other', event_seq: 60 })).toBe(true);
  });

  it('streams from the event after the snapshot and resumes after a drop with since=N', async () => {
    const t = setup(status({ event_seq: 10 }));
    t.live.start();
    await flush();
    expect(t.msgs[0]!.type).toBe('snapshot');
    expect(t.sockets[0]!.url).toMatch(/since=11$/);
    t.sockets[0]!.onopen?.();
    t.sockets[0]!.send({ seq: 11, type: 'peer_count', data: { count: 1 } });
    t.sockets[0]!.send({ seq: 12, type: 'peer_count', data: { count: 2 } });
    t.sockets[0]!.send({ seq: 12, type: 'peer_count', data: { count: 2 } }); // a repeat
    t.set(status({ event_seq: 14 }));
    t.sockets[0]!.drop();
    expect(t.msgs.at(-1)).toEqual({ type: 'connection', connection: 'reconnecting' });
    await vi.advanceTimersByTimeAsync(reconnectDelay(0));
    expect(t.sockets[1]!.url).toMatch(/since=13$/);
    expect(t.calls.games).toBe(1); // same daemon: no new snapshot needed
    t.sockets[1]!.onopen?.();
    expect(t.msgs.at(-1)).toEqual({ type: 'connection', connection: 'live' });
    expect(t.msgs.filter((m) => m.type === 'event').length).toBe(2);
    t.live.stop();
  });

  it('reads a fresh snapshot when told events were missed', async () => {
    const t = setup(status({ event_seq: 10 }));
    t.live.start();
    await flush();
    t.set(status({ event_seq: 5000 }));
    t.sockets[0]!.send({ type: 'missed', data: { count: 4000 } });
    await flush();
    expect(t.calls.games).toBe(2);
    expect(t.msgs.filter((m) => m.type === 'snapshot').length).toBe(2);
    t.sockets[0]!.send({ seq: 900, type: 'peer_count', data: { count: 1 } }); // older than the snapshot
    expect(t.msgs.at(-1)!.type).toBe('snapshot');
    t.live.stop();
  });

  it('starts over when the daemon restarted with new event numbers', async () => {
    const t = setup(status({ event_seq: 100 }));
    t.live.start();
    await flush();
    t.set(status({ event_seq: 2 }));
    t.sockets[0]!.drop();
    await vi.advanceTimersByTimeAsync(reconnectDelay(0));
    expect(t.calls.games).toBe(2);
    expect(t.sockets[1]!.url).toMatch(/since=3$/);
    t.live.stop();
  });

  it('keeps retrying while the daemon is down, then recovers', async () => {
    const t = setup(status({ event_seq: 10 }));
    t.live.start();
    await flush();
    t.set(new ApiError(0, 'unreachable', 'down'));
    t.sockets[0]!.drop();
    await vi.advanceTimersByTimeAsync(reconnectDelay(0) + reconnectDelay(1) + reconnectDelay(2));
    expect(t.sockets.length).toBe(1);
    expect(t.msgs.at(-1)).toEqual({ type: 'connection', connection: 'reconnecting' });
    t.set(status({ event_seq: 12 }));
    await vi.advanceTimersByTimeAsync(reconnectDelay(3));
    expect(t.sockets.length).toBe(2);
    expect(t.sockets[1]!.url).toMatch(/since=11$/);
    t.live.stop();
  });

  it('shows the login help on 401', async () => {
    const t = setup(status());
    t.set(new ApiError(401, 'unauthorized', 'log in'));
    t.live.start();
    await flush();
    expect(t.msgs).toContainEqual({ type: 'connection', connection: 'unauthorized' });
    expect(t.sockets.length).toBe(0);
    t.live.stop();
  });

  it('stops cleanly: no reconnect after stop', async () => {
    const t = setup(status());
    t.live.start();
    await flush();
    t.live.stop();
    expect(t.sockets[0]!.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(t.sockets.length).toBe(1);
  });
});
