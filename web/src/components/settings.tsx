import { useEffect, useState } from 'preact/hooks';
import { ApiError, api } from '../api';
import type { Status } from '../types';

export function Settings(props: { status: Status | null; onSaved: (path: string) => void; onUnauthorized: () => void }) {
  const { status } = props;
  const current = status?.games_dir ?? '';
  const [path, setPath] = useState(current);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  // Follow changes made elsewhere (the CLI, another tab) while the field is untouched.
  const [touched, setTouched] = useState(false);
  useEffect(() => {
    if (!touched) setPath(current);
  }, [current, touched]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      const res = await api.setGamesDir(path.trim());
      props.onSaved(res.path);
      setSaved(true);
      setTouched(false);
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
              setPath((e.target as HTMLInputElement).value);
              setTouched(true);
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
