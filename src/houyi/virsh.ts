import { RemoteError } from '../core/errors.js';
import { bad } from '../rds/domain.js';
import { shellJoin } from '../remote/quote.js';
import type { Vm, VmStatus } from './vm.js';

// The hypervisor CLI on an NC. Production NCs run libvirt's virsh; each lab NC carries a stand-in
// with the same subcommands and output. A domain is addressed by its UUID (houyi vm.uuid), never
// by the vm name: virsh tries a domain argument as an id first, then as a UUID, then as a name,
// so a VM named "1" would be taken for whatever domain has id 1 on that NC. A UUID cannot be
// mistaken for an id or for another domain's name.

export type PowerAction = 'start' | 'stop' | 'reboot';

const VIRSH_VERB: Record<PowerAction, string> = { start: 'start', stop: 'shutdown', reboot: 'reboot' };

/** `virsh domstate` words (libvirt's virDomainState names as virsh prints them). */
export const DOMAIN_STATES = ['no state', 'running', 'blocked', 'idle', 'paused', 'in shutdown', 'shut off', 'crashed', 'pmsuspended'] as const;
export type DomainState = (typeof DOMAIN_STATES)[number];

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The VM's domain UUID, checked: a missing or malformed houyi vm.uuid is an error naming the row. */
export function domainUuid(vm: Pick<Vm, 'name' | 'uuid'>): string {
  const u = typeof vm.uuid === 'string' ? vm.uuid.toLowerCase() : vm.uuid;
  if (typeof u !== 'string' || !UUID_RE.test(u)) bad({ table: 'houyi.vm', key: `name=${vm.name}` }, 'uuid', vm.uuid, 'a libvirt domain UUID (8-4-4-4-12 hex digits)');
  return u;
}

/** `domain` is the domain's UUID (domainUuid). */
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
