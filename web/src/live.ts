// Keeps the page in step with the daemon: a snapshot of /status, /games and /peers, then the
// WebSocket event stream from the next event on. When the stream drops it reconnects with
// backoff and asks for `since=N`, the first event it has not seen, so nothing is lost; when
// the daemon says events were `missed` (or the daemon restarted and its numbering began
// again) it reads a fresh snapshot. A 401 stops everything until the person logs in again.
import { ApiError, api, eventsUrl } from './api';
import type { Msg } from './state';
import type { ApiEvent } from './types';

// 0.5 s, 1 s, 2 s, 4 s, then every 8 s.
export function reconnectDelay(attempt: number): number {
  return Math.min(8000, 500 * 2 ** Math.max(0, attempt));
}

// Whether a status read after a reconnect means the daemon is not the one we streamed from
// (another peer id, or its event numbers began again): then the page reads everything anew.
export function daemonChanged(known: { peerId: string; since: number }, status: { peer_id: string; event_seq: number }): boolean {
  return status.peer_id !== known.peerId || status.event_seq + 1 < known.since;
}

// The browser's WebSocket, or a stand-in in tests.
export interface SocketLike {
  onopen: (() => void) | null;
  onmessage: ((e: { data: unknown }) => void) | null;
  onclose: (() => void) | null;
  close(): void;
}

export interface LiveDeps {
  dispatch: (msg: Msg) => void;
  api: Pick<typeof api, 'status' | 'games' | 'peers'>;
  openSocket: (url: string) => SocketLike;
  url: (since: number) => string;
}

export class Live {
  private socket: SocketLike | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private since = 0;
  private peerId = '';
  private stopped = false;

  constructor(private readonly deps: LiveDeps) {}

  static inBrowser(dispatch: (msg: Msg) => void): Live {
    return new Live({
      dispatch,
      api,
      openSocket: (url) => new WebSocket(url) as unknown as SocketLike,
      url: (since) => eventsUrl(since),
    });
  }

  start(): void {
    this.stopped = false;
    this.attempt = 0;
    void this.syncThenConnect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onclose = null;
      s.close();
    }
  }

  // Reads a snapshot; false when it could not (the reason is dispatched).
  private async sync(): Promise<boolean> {
    try {
      const status = await this.deps.api.status();
      const [games, peers] = await Promise.all([this.deps.api.games(), this.deps.api.peers()]);
      if (this.stopped) return false;
      this.peerId = status.peer_id;
      this.since = status.event_seq + 1;
      this.deps.dispatch({ type: 'snapshot', status, games, peers });
      return true;
    } catch (e) {
      this.failed(e);
      return false;
    }
  }

  private failed(e: unknown): void {
    if (this.stopped) return;
    if (e instanceof ApiError && e.unauthorized) {
      this.deps.dispatch({ type: 'connection', connection: 'unauthorized' });
    } else {
      this.deps.dispatch({ type: 'connection', connection: 'reconnecting' });
    }
    this.retryLater();
  }

  private async syncThenConnect(): Promise<void> {
    if (await this.sync()) this.connect();
  }

  private retryLater(): void {
    if (this.stopped || this.timer) return;
    const delay = reconnectDelay(this.attempt++);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.reconnect();
    }, delay);
  }

  private async reconnect(): Promise<void> {
    if (this.stopped) return;
    try {
      const status = await this.deps.api.status();
      if (this.stopped) return;
      if (!this.peerId || daemonChanged({ peerId: this.peerId, since: this.since }, status)) {
        await this.syncThenConnect();
      } else {
        this.connect();
      }
    } catch (e) {
      this.failed(e);
    }
  }

  private connect(): void {
    if (this.stopped) return;
    const socket = this.deps.openSocket(this.deps.url(this.since));
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.deps.dispatch({ type: 'connection', connection: 'live' });
    };
    socket.onmessage = (m) => this.message(m.data);
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      // Closed before or after it opened: find out why (daemon gone, logged out) and retry.
      this.deps.dispatch({ type: 'connection', connection: 'reconnecting' });
      this.retryLater();
    };
  }

  private message(data: unknown): void {
    if (typeof data !== 'string') return;
    let event: ApiEvent;
    try {
      event = JSON.parse(data) as ApiEvent;
    } catch {
      return;
    }
    if (!event || typeof event.type !== 'string') return;
    if (event.type === 'missed') {
      // The stream goes on from the oldest event it kept; a snapshot covers the gap.
      void this.sync();
      return;
    }
    if (typeof event.seq === 'number') {
      if (event.seq < this.since) return;
      this.since = event.seq + 1;
    }
    this.deps.dispatch({ type: 'event', event });
  }
}
