// What the Settings view says about how peers are found and reached: the discovery state in
// words, which interfaces are used and why, and each peer named by address.
import type { DaemonSettings, Discovery, ManualPeer } from './types';

export function discoveryText(d: Discovery | undefined): string {
  if (!d) return 'Unknown (the daemon does not report it)';
  const on = d.interfaces.length > 0 ? ` on ${d.interfaces.join(', ')}` : '';
  switch (d.state) {
    case 'running':
      return `Looking for peers${on}`;
    case 'waiting_for_interface':
      return 'Waiting for a network connection — peers are looked for as soon as one is up';
    case 'starting':
      return 'Starting';
    case 'restarting':
      return 'Restarting after a failure';
    case 'off':
      return 'Off — only peers named by address are reached';
    default:
      return d.state;
  }
}

export function interfacePolicyText(s: DaemonSettings | null): string {
  if (!s) return '';
  if (s.interfaces.length > 0) return `Only ${s.interfaces.join(', ')}`;
  if (s.all_interfaces) return 'Every interface, container and VM bridges included';
  return 'Automatic: every network with a LAN address; container and VM bridges (docker0, virbr0, …) are skipped';
}

export function manualPeerText(m: ManualPeer): string {
  if (m.listed) return 'Connected';
  if (m.peer_id) return 'Not answering right now';
  return 'Not reached yet';
}
