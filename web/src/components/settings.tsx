import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, api } from '../api';
import { discoveryText, interfacePolicyText, manualPeerText } from '../network_view';
import type { DaemonSettings, ManualPeer, Status } from '../types';

// Manual peers are read again this often while Settings is open (they connect or go silent).
const MANUAL_REFRESH_MS = 3000;

function Network(props: { status: Status | null; onUnauthorized: () => void }) {
  const [manual, setManual] = useState<ManualPeer[]>([]);
  const [settings, setSettings] = useState<DaemonSettings | null>(null);
  const [address, setAddress] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const fail = useCallback(
    (err: unknown) => {
      if (err instanceof ApiError && err.unauthorized) props.onUnauthorized();
      else setError(err instanceof Error ? err.message : String(err));
    },
    [props.onUnauthorized],
  );
  const reload = useCallback(() => {
    api.manualPeers().then(setManual, () => undefined);
  }, []);
  useEffect(() => {
    reload();
    api.settings().then(setSettings, () => undefined);
    const t = setInterval(reload, MANUAL_REFRESH_MS);
    return () => clearInterval(t);
  }, [reload]);

  const add = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.addPeer(address.trim());
      setAddress('');
      reload();
    } catch (err) {
      fail(err);
    } finally {
      setBusy(false);
    }
  };
  const remove = async (a: string) => {
    setError(null);
    try {
      await api.removePeer(a);
      reload();
    } catch (err) {
      fail(err);
    }
  };

  return (
    <div class="panel" aria-label="Network">
      <h2>Network</h2>
      <dl class="facts">
        <dt>Discovery</dt>
        <dd data-testid="discovery">{discoveryText(props.status?.discovery)}</dd>
        {settings && (
          <>
            <dt>Interfaces</dt>
            <dd>{interfacePolicyText(settings)}</dd>
          </>
        )}
      </dl>
      {settings && (
        <p class="muted">
          Interfaces are chosen at start: <code>lanspread serve --interface NAME</code> or <code>interface = NAME</code> in{' '}
          <code class="wrap">{settings.config_file}</code>.
        </p>
      )}
      <h3>Peers by address</h3>
      <p class="muted">
        Where machines cannot find each other by themselves (multicast blocked, another subnet), name them here: an IP
        address or host name, with <code>:PORT</code> if it is not 7979.
      </p>
      <form onSubmit={add} noValidate>
        <label for="peer-address" class="field-label">
          Address
        </label>
        <div class="field-row">
          <input
            id="peer-address"
            class={error ? 'invalid' : ''}
            value={address}
            placeholder="192.168.1.20"
            spellcheck={false}
            autocomplete="off"
            aria-invalid={error ? 'true' : 'false'}
            aria-describedby={error ? 'peer-address-error' : undefined}
            onInput={(e) => {
              setAddress((e.target as HTMLInputElement).value);
              setError(null);
            }}
          />
          <button type="submit" class="btn primary" disabled={busy || !address.trim()}>
            Add
          </button>
        </div>
        {error && (
          <p id="peer-address-error" class="field-error" role="alert">
            {error}
          </p>
        )}
      </form>
      {manual.length > 0 && (
        <ul class="manual-peers">
          {manual.map((m) => (
            <li data-address={m.address}>
              <code>{m.address}</code> <span class="muted">{manualPeerText(m)}</span>{' '}
              <button type="button" class="btn quiet-danger" onClick={() => remove(m.address)}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Settings(props: { status: Status | null; onSaved: (path: string) => void; onUnauthorized: () => void }) {
  const { status } = props;
  const current = status?.games_dir ?? '';
  // What the person typed; until then (and after a save) the field shows the daemon's folder,
  // following changes made elsewhere (the CLI, another tab). Derived, not copied in an
  // effect: an effect runs after the page is painted and could overwrite what was typed
  // right after the page opened.
  const [edited, setEdited] = useState<string | null>(null);
  const path = edited ?? current;
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      const res = await api.setGamesDir(path.trim());
      props.onSaved(res.path);
      setSaved(true);
      setEdited(null);
    } catch (err) {
      if (err instanceof ApiError && err.unauthorized) props.onUnauthorized();
      else setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-label="Settings" class="settings">
      <form class="panel" onSubmit={submit} noValidate>
        <h2>Games folder</h2>
        <p class="muted">
          Where lanspread keeps games, one folder per game. Other peers download from here. The folder must exist and be
          readable and writable by the daemon.
        </p>
        <label for="games-dir" class="field-label">
          Folder
        </label>
        <div class="field-row">
          <input
            id="games-dir"
            class={error ? 'invalid' : ''}
            value={path}
            spellcheck={false}
            autocomplete="off"
            aria-invalid={error ? 'true' : 'false'}
            aria-describedby={error ? 'games-dir-error' : undefined}
            onInput={(e) => {
              setEdited((e.target as HTMLInputElement).value);
              setError(null);
              setSaved(false);
            }}
          />
          <button type="submit" class="btn primary" disabled={busy || !path.trim() || path.trim() === current}>
            Save
          </button>
        </div>
        {error && (
          <p id="games-dir-error" class="field-error" role="alert">
            {error}
          </p>
        )}
        {saved && <p class="field-ok" role="status">Saved. The library is being read from the new folder.</p>}
      </form>
      <Network status={status} onUnauthorized={props.onUnauthorized} />
      {status && (
        <div class="panel">
          <h2>This machine</h2>
          <dl class="facts">
            <dt>Name</dt>
            <dd>{status.name}</dd>
            <dt>Peer id</dt>
            <dd>
              <code class="wrap">{status.peer_id}</code>
            </dd>
            <dt>QUIC port</dt>
            <dd>UDP {status.quic_port}</dd>
            <dt>Version</dt>
            <dd>{status.version}</dd>
          </dl>
        </div>
      )}
    </section>
  );
}
