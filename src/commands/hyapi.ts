import type { Command } from 'commander';
import { examples, type Runner } from '../core/command.js';
import type { Context } from '../core/context.js';
import { requireRole } from '../core/authz.js';
import { UsageError } from '../core/errors.js';
import { addMutationOptions, parseMutationFlags, type MutationFlags } from '../core/mutation.js';
import { addOutputOption, parseOutput, type OutputFormat } from '../core/output.js';
import { ACTIONS, actionsHelp, callAction, parseCall, printAnswer, printFailure, type HyapiCall } from '../houyi/hyapi.js';

export interface Options {
  call: HyapiCall;
  output: OutputFormat;
  mutation: MutationFlags;
  /** Seconds to wait for the NC to confirm a start/stop/reboot. */
  waitSec: number;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd, 'json')
    .argument('<action>', 'the API action (see Actions below)')
    .argument('[params...]', 'key=value parameters of the action')
    .option('--wait <sec>', 'start_vm/stop_vm/reboot_vm: seconds to wait for the NC to confirm the new state', '120');
  addMutationOptions(cmd, { confirm: true })
    .addHelpText('after', actionsHelp() + examples('rdsctl hyapi detail_vm vm_name=vm-001', 'rdsctl hyapi list_nc zone=cn-hangzhou-a -o table', 'rdsctl hyapi stop_vm vm_name=vm-001 --reason "disk check" --dry-run', 'rdsctl hyapi start_vm vm_name=i-bp1574c30eedd5f3e0c1'))
    .action(async (action: string, params: string[], o: { output: string; wait: string; dryRun?: boolean; reason?: string; yes?: boolean }) => {
      const call = parseCall(action, params);
      const mutation = parseMutationFlags(o);
      if (!call.action.mutating && (mutation.dryRun || mutation.reason !== null || mutation.yes)) {
        throw new UsageError(`hyapi ${call.action.name} changes nothing: --dry-run, --reason and --yes are for the actions that do (${mutatingActions()})`);
      }
      const waitSec = Number(o.wait);
      if (!/^\d+(\.\d+)?$/.test(o.wait) || waitSec <= 0 || waitSec > 3600) throw new UsageError(`--wait ${o.wait}: must be seconds from 1 to 3600`);
      const opts: Options = { call, output: parseOutput(o.output), mutation, waitSec };
      return run((ctx) => hyapi(opts, ctx));
    });
}

export async function hyapi(opts: Options, ctx: Context): Promise<number | void> {
  // Reading is open to every role; driving a VM is an operator's job. Delegated actions check their own role.
  if (opts.call.action.mutating && !opts.call.action.delegate) await requireRole(ctx, 'operator', `rdsctl hyapi ${opts.call.action.name}`);
  try {
    const r = await callAction(ctx, opts.call, { dryRun: opts.mutation.dryRun, yes: opts.mutation.yes, reason: opts.mutation.reason, waitSec: opts.waitSec }, opts.output);
    printAnswer(ctx, opts.output, r);
  } catch (err) {
    printFailure(ctx, opts.output, opts.call, err);
    throw err;
  }
}

function mutatingActions(): string {
  return ACTIONS.filter((a) => a.mutating).map((a) => a.name).join(', ');
}
