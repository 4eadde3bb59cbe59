import { useMemo, useState } from 'preact/hooks';
import { type Action, type Filter, isReachable, matchesFilter, matchesSearch, sortGames } from '../game_view';
import type { ActiveOperation, Game } from '../types';
import { GameCard } from './game_card';

const FILTERS: { id: Filter; label: string }[] = [
  { id: 'all', label: 'All' },
  { id: 'installed', label: 'Installed' },
  { id: 'available', label: 'Available' },
  { id: 'updates', label: 'Updates' },
];

const EMPTY_FILTER: Record<Filter, string> = {
  all: 'The catalog is empty.',
  installed: 'No game is installed yet. Pick one under Available and download it; it installs by itself when the download is done.',
  available: 'Nothing new to download: every game the peers offer is already here, or no peer offers any.',
  updates: 'Everything is up to date.',
};

export function Library(props: {
  games: Game[];
  operations: Record<string, ActiveOperation>;
  peerCount: number;
  pending: Record<string, boolean>;
  onAction: (id: string, action: Action) => void;
}) {
  const { games, operations, peerCount, pending, onAction } = props;
  const [query, setQuery] = useState('');
  const [filter, setFilter] = useState<Filter>('all');

  const sorted = useMemo(() => sortGames(games), [games]);
  const counts = useMemo(() => {
    const c: Record<Filter, number> = { all: 0, installed: 0, available: 0, updates: 0 };
    for (const g of games) for (const f of FILTERS) if (matchesFilter(g, f.id)) c[f.id] += 1;
    return c;
  }, [games]);
  const shown = sorted.filter((g) => matchesFilter(g, filter) && matchesSearch(g, query));
  const reachable = shown.filter((g) => isReachable(g, operations[g.id] ?? null));
  const elsewhere = shown.filter((g) => !isReachable(g, operations[g.id] ?? null));

  return (
    <section aria-label="Library">
      {peerCount === 0 && (
        <div class="banner info">
          <strong>No peers yet</strong> — start lanspread on another machine on this network. The games it holds appear
          here with a Download button.
        </div>
      )}
      <div class="toolbar">
        <label class="search">
          <span class="visually-hidden">Search games</span>
          <input type="search" placeholder="Search games" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
        </label>
        <div class="filters" role="group" aria-label="Show">
          {FILTERS.map((f) => (
            <button type="button" class="filter" aria-pressed={filter === f.id} onClick={() => setFilter(f.id)}>
              {f.label} <span class="filter-count">{counts[f.id]}</span>
            </button>
          ))}
        </div>
      </div>
      {shown.length === 0 && <p class="empty">{query.trim() ? `No game matches “${query.trim()}”.` : EMPTY_FILTER[filter]}</p>}
      {reachable.length > 0 && (
        <div class="grid">
          {reachable.map((g) => (
            <GameCard key={g.id} game={g} operation={operations[g.id] ?? null} pending={!!pending[g.id]} onAction={onAction} />
          ))}
        </div>
      )}
      {elsewhere.length > 0 && (
        <section class="elsewhere" aria-labelledby="elsewhere-title">
          <h2 id="elsewhere-title" class="section-title">
            Not on the network right now <span class="filter-count">{elsewhere.length}</span>
          </h2>
          <p class="muted section-note">Catalog games that no peer here holds. A game moves up as soon as a peer that has it joins.</p>
          <div class="grid compact-grid">
            {elsewhere.map((g) => (
              <GameCard key={g.id} game={g} operation={null} pending={false} onAction={onAction} compact />
            ))}
          </div>
        </section>
      )}
    </section>
  );
}
