import type { Command } from 'commander';
import { examples, type Runner } from '../core/command.js';
import type { Context } from '../core/context.js';
import { UsageError } from '../core/errors.js';
import { addMutationOptions, parseMutationFlags, printPlan, type MutationFlags } from '../core/mutation.js';
import { destructiveNote, forwardedStdin, runRemote, type FanoutDisplay } from '../houyi/fanout.js';
import { addDisplayOptions, addSshOptions, commandTimeout, parseDisplay, parseSshFlags, type SshFlags } from './shared/ssh-flags.js';
import { leasePool } from '../houyi/pool.js';
import { openShell } from '../houyi/session.js';
import { findVm, requireRunning, vmTarget } from '../houyi/vm.js';

export interface Options {
  vm: string;
  /** Open the VM's NC instead of the VM. */
  nc: boolean;
  command: string[];
  display: FanoutDisplay;
  /** Forward rdsctl's stdin to every host when it is not a terminal; the CLI sets it unless --no-stdin (absent: never). */
  stdin?: boolean;
  ssh: SshFlags;
  mutation: MutationFlags;
}

export function register(cmd: Command, run: Runner): void {
  cmd
    .argument('<vm>', 'VM name, instance ID (i-…) or IP')
    .argument('[command...]', 'after --: the command to run on the VM; without one, an interactive shell')
    .option('--nc', 'go to the VM\'s NC instead of the VM');
  addDisplayOptions(cmd);
  cmd.option('--no-stdin', 'do not forward rdsctl\'s stdin to the hosts (it is forwarded when not a terminal, as clush does)');
  addSshOptions(cmd);
  addMutationOptions(cmd, { confirm: true })
    .addHelpText(
      'after',
      '\nThe VM is reached through its NC as a jump host. A VM that houyi does not show as running is\n' +
        'refused (exit 9) without an SSH attempt. A command matching a destructive pattern (rm -rf,\n' +
        'reboot, kill -9, …) asks first; without a TTY it needs --yes.\n' +
        examples('rdsctl go2vm vm-001', 'rdsctl go2vm i-bp1a2b3c4d -- uptime', 'rdsctl go2vm 127.0.2.7 -o json -- cat /etc/os-release', 'rdsctl go2vm vm-001 --nc'),
    )
    .action(async (vm: string, command: string[], o: Record<string, string | boolean | undefined>) => {
      const opts: Options = {
        vm,
        nc: Boolean(o.nc),
        command,
        display: parseDisplay(o as { gather?: boolean; output?: string }),
        stdin: o.stdin !== false,
        ssh: parseSshFlags(o),
        mutation: parseMutationFlags(o as { dryRun?: boolean; reason?: string; yes?: boolean }),
      };
      return run((ctx) => go2vm(opts, ctx));
    });
}

export async function go2vm(opts: Options, ctx: Context): Promise<number> {
  const vm = await findVm(ctx.db('houyi'), opts.vm);
  const target = opts.nc ? vmTarget(vm).via! : vmTarget(requireRunning(vm));
  if (opts.command.length === 0) {
    if (opts.mutation.dryRun) throw new UsageError('--dry-run needs a command after --');
    return openShell(ctx, { verb: 'go2vm', target, acceptNew: opts.ssh.acceptNew, reason: opts.mutation.reason });
  }
  const command = opts.command.join(' ');
  const profile = ctx.profile();
  if (opts.mutation.dryRun) {
    const route = target.via ? ` via ${target.via.name}` : '';
    printPlan(ctx, { action: 'go2vm', targets: [`${target.name} (${target.address}:${target.port ?? profile.ssh.port}${route})`], remote: [{ host: target.name, command }], notes: destructiveNote(command) }, opts.display === 'json' ? 'json' : 'text');
    return 0;
  }
  const stdin = await forwardedStdin(ctx, opts.stdin === true, command);
  const lease = await leasePool(ctx, opts.ssh);
  try {
    return await runRemote(ctx, lease.pool, {
      ...(stdin !== undefined ? { stdin } : {}),
      verb: 'go2vm',
      targets: [target],
      command,
      display: opts.display,
      concurrency: 1,
      commandTimeoutSec: commandTimeout(opts.ssh, profile),
      reason: opts.mutation.reason,
      yes: opts.mutation.yes,
    });
  } finally {
    await lease.release();
  }
}
