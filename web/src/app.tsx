// The page: state from the reducer, kept live by `Live`, three views chosen by the URL's
// hash (#/library, #/peers, #/settings) so a reload keeps the view.
import { useCallback, useEffect, useMemo, useReducer, useState } from 'preact/hooks';
import { ApiError, api } from './api';
import { type Action, actionEndpoint, gamesOfPeers, windowTitle } from './game_view';
import { Live } from './live';
import { initialState, reduce } from './state';
import { Header, type View } from './components/header';
import { Library } from './components/library';
import { Peers } from './components/peers';
import { Settings } from './components/settings';
import { Notices } from './components/notices';
import { LoginHelp } from './components/login';

// How long buttons stay disabled after an accepted request when no operation shows up (one
// that ends at once, like removing a small game).
const PENDING_MAX_MS = 4000;
const PEERS_REFRESH_MS = 2000;

function viewFromHash(hash: string): View {
  if (hash.startsWith('#/peers')) return 'peers';
  if (hash.startsWith('#/settings')) return 'settings';
  return 'library';
}

export function App() {
  const [state, dispatch] = useReducer(reduce, initialState);
  const [view, setView] = useState<View>(() => viewFromHash(location.hash));
  const [live] = useState(() => Live.inBrowser(dispatch));
  // Games whose request is on its way (their buttons wait for the answer).
  const [pending, setPending] = useState<Record<string, boolean>>({});

  useEffect(() => {
    live.start();
    return () => live.stop();
  }, [live]);

  useEffect(() => {
    const onHash = () => setView(viewFromHash(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  // While the peers are on screen they are read again every 2 s: last-seen times age and
  // transfer rates change, and events carry neither.
  useEffect(() => {
    if (view !== 'peers' || state.connection !== 'live') return undefined;
    const t = setInterval(() => {
      api.peers().then((peers) => dispatch({ type: 'peers', peers }), () => undefined);
    }, PEERS_REFRESH_MS);
    return () => clearInterval(t);
  }, [view, state.connection]);

  const title = windowTitle(state.status?.name, state.games, state.operations);
  useEffect(() => {
    document.title = title;
  }, [title]);

  // A game's buttons wait from the click until its operation shows up (or a refusal comes
  // back), so a second click cannot race the first.
  useEffect(() => {
    setPending((p) => {
      const ids = Object.keys(p).filter((id) => p[id] && state.operations[id]);
      if (ids.length === 0) return p;
      const next = { ...p };
      for (const id of ids) delete next[id];
      return next;
    });
  }, [state.operations]);

  const act = useCallback(async (gameId: string, action: Action) => {
    setPending((p) => ({ ...p, [gameId]: true }));
    const release = () =>
      setPending((p) => {
        const next = { ...p };
        delete next[gameId];
        return next;
      });
    try {
      await api.gameAction(gameId, actionEndpoint(action));
      setTimeout(release, PENDING_MAX_MS);
    } catch (e) {
      release();
      if (e instanceof ApiError && e.unauthorized) {
        dispatch({ type: 'connection', connection: 'unauthorized' });
      } else {
        dispatch({ type: 'notice', tone: 'error', text: e instanceof Error ? e.message : String(e), gameId });
      }
    }
  }, []);

  const dismiss = useCallback((key: number) => dispatch({ type: 'dismiss', key }), []);
  const perPeer = useMemo(() => gamesOfPeers(state.games), [state.games]);
  const peerCount = Object.keys(state.peers).length;

  if (state.connection === 'unauthorized') {
    return <LoginHelp onRetry={() => { live.stop(); dispatch({ type: 'connection', connection: 'loading' }); live.start(); }} />;
  }

  return (
    <div class="shell">
      <Header view={view} status={state.status} peerCount={peerCount} connection={state.connection} />
      <main class="content" aria-busy={state.connection === 'loading'}>
        {state.connection === 'reconnecting' && (
          <div class="banner warn" role="status">
            <strong>Lost contact with the lanspread daemon.</strong> Reconnecting… Is <code>lanspread serve</code> still
            running on this machine?
          </div>
        )}
        {state.connection === 'loading' && !state.status ? (
          <p class="loading">Connecting to the lanspread daemon…</p>
        ) : view === 'peers' ? (
          <Peers peers={state.peers} gamesOfPeers={perPeer} />
        ) : view === 'settings' ? (
          <Settings status={state.status} onSaved={(path) => dispatch({ type: 'games_dir', path })} onUnauthorized={() => dispatch({ type: 'connection', connection: 'unauthorized' })} />
        ) : (
          <Library games={state.games} operations={state.operations} peerCount={peerCount} pending={pending} onAction={act} />
        )}
      </main>
      <Notices notices={state.notices} onDismiss={dismiss} />
    </div>
  );
}
