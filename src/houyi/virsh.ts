import { RemoteError } from '../core/errors.js';
import { shellJoin } from '../remote/quote.js';
import type { VmStatus } from './vm.js';

// The hypervisor CLI on an NC. Production NCs run libvirt's virsh; each lab NC carries a stand-in
// with the same subcommands and output. The libvirt domain name is the houyi vm name.

export type PowerAction = 'start' | 'stop' | 'reboot';

const VIRSH_VERB: Record<PowerAction, string> = { start: 'start', stop: 'shutdown', reboot: 'reboot' };

/** `virsh domstate` words (libvirt's virDomainState names as virsh prints them). */
export const DOMAIN_STATES = ['no state', 'running', 'blocked', 'idle', 'paused', 'in shutdown', 'shut off', 'crashed', 'pmsuspended'] as const;
export type DomainState = (typeof DOMAIN_STATES)[number];

export function powerCommand(action: PowerAction, domain: string): string {
  return shellJoin(['virsh', VIRSH_VERB[action], domain]);
}

export function domstateCommand(domain: string): string {
  return shellJoin(['virsh', 'domstate', domain]);
}

/** First non-empty line of `virsh domstate` output (it may add a reason with --reason). */
export function parseDomstate(out: string, where: string): DomainState {
  const line = out.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
  const state = line.replace(/\s*\(.*\)$/, '');
  if ((DOMAIN_STATES as readonly string[]).includes(state)) return state as DomainState;
  throw new RemoteError(`${where}: unexpected \`virsh domstate\` output "${line.slice(0, 80)}"`);
}

/** The state an action is confirmed by, as virsh reports it. */
export function confirmingState(action: PowerAction): DomainState {
  return action === 'stop' ? 'shut off' : 'running';
}

/** The houyi status that records a confirmed domain state. */
export function houyiStatus(state: DomainState): VmStatus {
  switch (state) {
    case 'running':
    case 'blocked':
    case 'idle':
    case 'paused':
      return 'running';
    case 'in shutdown':
      return 'stopping';
    case 'shut off':
    case 'crashed':
      return 'stopped';
    default:
      return 'pending';
  }
}

/** What houyi must say before an action may start: acting from any other state is a conflict. */
export function allowedFrom(action: PowerAction): VmStatus[] {
  return action === 'start' ? ['stopped'] : ['running'];
}
