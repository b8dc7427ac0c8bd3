import type { Context } from '../core/context.js';
import { ConflictError, InterruptedError, RemoteError, oneLine } from '../core/errors.js';
import type { Plan, PlannedChange } from '../core/mutation.js';
import type { ExecResult, HostTarget, SshPool } from '../remote/ssh-types.js';
import { findVm, recordVmStatus, vmTarget, type Vm, type VmStatus } from './vm.js';
import { allowedFrom, confirmingState, domainUuid, domstateCommand, houyiStatus, parseDomstate, powerCommand, type DomainState, type PowerAction } from './virsh.js';

// start_vm / stop_vm / reboot_vm: act on the VM's NC through virsh, wait until the NC reports the
// domain in the new state, and only then write that state to houyi. A failure anywhere before the
// confirmation leaves houyi as it was, so the metadb never claims a state the NC does not have.

export interface PowerRequest {
  action: PowerAction;
  vm: string;
  /** Seconds to wait for the NC to confirm the new state. */
  waitSec: number;
}

export interface PowerResult {
  vm_name: string;
  instance_id: string;
  nc_name: string;
  action: PowerAction;
  previous_status: VmStatus;
  status: VmStatus;
  domain_state: DomainState;
  duration_ms: number;
}

const POLL_MS = 500;
/** virsh itself returns at once (shutdown and reboot only ask the guest); a stuck libvirtd must not hang us. */
const VIRSH_TIMEOUT_SEC = 60;

export function powerPlan(vm: Vm, action: PowerAction, to: VmStatus): Plan {
  const domain = domainUuid(vm);
  return {
    action: `${action}_vm`,
    targets: [vm.name],
    remote: [
      { host: vm.nc_hostname, command: powerCommand(action, domain) },
      { host: vm.nc_hostname, command: `${domstateCommand(domain)}  (repeated until "${confirmingState(action)}")` },
    ],
    sql: [{ db: 'houyi', statement: 'UPDATE vm SET status = ? WHERE id = ? AND status = ?', params: [to, vm.id, vm.status] }],
  };
}

/** Checks the VM's state in houyi and returns the plan and the action, for the command layer to run. */
export async function planPower(ctx: Context, req: PowerRequest): Promise<PlannedChange<PowerResult>> {
  const db = ctx.db('houyi');
  const vm = await findVm(db, req.vm);
  const domain = domainUuid(vm);
  const allowed = allowedFrom(req.action);
  if (!allowed.includes(vm.status)) {
    throw new ConflictError(`VM ${vm.name} is ${vm.status} in houyi; ${req.action}_vm needs it ${allowed.join(' or ')}`);
  }
  const want = confirmingState(req.action);
  const to = houyiStatus(want);
  const nc = vmTarget(vm).via!;
  return {
    plan: powerPlan(vm, req.action, to),
    audit: { command: `hyapi ${req.action}_vm`, targets: [vm.name], detail: { nc: nc.name, domain, command: powerCommand(req.action, domain) } },
    resultDetail: (r) => ({ nc: nc.name, previous_status: r.previous_status, status: r.status, domain_state: r.domain_state }),
    async apply() {
      const started = Date.now();
      const pool = await ctx.ssh();
      const r = await pool.exec(nc, powerCommand(req.action, domain), { timeoutSec: VIRSH_TIMEOUT_SEC, signal: ctx.signal });
      sshOk(r, nc);
      if (r.category === 'exit') {
        // virsh refuses when the domain is already there (houyi drifted from the NC); that is a confirmation too.
        const now = await domstate(pool, nc, domain, ctx.signal);
        if (now !== want) throw new RemoteError(oneLine(`${nc.name}: ${powerCommand(req.action, domain)} exited ${r.exitCode}: ${lastLine(r.stderr || r.stdout)}; domain is ${now}; houyi unchanged`), { host: nc.name });
      }
      const state = await waitForState(ctx, pool, nc, domain, want, req.waitSec);
      const status = houyiStatus(state);
      if (!(await recordVmStatus(db, vm.id, vm.status, status))) {
        const fresh = await findVm(db, vm.name);
        if (fresh.status !== status) throw new ConflictError(`VM ${vm.name} changed in houyi to ${fresh.status} while ${req.action}_vm ran; NC reports ${state}; houyi left as is`);
      }
      return { vm_name: vm.name, instance_id: vm.instance_id, nc_name: nc.name, action: req.action, previous_status: vm.status, status, domain_state: state, duration_ms: Date.now() - started };
    },
  };
}

function sshOk(r: ExecResult, nc: HostTarget): void {
  if (r.category === null || r.category === 'exit') return;
  if (r.category === 'interrupted') throw new InterruptedError(`interrupted while talking to ${nc.name}; houyi unchanged`);
  throw new RemoteError(oneLine(`${nc.name}: ${r.category}${r.error ? `: ${r.error}` : ''}; houyi unchanged`), { host: nc.name });
}

async function domstate(pool: SshPool, nc: HostTarget, domain: string, signal: AbortSignal): Promise<DomainState> {
  const r = await pool.exec(nc, domstateCommand(domain), { timeoutSec: VIRSH_TIMEOUT_SEC, signal });
  sshOk(r, nc);
  if (r.category === 'exit') throw new RemoteError(oneLine(`${nc.name}: ${domstateCommand(domain)} exited ${r.exitCode}: ${lastLine(r.stderr || r.stdout)}`), { host: nc.name });
  return parseDomstate(r.stdout, nc.name);
}

async function waitForState(ctx: Context, pool: SshPool, nc: HostTarget, domain: string, want: DomainState, waitSec: number): Promise<DomainState> {
  const deadline = Date.now() + waitSec * 1000;
  for (;;) {
    const state = await domstate(pool, nc, domain, ctx.signal);
    if (state === want) return state;
    if (Date.now() >= deadline) throw new RemoteError(`${nc.name}: domain ${domain} is still "${state}" after ${waitSec}s (waiting for "${want}"); houyi unchanged`, { host: nc.name });
    await ctx.clock.sleep(POLL_MS, ctx.signal).catch(() => {
      throw new InterruptedError(`interrupted while waiting for ${domain} on ${nc.name}; houyi unchanged`);
    });
  }
}

function lastLine(s: string): string {
  const lines = s.trim().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 200);
}
