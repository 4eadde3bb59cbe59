import { useState } from 'preact/hooks';
import { formatBytes } from '../format';
import { ACTION_LABEL, type Action, describeGame } from '../game_view';
import type { ActiveOperation, Game } from '../types';
import { Confirm } from './confirm';
import { Progress } from './progress';

const HUES = 12;

function hueClass(id: string): string {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return `hue-${h % HUES}`;
}

// "OpenArena" -> "OA", "Red Eclipse" -> "RE", "0 A.D." -> "0A", "Xonotic" -> "XO".
export function initials(name: string): string {
  const words = name.split(/[\s\-_:.]+/).filter(Boolean);
  if (words.length >= 2) return (words[0]![0]! + words[1]![0]!).toUpperCase();
  const inner = name.slice(1).search(/[A-Z0-9]/);
  return (inner >= 0 ? name[0]! + name[inner + 1]! : name.slice(0, 2)).toUpperCase();
}

type Asking = 'uninstall' | 'remove' | 'cancel' | null;

export function GameCard(props: {
  game: Game;
  operation: ActiveOperation | null;
  pending: boolean;
  onAction: (id: string, action: Action) => void;
  // A catalog game nobody here has: name and description only.
  compact?: boolean;
}) {
  const { game, operation, pending, onAction, compact } = props;
  const model = describeGame(game, operation);
  const [asking, setAsking] = useState<Asking>(null);

  const click = (a: Action) => {
    if (a === 'uninstall' || a === 'remove') setAsking(a);
    else if (a === 'cancel' && operation && (operation.kind === 'download' || operation.kind === 'update') && operation.done > 0) setAsking('cancel');
    else onAction(game.id, a);
  };

  const version = game.installed || game.downloaded ? game.local_version : game.latest_version;
  const players = game.max_players > 0 ? `up to ${game.max_players} players` : '';

  const body = (
    <>
      <ul class="badges" aria-label="State">
        {model.badges.map((b) => (
          <li class={`badge ${b.tone}`}>{b.text}</li>
        ))}
      </ul>
      <p class="meta">
        {model.size && (
          <span class="size">
            {formatBytes(model.size.bytes)} <span class="muted">{model.size.label}</span>
          </span>
        )}
        {version && <span class="version">v{version}</span>}
      </p>
      {operation && <Progress op={operation} name={game.name} />}
      <div class="actions">
        {model.actions.map((a) => (
          <button
            type="button"
            class={`btn${a === model.primary ? ' primary' : ''}${a === 'uninstall' || a === 'remove' ? ' quiet-danger' : ''}`}
            disabled={pending}
            onClick={() => click(a)}
          >
            {ACTION_LABEL[a]}
          </button>
        ))}
        {model.hint && <p class="hint">{model.hint}</p>}
      </div>
    </>
  );
  const heading = (
    <>
      <div class={`art ${hueClass(game.id)}`} aria-hidden="true">
        <span>{initials(game.name || game.id)}</span>
      </div>
      <div class="card-body">
        <h3 id={`title-${game.id}`}>{game.name || game.id}</h3>
        <p class="sub">{[game.genre, players].filter(Boolean).join(' · ')}</p>
        {game.description && <p class="desc">{game.description}</p>}
        {!compact && body}
      </div>
    </>
  );
  if (compact) {
    return (
      <article class="card compact" data-game={game.id} aria-labelledby={`title-${game.id}`}>
        {heading}
      </article>
    );
  }

  return (
    <article class={`card${operation ? ' busy' : ''}`} data-game={game.id} aria-labelledby={`title-${game.id}`}>
      {heading}
      {asking === 'uninstall' && (
        <Confirm title={`Uninstall ${game.name}?`} confirmLabel="Uninstall" onClose={() => setAsking(null)} onConfirm={() => onAction(game.id, 'uninstall')}>
          <p>
            This deletes the installed game in <code>local/</code>, and with it <strong>saved games, settings and any other files the game keeps there</strong>.
          </p>
          <p>The download stays, so installing again needs no download.</p>
        </Confirm>
      )}
      {asking === 'remove' && (
        <Confirm title={`Remove the download of ${game.name}?`} confirmLabel="Remove" onClose={() => setAsking(null)} onConfirm={() => onAction(game.id, 'remove')}>
          <p>This deletes the downloaded files ({formatBytes(game.local_size)}). Peers can no longer get {game.name} from this machine, and installing it again means downloading it again.</p>
        </Confirm>
      )}
      {asking === 'cancel' && operation && (
        <Confirm title={`Stop downloading ${game.name}?`} confirmLabel="Stop download" onClose={() => setAsking(null)} onConfirm={() => onAction(game.id, 'cancel')}>
          <p>The {formatBytes(operation.done)} fetched so far are deleted; downloading it later starts over. An installed copy stays as it is.</p>
        </Confirm>
      )}
    </article>
  );
}
