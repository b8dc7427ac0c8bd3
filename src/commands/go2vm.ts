import type { Command } from 'commander';
import { examples, type Runner } from '../core/command.js';
import type { Context } from '../core/context.js';
import { ConflictError, UsageError } from '../core/errors.js';
import { addMutationOptions, parseMutationFlags, printPlan, type MutationFlags } from '../core/mutation.js';
import { destructiveNote, fold, forwardedStdin, runRemote, type FanoutDisplay } from '../houyi/fanout.js';
import { addDisplayOptions, addSshOptions, commandTimeout, concurrency, parseDisplay, parseSshFlags, type SshFlags } from './shared/ssh-flags.js';
import { leasePool } from '../houyi/pool.js';
import { openShell } from '../houyi/session.js';
import { requireRunning, vmTarget, type Vm } from '../houyi/vm.js';
import { resolveVms } from '../houyi/targets.js';
import { isTransfer, transferRun, type TransferFlags } from '../houyi/transfer.js';
import { addTransferOptions, parseTransfer } from './shared/transfer-flags.js';
import type { HostTarget } from '../remote/ssh-types.js';

export interface Options {
  vm: string;
  /** Open the VM's NC instead of the VM. */
  nc: boolean;
  command: string[];
  display: FanoutDisplay;
  transfer?: TransferFlags;
  /** Forward rdsctl's stdin to every host when it is not a terminal; the CLI sets it unless --no-stdin (absent: never). */
  stdin?: boolean;
  ssh: SshFlags;
  mutation: MutationFlags;
}

export function register(cmd: Command, run: Runner): void {
  cmd
    .argument('<vm>', 'VM name, instance ID (i-…) or IP, or a node set of them: vm-[001-040], @nc:NAME, @cluster:NAME, @zone:NAME, with ! & ^')
    .argument('[command...]', 'after --: the command to run on every VM; without one, an interactive shell on one VM')
    .option('--nc', 'go to the VM\'s NC instead of the VM');
  addDisplayOptions(cmd);
  cmd.option('--no-stdin', 'do not forward rdsctl\'s stdin to the hosts (it is forwarded when not a terminal, as clush does)');
  addSshOptions(cmd, { fanout: true });
  addTransferOptions(cmd);
  addMutationOptions(cmd, { confirm: true })
    .addHelpText(
      'after',
      '\nThe VM is reached through its NC as a jump host. A VM that houyi does not show as running is\n' +
        'refused (exit 9) without an SSH attempt. A command matching a destructive pattern (rm -rf,\n' +
        'reboot, kill -9, …) asks first; without a TTY it needs --yes.\n' +
        examples(
          'rdsctl go2vm vm-001',
          'rdsctl go2vm i-bp1a2b3c4d -- uptime',
          'rdsctl go2vm 127.0.2.7 -o json -- cat /etc/os-release',
          'rdsctl go2vm vm-001 --nc',
          "rdsctl go2vm 'vm-[001-010]!vm-004' -b -- uname -r",
          'rdsctl go2vm @nc:nc-a01 --copy fix.sh --dest /root',
        ),
    )
    .action(async (vm: string, command: string[], o: Record<string, string | number | boolean | undefined>) => {
      const opts: Options = {
        vm,
        nc: Boolean(o.nc),
        command,
        display: parseDisplay(o as { gather?: boolean; output?: string }),
        stdin: o.stdin !== false,
        transfer: parseTransfer(o, command),
        ssh: parseSshFlags(o),
        mutation: parseMutationFlags(o as { dryRun?: boolean; reason?: string; yes?: boolean }),
      };
      return run((ctx) => go2vm(opts, ctx));
    });
}

export async function go2vm(opts: Options, ctx: Context): Promise<number> {
  const transfer = opts.transfer ?? {};
  const vms = await resolveVms(ctx, opts.vm);
  const targets = uniqueTargets(opts.nc ? vms.map((v) => vmTarget(v).via!) : vms.map((v) => vmTarget(requireRunningAll(vms) ?? v)));
  if (opts.command.length === 0 && !isTransfer(transfer)) {
    if (targets.length > 1) throw new UsageError(`"${opts.vm}" is ${targets.length} hosts: give a command after -- (an interactive shell is for one host)`);
    if (opts.mutation.dryRun) throw new UsageError('--dry-run needs a command after --');
    return openShell(ctx, { verb: 'go2vm', target: targets[0]!, acceptNew: opts.ssh.acceptNew, reason: opts.mutation.reason });
  }
  const t = transferRun(transfer, opts.command.join(' '));
  const command = t.command;
  const profile = ctx.profile();
  if (opts.mutation.dryRun) {
    const route = (x: HostTarget): string => (x.via ? ` via ${x.via.name}` : '');
    printPlan(
      ctx,
      {
        action: 'go2vm',
        targets: targets.map((x) => `${x.name} (${x.address}:${x.port ?? profile.ssh.port}${route(x)})`),
        remote: [{ host: fold(targets.map((x) => x.name)), command }],
        notes: [...t.notes, ...destructiveNote(command)],
      },
      opts.display === 'json' ? 'json' : 'text',
    );
    return 0;
  }
  const { notes: _notes, ...parts } = t;
  const stdin = isTransfer(transfer) ? undefined : await forwardedStdin(ctx, opts.stdin === true, command);
  const lease = await leasePool(ctx, opts.ssh);
  try {
    return await runRemote(ctx, lease.pool, {
      ...parts,
      ...(stdin !== undefined ? { stdin } : {}),
      verb: 'go2vm',
      targets,
      command,
      display: opts.display,
      concurrency: concurrency(opts.ssh, profile),
      commandTimeoutSec: commandTimeout(opts.ssh, profile),
      reason: opts.mutation.reason,
      yes: opts.mutation.yes,
    });
  } finally {
    await lease.release();
  }
}

/**
 * Every VM must be running (houyi) before anything connects: one that is not fails the whole run
 * at once (exit 9), naming it, as a single VM does. Returns undefined when all are running.
 */
function requireRunningAll(vms: Vm[]): undefined {
  const idle = vms.filter((v) => v.status !== 'running');
  if (idle.length === 1 && vms.length === 1) requireRunning(idle[0]!);
  if (idle.length > 0) {
    const by = new Map<string, string[]>();
    for (const v of idle) by.set(v.status, [...(by.get(v.status) ?? []), v.name]);
    throw new ConflictError(`${idle.length} of ${vms.length} VMs are not running (houyi): ${[...by].map(([st, n]) => `${fold(n)} (${st})`).join(', ')}; not connecting`, { hint: 'leave them out with ! in the node set' });
  }
  return undefined;
}

function uniqueTargets(ts: HostTarget[]): HostTarget[] {
  const seen = new Set<string>();
  return ts.filter((x) => {
    const k = `${x.name}\0${x.address}:${x.port}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
