// Guards against a card that offers the wrong buttons for a game's state (download for an
// installed game, remove for an installed one, nothing for a partial download), badges that
// lie about where the game is, and filters or search that hide games they should show.
import { describe, expect, it } from 'vitest';
import { actionEndpoint, describeGame, isReachable, windowTitle, gamesOfPeers, matchesFilter, matchesSearch, sortGames } from '../src/game_view';
import { game, op } from './fixtures';

const texts = (g: ReturnType<typeof describeGame>) => g.badges.map((b) => b.text);

describe('describeGame', () => {
  it('offers a download of a game peers have, with its size from the peers', () => {
    const m = describeGame(game({ latest_peers: ['a', 'b'] }), null);
    expect(m.actions).toEqual(['download']);
    expect(m.primary).toBe('download');
    expect(texts(m)).toEqual(['On 2 peers']);
    expect(m.size).toEqual({ bytes: 512 * 1024 * 1024, label: 'download' });
  });

  it('offers only cancel while an operation runs, and says what runs', () => {
    const m = describeGame(game(), op());
    expect(m.actions).toEqual(['cancel']);
    expect(m.primary).toBeNull();
    expect(texts(m)[0]).toBe('Downloading');
    expect(describeGame(game({ installed: true, downloaded: true }), op({ kind: 'uninstall' })).badges[0]!.text).toBe('Uninstalling');
  });

  it('offers uninstall (never remove) for an installed game', () => {
    const m = describeGame(game({ downloaded: true, installed: true, local_version: '20241002', local_size: 100 }), null);
    expect(m.actions).toEqual(['uninstall']);
    expect(texts(m)).toContain('Installed');
    expect(m.size).toEqual({ bytes: 100, label: 'on disk' });
  });

  it('puts update first when a newer version is on the network', () => {
    const g = game({ downloaded: true, installed: true, local_version: '20240115', update_available: true });
    const m = describeGame(g, null);
    expect(m.actions).toEqual(['update', 'uninstall']);
    expect(m.primary).toBe('update');
    expect(texts(m)).toContain('Update 20241002');
  });

  it('offers install and remove for a downloaded game that is not installed', () => {
    const m = describeGame(game({ downloaded: true, local_version: '20241002', local_size: 5 }), null);
    expect(m.actions).toEqual(['install', 'remove']);
    expect(m.primary).toBe('install');
    expect(texts(m)).toContain('Downloaded');
  });

  it('offers to resume a partial download, or says why it cannot', () => {
    const partial = game({ local_size: 300 });
    const m = describeGame(partial, null);
    expect(m.actions).toEqual(['resume']);
    expect(texts(m)).toContain('Partial download');
    expect(actionEndpoint('resume')).toBe('download');
    const stuck = describeGame(game({ local_size: 300, available: false, latest_peers: [], peers_by_version: {} }), null);
    expect(stuck.actions).toEqual([]);
    expect(stuck.hint).toMatch(/no peer offers the rest/);
  });

  it('says so when no peer has a game and it is not here', () => {
    const m = describeGame(game({ available: false, latest_peers: [], peers_by_version: {}, latest_size: 0 }), null);
    expect(m.actions).toEqual([]);
    expect(texts(m)).toEqual(['Not on the network']);
    expect(m.hint).toBe('No peer offers this game right now.');
    expect(m.size).toBeNull();
  });
});

describe('filters and search', () => {
  const installed = game({ id: 'a', name: 'Alpha', installed: true, downloaded: true });
  const offered = game({ id: 'b', name: 'Bravo' });
  const update = game({ id: 'c', name: 'Charlie', installed: true, downloaded: true, update_available: true });
  const nowhere = game({ id: 'd', name: 'Delta', available: false, latest_peers: [] });

  it('filters by state', () => {
    const all = [installed, offered, update, nowhere];
    expect(all.filter((g) => matchesFilter(g, 'all')).length).toBe(4);
    expect(all.filter((g) => matchesFilter(g, 'installed')).map((g) => g.id)).toEqual(['a', 'c']);
    expect(all.filter((g) => matchesFilter(g, 'available')).map((g) => g.id)).toEqual(['b']);
    expect(all.filter((g) => matchesFilter(g, 'updates')).map((g) => g.id)).toEqual(['c']);
  });

  it('searches name, genre and description, every word, any case', () => {
    const g = game({ name: 'OpenArena', genre: 'Arena shooter', description: 'Fast and free.' });
    expect(matchesSearch(g, '')).toBe(true);
    expect(matchesSearch(g, 'open')).toBe(true);
    expect(matchesSearch(g, 'SHOOTER free')).toBe(true);
    expect(matchesSearch(g, 'shooter racing')).toBe(false);
  });

  it('sorts by name so cards keep their place', () => {
    expect(sortGames([update, nowhere, installed, offered]).map((g) => g.name)).toEqual(['Alpha', 'Bravo', 'Charlie', 'Delta']);
  });

  it('lists each peer\'s games once, whatever versions it has', () => {
    const byPeer = gamesOfPeers([
      game({ id: 'y', name: 'Yankee', peers_by_version: { '1': ['q'] } }),
      game({ id: 'x', name: 'Xray', peers_by_version: { '1': ['p', 'q'], '2': ['p'] } }),
    ]);
    expect(byPeer.get('p')).toEqual(['Xray']);
    expect(byPeer.get('q')).toEqual(['Xray', 'Yankee']);
    expect(byPeer.get('nobody')).toBeUndefined();
  });

  it('lists apart only the games nothing can be done with', () => {
    expect(isReachable(game(), null)).toBe(true);
    expect(isReachable(game({ available: false, latest_peers: [], peers_by_version: {} }), null)).toBe(false);
    expect(isReachable(game({ available: false, local_size: 10 }), null)).toBe(true);
    expect(isReachable(game({ available: false, downloaded: true }), null)).toBe(true);
    expect(isReachable(game({ available: false }), op({ kind: 'remove' }))).toBe(true);
  });
});

describe('windowTitle', () => {
  it('shows the running download first, then the machine', () => {
    expect(windowTitle('alice', [game()], {})).toBe('lanspread · alice');
    expect(windowTitle(undefined, [], {})).toBe('lanspread');
    expect(windowTitle('alice', [game()], { openarena: op({ done: 425, total: 1000 }) })).toBe('42% OpenArena — lanspread · alice');
    expect(windowTitle('alice', [game()], { openarena: op({ kind: 'install', done: 5, total: 10 }) })).toBe('lanspread · alice');
    expect(windowTitle('a', [game()], { openarena: op({ done: 1, total: 10 }), xonotic: op({ done: 1, total: 10 }) })).toBe('10% OpenArena +1 — lanspread · a');
  });
});
