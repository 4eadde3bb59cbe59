// Guards against progress that misleads: a speed of "—" or an ETA before the daemon knows
// one, a stalled download still showing its last speed, verified bytes drawn for an install
// (which has none), or a percent for an unknown total.
import { describe, expect, it } from 'vitest';
import { progressView } from '../src/progress_view';
import { op } from './fixtures';

const MiB = 1024 * 1024;

describe('progressView', () => {
  it('shows bytes, speed, time left and peers while downloading', () => {
    const v = progressView(op({ done: 32 * MiB, total: 96 * MiB, bytes_per_second: 12 * MiB, eta_seconds: 5.4, active_peers: 2 }));
    expect(v.phase).toBe('Downloading');
    expect(v.pct).toBe(33);
    expect(v.stats).toEqual(['32 MiB of 96 MiB', '12 MiB/s', '5 s left', 'from 2 peers']);
    expect(v.stalledText).toBeNull();
    expect(v.verifiedPct).toBeNull();
  });

  it('leaves the speed out until there is one, and says the ETA is coming', () => {
    const v = progressView(op({ done: 0, total: 96 * MiB, bytes_per_second: 0, eta_seconds: null, active_peers: 1 }));
    expect(v.stats).toEqual(['0 B of 96 MiB', 'estimating time left', 'from 1 peer']);
  });

  it('says a download is stalled instead of showing a stale speed', () => {
    const v = progressView(op({ done: 10 * MiB, total: 96 * MiB, bytes_per_second: 5 * MiB, eta_seconds: 17, stalled_seconds: 12 }));
    expect(v.stalledText).toBe('No data for 12 s — waiting for peers to answer');
    expect(v.stats).toEqual(['10 MiB of 96 MiB', 'from 1 peer']);
    expect(progressView(op({ stalled_seconds: 2 })).stalledText).toBeNull();
  });

  it('draws verified bytes under the received ones for transfers only', () => {
    const dl = progressView(op({ done: 60 * MiB, verified: 48 * MiB, total: 96 * MiB }));
    expect(dl.verifiedPct).toBe(50);
    expect(dl.verifiedText).toBe('48 MiB verified');
    expect(progressView(op({ done: 48 * MiB, verified: 48 * MiB, total: 96 * MiB })).verifiedText).toBeNull();
    const install = progressView(op({ kind: 'install', phase: 'extracting', done: 5, total: 10, verified: 0 }));
    expect(install.verifiedPct).toBeNull();
    expect(install.phase).toBe('Extracting');
    expect(install.stats).toEqual([]);
  });

  it('names the checking, waiting-for-peers and committing phases of a download or verify', () => {
    expect(progressView(op({ phase: 'checking', done: 5, total: 10 })).phase).toBe('Checking the files already here');
    expect(progressView(op({ phase: 'committing', done: 10, total: 10 })).phase).toBe('Finishing');
    const waiting = progressView(op({ kind: 'verify', phase: 'waiting_for_peers', done: 10 * MiB, total: 96 * MiB, bytes_per_second: 0, stalled_seconds: 42, active_peers: 0 }));
    expect(waiting.phase).toBe('Waiting for peers');
    expect(waiting.stats).toEqual(['10 MiB of 96 MiB']);
    expect(waiting.stalledText).toBe('No peer offers this version right now — it goes on when one is back (42 s so far)');
  });

  it('shows a busy bar without a number when the total is unknown', () => {
    const v = progressView(op({ phase: 'resolving', done: 0, total: 0 }));
    expect(v.pct).toBeNull();
    expect(v.phase).toBe('Asking peers for the file list');
    expect(v.stats).toEqual([]);
  });
});
