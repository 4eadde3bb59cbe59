// Calls to the daemon's HTTP API (docs/api.md) from the page. The browser sends the session
// cookie and, on POST and PUT, its Origin; the daemon checks both. Every failure becomes an
// ApiError carrying the daemon's own code and message, so the page can show its reason.
import type { DaemonSettings, GamesBody, ManualPeer, Peer, Status } from './types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
  get unauthorized(): boolean {
    return this.status === 401;
  }
}

// Requests that hang are given up after this long (the daemon answers at once or not at all).
const REQUEST_TIMEOUT_MS = 15_000;

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
      signal: controller.signal,
    });
  } catch {
    throw new ApiError(0, 'unreachable', 'the lanspread daemon does not answer; is `lanspread serve` running?');
  } finally {
    clearTimeout(timer);
  }
  const text = await res.text().catch(() => '');
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!res.ok) {
    const err = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const code = typeof err?.code === 'string' ? err.code : `http_${res.status}`;
    const message = typeof err?.message === 'string' ? err.message : `the daemon answered ${res.status} ${res.statusText}`;
    throw new ApiError(res.status, code, message);
  }
  return parsed as T;
}

export const api = {
  status: () => call<Status>('GET', '/api/v1/status'),
  games: () => call<GamesBody>('GET', '/api/v1/games'),
  peers: async () => (await call<{ peers: Peer[] }>('GET', '/api/v1/peers')).peers,
  gameAction: (id: string, endpoint: string) =>
    call<{ id: string; action: string; accepted: boolean }>('POST', `/api/v1/games/${encodeURIComponent(id)}/${endpoint}`),
  setGamesDir: (path: string) => call<{ path: string }>('PUT', '/api/v1/settings/games-dir', { path }),
  settings: () => call<DaemonSettings>('GET', '/api/v1/settings'),
  manualPeers: async () => (await call<{ manual?: ManualPeer[] }>('GET', '/api/v1/peers')).manual ?? [],
  addPeer: (address: string) => call<{ address: string; added: boolean }>('POST', '/api/v1/peers', { address }),
  removePeer: (address: string) => call<{ address: string }>('DELETE', `/api/v1/peers/${encodeURIComponent(address)}`),
};

export function eventsUrl(since: number, loc: { protocol: string; host: string } = location): string {
  const scheme = loc.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${loc.host}/api/v1/events/ws?since=${since}`;
}
