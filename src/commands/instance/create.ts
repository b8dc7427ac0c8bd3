import type { Command } from 'commander';
import { failureText } from '../../flow/engine.js';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { collect, wholeNumber } from '../../core/flags.js';
import { addMutationOptions, audited, parseMutationFlags, printPlan, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, parseOutput, printSections, type OutputFormat, jsonText } from '../../core/output.js';
import { stderrProgress } from '../../flow/progress.js';
import { CLAIMABLE, DEFAULT_LEASE_TTL_SEC, claimAndRun } from '../../flow/runner.js';
import { INSTALL_FLOW } from '../../flow/install/index.js';
import { installPlan, type PlannedStep } from '../../flow/install/plan.js';
import { findCustins } from '../../rds/custins.js';
import { previewCreate, validateRequest, writeCreate } from '../../rds/create.js';
import type { CreateSpec } from '../../rds/validate.js';
import { instanceRecord } from '../../rds/record.js';
import type { AccountRequest, CreateRequest } from '../../rds/validate.js';
import { recordSection } from '../../rds/views.js';

// `rdsctl instance create`: the console's CreateInstance. Validate, allocate, write the task,
// then run the install flow in the foreground (progress on stderr) unless --no-wait.

export interface Options {
  request: CreateRequest;
  /** Data-at-rest encryption from the first start (issue 12). */
  encrypt: boolean;
  noWait: boolean;
  leaseTtlSec: number;
  output: OutputFormat;
  flags: MutationFlags;
}

interface RawOptions {
  name?: string;
  engine?: string;
  version?: string;
  class?: string;
  storage?: number;
  storageType?: string;
  zone?: string;
  network?: string;
  vpcId?: string;
  vswitchId?: string;
  db: string[];
  account: string[];
  passwordStdin?: boolean;
  insecurePasswordArg?: boolean;
  guard?: boolean;
  encrypt?: boolean;
  whitelist?: string;
  ecsSg?: string;
  timeZone?: string;
  wait: boolean;
  leaseTtl: number;
  output: string;
  dryRun?: boolean;
  reason?: string;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd);
  addMutationOptions(cmd)
    .option('--name <name>', 'instance name (default: a generated rm-… name)')
    .option('--engine <engine>', 'database engine (default mysql)')
    .option('--version <version>', 'engine version (default: the newest offered)')
    .option('--class <class>', 'instance class (default: the smallest; see `instance classes`)')
    .option('--storage <GB>', 'storage size in GB (default 20, within the storage type\'s range)', positiveInt('--storage'))
    .option('--storage-type <type>', 'storage type (default local_ssd when offered)')
    .option('--zone <zone>', 'zone (default: the zone with the most free memory on RDS hosts)')
    .option('--network <type>', 'classic or vpc (default classic)')
    .option('--vpc-id <id>', 'VPC of a vpc-network instance')
    .option('--vswitch-id <id>', 'vswitch (in --zone) of a vpc-network instance')
    .option('--db <name>', 'create this database (repeatable)', collect, [])
    .option('--account <name>', 'create this ReadWrite account on the --db databases (repeatable); its password comes from stdin with --password-stdin', collect, [])
    .option('--password-stdin', 'read the passwords of --account entries given without one from stdin, one line each, in order')
    .option('--insecure-password-arg', 'accept --account NAME:PASSWORD: the password is then visible to every local user in ps and /proc/PID/cmdline, and stays in shell history')
    .option('--guard', 'a guard (disaster-recovery) instance: read-only on both hosts')
    .option('--encrypt', 'encrypt data at rest from the start (file_key_management; the key is made on the master\'s NC and kept in the backup store)')
    .option('--whitelist <ips>', 'comma list of IPv4 addresses/CIDRs allowed to connect (default 127.0.0.1)')
    .option('--ecs-sg <id>', 'ECS security group whose members may connect')
    .option('--time-zone <tz>', 'server time zone: SYSTEM, +08:00 or a named zone such as Asia/Shanghai (default SYSTEM)')
    .option('--no-wait', 'write the task and return; `rdsctl worker` runs it')
    .option('--lease-ttl <seconds>', 'lease of the foreground runner, renewed while it works', positiveInt('--lease-ttl'), DEFAULT_LEASE_TTL_SEC)
    .addHelpText(
      'after',
      '\nProgress goes to stderr as "[n/81] step  host  took  (elapsed)". On success stdout gets the\n' +
        'instance record with its endpoint (-o json: the record, fields in the README). A failed step\n' +
        'stops the flow and exits with its code (5 remote, 8 unavailable, …); fix the cause and run\n' +
        '`rdsctl instance step NAME resume`.\n' +
        examples(
          'rdsctl instance create',
          'printf "%s\\n" "$APP_PW" | rdsctl instance create --class rds.mysql.s2.large --zone cn-hangzhou-b --db shop --account app --password-stdin -o json',
          'printf "%s\\n" "$APP_PW" | rdsctl instance create --db shop --account app --password-stdin',
          'rdsctl instance create --no-wait && rdsctl worker --once',
        ),
    )
    .action(async (o: RawOptions) => {
      const { opts, needPw } = parse(o);
      return run(async (ctx) => {
        await readPasswords(ctx, opts.request.accounts, needPw);
        return create(opts, ctx);
      });
    });
}

