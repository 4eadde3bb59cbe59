// What a game card says and offers, decided from the game's state alone (pure, tested in
// test/game_view.test.ts). The daemon checks every request again and answers a refusal
// with its reason; these rules only keep the buttons honest.
import type { ActiveOperation, Game, OperationKind } from './types';

export type Action = 'download' | 'resume' | 'cancel' | 'install' | 'update' | 'uninstall' | 'remove';

export type BadgeTone = 'busy' | 'installed' | 'downloaded' | 'update' | 'partial' | 'network' | 'none';

export interface Badge {
  tone: BadgeTone;
  text: string;
}

export interface GameCardModel {
  badges: Badge[];
  actions: Action[];
  // The primary action, drawn as the filled button.
  primary: Action | null;
  // Shown when no action fits, to say why.
  hint: string | null;
  // Bytes shown on the card, and what they mean.
  size: { bytes: number; label: string } | null;
  operation: ActiveOperation | null;
}

const RUNNING: Record<OperationKind, string> = {
  download: 'Downloading',
  install: 'Installing',
  update: 'Updating',
  uninstall: 'Uninstalling',
  remove: 'Removing',
  verify: 'Verifying',
};

export function runningLabel(op: ActiveOperation): string {
  return RUNNING[op.kind] ?? 'Working';
}

// A partial download: payload on disk without the version.ini that makes it complete.
export function isPartial(game: Game): boolean {
  return !game.downloaded && game.local_size > 0;
}

// Whether anything can be done with a game here: it is on this machine (whole or in part),
// a peer offers it, or an operation runs on it. The rest of the catalog is listed apart.
export function isReachable(game: Game, operation: ActiveOperation | null): boolean {
  return operation !== null || game.downloaded || game.installed || game.available || isPartial(game);
}

export function peerCount(game: Game): number {
  return game.latest_peers.length;
}

export function describeGame(game: Game, operation: ActiveOperation | null): GameCardModel {
  const badges: Badge[] = [];
  const actions: Action[] = [];
  let primary: Action | null = null;
  let hint: string | null = null;

  const peers = peerCount(game);
  if (operation) {
    badges.push({ tone: 'busy', text: runningLabel(operation) });
  } else if (game.installed) {
    badges.push({ tone: 'installed', text: 'Installed' });
  } else if (game.downloaded) {
    badges.push({ tone: 'downloaded', text: 'Downloaded' });
  } else if (isPartial(game)) {
    badges.push({ tone: 'partial', text: 'Partial download' });
  }
  if (game.update_available) {
    badges.push({ tone: 'update', text: `Update ${game.latest_version}` });
  }
  if (peers > 0) {
    badges.push({ tone: 'network', text: peers === 1 ? 'On 1 peer' : `On ${peers} peers` });
  } else if (!game.downloaded && !game.available) {
    badges.push({ tone: 'none', text: 'Not on the network' });
  }

  if (operation) {
    actions.push('cancel');
  } else if (game.installed) {
    if (game.update_available) actions.push('update');
    actions.push('uninstall');
  } else if (game.downloaded) {
    actions.push('install');
    if (game.update_available) actions.push('update');
    actions.push('remove');
  } else if (game.available) {
    actions.push(isPartial(game) ? 'resume' : 'download');
  } else {
    hint = isPartial(game)
      ? 'Part of this game is here; no peer offers the rest right now.'
      : 'No peer offers this game right now.';
  }
  primary = actions.find((a) => a === 'update' || a === 'install' || a === 'download' || a === 'resume') ?? null;

  let size: GameCardModel['size'] = null;
  if (game.downloaded || isPartial(game)) {
    size = { bytes: game.local_size, label: game.downloaded ? 'on disk' : 'here so far' };
  }
  if (!game.downloaded && game.latest_size && game.latest_size > 0) {
    size = { bytes: game.latest_size, label: 'download' };
  }

  return { badges, actions, primary, hint, size, operation };
}

export const ACTION_LABEL: Record<Action, string> = {
  download: 'Download',
  resume: 'Resume download',
  cancel: 'Cancel',
  install: 'Install',
  update: 'Update',
  uninstall: 'Uninstall',
  remove: 'Remove',
};

// The API endpoint an action calls (POST /api/v1/games/{id}/{endpoint}).
export function actionEndpoint(action: Action): string {
  return action === 'resume' ? 'download' : action;
}

export type Filter = 'all' | 'installed' | 'available' | 'updates';

export function matchesFilter(game: Game, filter: Filter): boolean {
  switch (filter) {
    case 'all':
      return true;
    case 'installed':
      return game.installed;
    case 'available':
      return game.available && !game.downloaded;
    case 'updates':
      return game.update_available;
  }
}

export function matchesSearch(game: Game, query: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const text = `${game.name} ${game.id} ${game.genre} ${game.description}`.toLowerCase();
  return words.every((w) => text.includes(w));
}

// By name, so a card stays where it is while its state changes.
export function sortGames(games: Game[]): Game[] {
  return [...games].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

// Which games each peer offers (any version), by name.
export function gamesOfPeers(games: Game[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const g of sortGames(games)) {
    const seen = new Set<string>();
    for (const holders of Object.values(g.peers_by_version)) {
      for (const p of holders) seen.add(p);
    }
    for (const p of seen) out.set(p, [...(out.get(p) ?? []), g.name || g.id]);
  }
  return out;
}

// The window title: the download in progress first (seen from another tab), then the machine.
export function windowTitle(machine: string | undefined, games: Game[], operations: Record<string, ActiveOperation>): string {
  const base = machine ? `lanspread · ${machine}` : 'lanspread';
  const running = Object.entries(operations).filter(([, op]) => (op.kind === 'download' || op.kind === 'update') && op.total > 0);
  if (running.length === 0) return base;
  const [id, op] = running[0]!;
  const name = games.find((g) => g.id === id)?.name || id;
  const pct = Math.min(100, Math.floor((op.done / op.total) * 100));
  const more = running.length > 1 ? ` +${running.length - 1}` : '';
  return `${pct}% ${name}${more} — ${base}`;
}
