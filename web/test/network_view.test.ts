// Guards against the Settings view describing discovery or a peer named by address wrongly:
// a machine waiting for its network must say so (not "looking for peers"), the interfaces in
// use must be named, and a manual peer that never answered must not read as connected.
import { describe, expect, it } from 'vitest';
import { discoveryText, interfacePolicyText, manualPeerText } from '../src/network_view';

describe('discoveryText', () => {
  it('names the interfaces while running', () => {
    expect(discoveryText({ state: 'running', interfaces: ['eth0', 'br0'] })).toBe('Looking for peers on eth0, br0');
  });
  it('says it waits for a network rather than pretending to look', () => {
    expect(discoveryText({ state: 'waiting_for_interface', interfaces: [] })).toMatch(/^Waiting for a network connection/);
  });
  it('is honest when the daemon does not report discovery', () => {
    expect(discoveryText(undefined)).toMatch(/^Unknown/);
  });
});

describe('interfacePolicyText', () => {
  const base = { games_dir: '/g', peers: [], interfaces: [], all_interfaces: false, config_file: '/c' };
  it('names a restriction, else all, else automatic', () => {
    expect(interfacePolicyText({ ...base, interfaces: ['eth1'] })).toBe('Only eth1');
    expect(interfacePolicyText({ ...base, all_interfaces: true })).toMatch(/^Every interface/);
    expect(interfacePolicyText(base)).toMatch(/^Automatic/);
  });
});

describe('manualPeerText', () => {
  it('tells connected, silent and never reached apart', () => {
    expect(manualPeerText({ address: '10.0.0.7:7979', peer_id: 'ab', listed: true })).toBe('Connected');
    expect(manualPeerText({ address: '10.0.0.7:7979', peer_id: 'ab', listed: false })).toBe('Not answering right now');
    expect(manualPeerText({ address: '10.0.0.7:7979', peer_id: null, listed: false })).toBe('Not reached yet');
  });
});