function positiveInt(flag: string): (v: string) => number {
  return wholeNumber(flag, 1, 9_999_999, 'a positive whole number');
}

async function readStdinLines(ctx: Context): Promise<string[]> {
  let text = '';
  for await (const chunk of ctx.io.stdin) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  return text.split(/\r?\n/);
}

/** Everything but the passwords --password-stdin reads: those need the context's stdin. */
function parse(o: RawOptions): { opts: Options; needPw: number[] } {
  const flags = parseMutationFlags(o);
  const accounts: AccountRequest[] = [];
  const needPw: number[] = [];
  for (const spec of o.account) {
    const i = spec.indexOf(':');
    if (i === 0) throw new UsageError(`--account ${spec.slice(0, 1)}…: the name comes before the ":"`);
    // A password in argv is readable by every local user (ps, /proc/PID/cmdline) for as long as
    // the command runs, and stays in shell history: refused unless the operator says so.
    if (i > 0 && !o.insecurePasswordArg) throw new UsageError(`--account ${spec.slice(0, i)}:…: a password on the command line is visible in ps and shell history; pipe it with --password-stdin (or add --insecure-password-arg)`);
    accounts.push(i < 0 ? { name: spec, password: '' } : { name: spec.slice(0, i), password: spec.slice(i + 1) });
    if (i < 0) needPw.push(accounts.length - 1);
  }
  if (needPw.length && !o.passwordStdin) throw new UsageError(`--account ${accounts[needPw[0]!]!.name} has no password: pipe it with --password-stdin`);
  if (o.passwordStdin && !needPw.length) throw new UsageError('--password-stdin: every --account already has a password');
  const whitelist = o.whitelist === undefined ? [] : o.whitelist.split(',').map((s) => s.trim()).filter(Boolean);
  if (o.whitelist !== undefined && !whitelist.length) throw new UsageError('--whitelist needs at least one address');
  const request: CreateRequest = {
    ...(o.name !== undefined ? { name: o.name } : {}),
    ...(o.engine !== undefined ? { engine: o.engine } : {}),
    ...(o.version !== undefined ? { version: o.version } : {}),
    ...(o.class !== undefined ? { classCode: o.class } : {}),
    ...(o.storage !== undefined ? { storageGb: o.storage } : {}),
    ...(o.storageType !== undefined ? { storageType: o.storageType } : {}),
    ...(o.zone !== undefined ? { zone: o.zone } : {}),
    ...(o.network !== undefined ? { network: o.network } : {}),
    ...(o.vpcId !== undefined ? { vpcId: o.vpcId } : {}),
    ...(o.vswitchId !== undefined ? { vswitchId: o.vswitchId } : {}),
    ...(o.ecsSg !== undefined ? { ecsSg: o.ecsSg } : {}),
    ...(o.timeZone !== undefined ? { timeZone: o.timeZone } : {}),
    dbs: o.db,
    accounts,
    guard: Boolean(o.guard),
    whitelist,
  };
  return { opts: { request, encrypt: Boolean(o.encrypt), noWait: !o.wait, leaseTtlSec: o.leaseTtl, output: parseOutput(o.output), flags }, needPw };
}

/** Fill in, from stdin, the passwords of the accounts at `needPw` (--password-stdin). */
async function readPasswords(ctx: Context, accounts: AccountRequest[], needPw: number[]): Promise<void> {
  if (!needPw.length) return;
  if (ctx.io.stdinIsTTY) throw new UsageError('--password-stdin reads from a pipe, not a terminal');
  const lines = await readStdinLines(ctx);
  needPw.forEach((idx, k) => {
    const pw = lines[k];
    if (pw === undefined || pw === '') throw new UsageError(`--password-stdin: no password on line ${k + 1} for account ${accounts[idx]!.name}`);
    accounts[idx]!.password = pw;
  });
}

