import type { Command } from 'commander';
import { examples, type Runner } from '../core/command.js';
import type { Context } from '../core/context.js';
import { UsageError } from '../core/errors.js';
import { addMutationOptions, parseMutationFlags, printPlan, type MutationFlags } from '../core/mutation.js';
import { destructiveNote, forwardedStdin, fold, runRemote, type FanoutDisplay } from '../houyi/fanout.js';
import { addDisplayOptions, addSshOptions, commandTimeout, concurrency, parseDisplay, parseSshFlags, type SshFlags } from './shared/ssh-flags.js';
import { leasePool } from '../houyi/pool.js';
import { openShell } from '../houyi/session.js';
import { NC_STATUSES, resolveFilteredNcTargets, type NcFilter } from '../houyi/targets.js';
import { isTransfer, transferRun, type TransferFlags } from '../houyi/transfer.js';
import { addTransferOptions, parseTransfer } from './shared/transfer-flags.js';

export interface Options {
  target: string;
  /** Words after `--`, joined by spaces for the remote shell as ssh does; empty → interactive shell. */
  command: string[];
  display: FanoutDisplay;
  transfer?: TransferFlags;
  filter?: NcFilter;
  /** Forward rdsctl's stdin to every host when it is not a terminal; the CLI sets it unless --no-stdin (absent: never). */
  stdin?: boolean;
  ssh: SshFlags;
  mutation: MutationFlags;
}

export function register(cmd: Command, run: Runner): void {
  cmd
    .argument('<target>', 'NC hostname, IP or SN, or a node set: nc-a[01-12], a,b, @cluster:NAME, @zone:NAME, with ! (except) and & (and)')
    .argument('[command...]', 'after --: the command to run on every host; without one, an interactive shell on one host');
  addDisplayOptions(cmd);
  addTransferOptions(cmd);
  cmd.option('--status <list>', `only NCs whose houyi status is one of these (${NC_STATUSES.join(', ')}); the others are named on stderr`);
  cmd.option('--skip-locked', 'leave out NCs that houyi marks locked (named on stderr)');
  cmd.option('--no-stdin', 'do not forward rdsctl\'s stdin to the hosts (it is forwarded when not a terminal, as clush does)');
  addSshOptions(cmd, { fanout: true });
  addMutationOptions(cmd, { confirm: true })
    .addHelpText(
      'after',
      '\nThe command runs in each host\'s login shell, its words joined by spaces (as ssh does), so quote\n' +
        'pipes and globs meant for the remote side. Exit code: 0 when every host succeeded; with one host,\n' +
        'that host\'s own exit code; otherwise 5. The summary ("N ok, M failed: hosts") goes to stderr.\n' +
        'A command matching a destructive pattern (rm -rf, reboot, shutdown, mkfs, dd of=, iptables -F,\n' +
        'kill -9, …; see the README) shows the hosts and asks first; without a TTY it needs --yes.\n' +
        examples(
          'rdsctl go2nc nc-a01',
          'rdsctl go2nc nc-a[01-06] -- uptime',
          "rdsctl go2nc @cluster:hza-rds-01 -b -- 'df -h /mysqldata | tail -1'",
          "rdsctl go2nc '@zone:cn-hangzhou-a!nc-a03' -o json -- hostname",
          'rdsctl go2nc nc-a[01-12] --dry-run --reason "INC-42 check" -- systemctl restart pync',
          "rdsctl go2nc nc-a[01-04] --yes --reason 'INC-42 disk full' -- 'rm -rf /tmp/core.*'",
          'cat fix.sh | rdsctl go2nc nc-a[01-06] --status online --skip-locked -- bash',
          'rdsctl go2nc @cluster:hza-rds-01 --copy fix.sh conf.d --dest /root/inc42',
          'rdsctl go2nc nc-a[01-06] --rcopy /etc/my.cnf --dest ./cnf     # ./cnf/my.cnf.nc-a01, …',
          'rdsctl go2nc nc-a[01-06] --outdir out --errdir err -- dmesg',
        ),
    )
    .action(async (target: string, command: string[], o: Record<string, string | number | boolean | undefined>) => {
      const opts: Options = {
        target,
        command,
        display: parseDisplay(o as { gather?: boolean; output?: string }),
        stdin: o.stdin !== false,
        transfer: parseTransfer(o, command),
        filter: parseNcFilter(o),
        ssh: parseSshFlags(o),
        mutation: parseMutationFlags(o as { dryRun?: boolean; reason?: string; yes?: boolean }),
      };
      return run((ctx) => go2nc(opts, ctx));
    });
}

export function parseNcFilter(o: Record<string, unknown>): NcFilter {
  const f: NcFilter = {};
  if (typeof o.status === 'string') {
    const list = o.status.split(',').map((x) => x.trim()).filter(Boolean);
    const bad = list.filter((x) => !(NC_STATUSES as readonly string[]).includes(x));
    if (list.length === 0 || bad.length) throw new UsageError(`--status ${o.status}: expected a comma list of ${NC_STATUSES.join(', ')}`);
    f.status = list;
  }
  if (o.skipLocked) f.skipLocked = true;
  return f;
}

export async function go2nc(opts: Options, ctx: Context): Promise<number> {
  const transfer = opts.transfer ?? {};
  const { targets, skipped } = await resolveFilteredNcTargets(ctx, opts.target, opts.filter ?? {});
  if (skipped.length) ctx.io.err(`skipped ${skipped.length}: ${skippedText(skipped)}\n`);
  if (opts.command.length === 0 && !isTransfer(transfer)) {
    if (targets.length > 1) throw new UsageError(`"${opts.target}" is ${targets.length} hosts: give a command after -- (an interactive shell is for one host)`);
    if (opts.mutation.dryRun) throw new UsageError('--dry-run needs a command after --');
    return openShell(ctx, { verb: 'go2nc', target: targets[0]!, acceptNew: opts.ssh.acceptNew, reason: opts.mutation.reason });
  }
  const t = transferRun(transfer, opts.command.join(' '));
  const command = t.command;
  const profile = ctx.profile();
  if (opts.mutation.dryRun) {
    const names = targets.map((t) => t.name);
    printPlan(
      ctx,
      {
        action: 'go2nc',
        targets: targets.map((t) => `${t.name} (${t.address}:${t.port ?? profile.ssh.port})`),
        remote: [{ host: fold(names), command }],
        notes: [`concurrency ${concurrency(opts.ssh, profile)}, command timeout ${commandTimeout(opts.ssh, profile)}s`, ...t.notes, ...destructiveNote(command)],
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
      verb: 'go2nc',
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

/** "nc-a03 (offline), nc-a[05-06] (locked)": skipped hosts folded by reason. */
function skippedText(skipped: Array<{ host: string; why: string }>): string {
  const by = new Map<string, string[]>();
  for (const s of skipped) by.set(s.why, [...(by.get(s.why) ?? []), s.host]);
  return [...by].map(([why, hosts]) => `${fold(hosts)} (${why})`).join(', ');
}