export async function create(opts: Options, ctx: Context): Promise<number> {
  const spec = await validateRequest(ctx, opts.request);
  const summary = {
    name: spec.name ?? null,
    engine: spec.engine,
    version: spec.version,
    class: spec.cls.class_code,
    storage_gb: spec.storageGb,
    storage_type: spec.storageType,
    zone: spec.zone,
    network: spec.network,
    guard: spec.guard,
    dbs: spec.dbs,
    accounts: spec.accounts.map((a) => a.name),
    time_zone: spec.timeZone,
    encrypt: opts.encrypt,
  };
  if (opts.flags.dryRun) return dryRun(ctx, opts, spec);
  return audited(ctx, { command: 'instance create', targets: [spec.name ?? '(new instance)', `zone ${spec.zone}`], reason: opts.flags.reason, detail: summary }, async () => {
    const created = await writeCreate(ctx, spec, { encrypt: opts.encrypt });
    ctx.io.err(`${created.insName}: master ${created.alloc.master.hostname}, standby ${created.alloc.slave.hostname}, port ${created.alloc.port}; task ${created.taskId}\n`);
    let exitCode: number = ExitCode.OK;
    let failed: string | null = null;
    if (opts.noWait) {
      ctx.io.err(`task ${created.taskId} is queued: \`rdsctl worker\` will run it\n`);
    } else {
      const { result } = await claimAndRun(ctx, created.taskId, { allow: CLAIMABLE.resume, mode: { kind: 'resume' }, ttlSec: opts.leaseTtlSec, progress: stderrProgress(ctx.io) });
      if (result.failed) {
        exitCode = result.failed.exitCode;
        failed = failureText(result.failed);
      } else if (result.status === 'cancelled') {
        exitCode = ExitCode.CONFLICT;
        failed = `a step boundary: cancelled by ${result.cancelledBy ?? 'an operator'}`;
      }
    }
    const db = ctx.db('dbaas');
    const record = await instanceRecord(db, await findCustins(db, String(created.custinsId)));
    if (opts.output === 'json') ctx.io.out(jsonText(record));
    else printSections(ctx.io, opts.output, [recordSection(record)], record);
    if (exitCode === ExitCode.CONFLICT && failed) ctx.io.err(`rdsctl: ${created.insName}: install stopped at ${failed}; \`rdsctl instance delete ${created.insName}\` removes what it built\n`);
    else if (failed) ctx.io.err(`rdsctl: ${created.insName}: install failed at ${failed}; fix the cause, then \`rdsctl instance step ${created.insName} resume\`\n`);
    else if (!opts.noWait) ctx.io.err(`${created.insName} is running: endpoint ${record.endpoint}\n`);
    return { value: exitCode, ok: failed === null, exitCode, detail: { ins_name: created.insName, custins_id: created.custinsId, task_id: created.taskId, status: record.status, ...(failed ? { failed } : {}) } };
  });
}

/**
 * The allocation is made for real in a transaction that is rolled back, so the hosts, port and
 * SQL shown are the ones a create would use now; the steps show what they would run on them.
 */
async function dryRun(ctx: Context, opts: Options, spec: CreateSpec): Promise<number> {
  const p = await previewCreate(ctx, spec);
  const { master, slave } = p.alloc;
  const steps = installPlan({ insName: p.insName, timeZone: spec.timeZone, port: p.alloc.port, master, slave });
  const plan = {
    action: 'create instance',
    targets: [`${p.insName}: master ${master.hostname} (${master.ip}), standby ${slave.hostname} (${slave.ip}), port ${p.alloc.port}`],
    sql: p.sql,
    remote: steps.flatMap((s) => s.remote),
    notes: [
      `${spec.engine} ${spec.version} ${spec.cls.class_code}, ${spec.storageGb} GB ${spec.storageType}, zone ${spec.zone}, ${spec.network}`,
      'the SQL runs in one transaction with the zone\'s hostinfo rows locked; ids shown are those this dry run was given (the real create gets new ones)',
      `then the install flow: ${INSTALL_FLOW.length} steps${opts.noWait ? ' (left to `rdsctl worker`)' : ''}; a step with a skip rule runs only when the rule applies`,
    ],
  };
  if (opts.output === 'json') {
    printPlan(ctx, { ...plan, extra: { steps } }, 'json');
    return ExitCode.OK;
  }
  printPlan(ctx, { ...plan, remote: [] }, 'text');
  ctx.io.out(steps.map(stepText).join(''));
  return ExitCode.OK;
}

function stepText(s: PlannedStep): string {
  const head = `step ${s.seq}/${INSTALL_FLOW.length} ${s.name} [${s.role}] ${s.hosts.join(', ')} (${s.effect})${s.skip_rule ? `; ${s.skip_rule}` : ''}\n`;
  return head + s.remote.map((r) => `  remote [${r.host}]: ${r.command}\n`).join('');
}
