import type { Command } from 'commander';
import { examples, type Runner } from '../core/command.js';
import type { Context } from '../core/context.js';
import { describeError, ExitCode, ExitWith, UsageError } from '../core/errors.js';
import { addOutputOption, jsonLine, parseOutput, printSections, tsvField, type OutputFormat, termSafe } from '../core/output.js';
import { which, whichSections, WHICH_KINDS_TEXT, type WhichResult } from '../houyi/which.js';

export interface Options {
  /** One name, or every name read from stdin (`go2which -`). */
  names: string[] | 'stdin';
  output: OutputFormat;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .argument('<name>', `a ${WHICH_KINDS_TEXT}; "-" reads one name per line from stdin`)
    .addHelpText(
      'after',
      '\nA name is looked up by its shape: IP:PORT is an endpoint (instance address, connection address,\n' +
        'SLB or VPC VIP, SLB node port); an IP is every address column; HOST:PORT a connection string;\n' +
        'anything else every name and id column. With "-", names come from stdin (blank lines and\n' +
        '#comments skipped), looked up over one connection per metadb; -o json prints one JSON object per\n' +
        'line ({query, matches, errors} or {query, error: {code, message, near}}), in input order; -o tsv one\n' +
        'line per match (query, kind, name, matched_on). Exits 3\n' +
        'when any name is not found, 8 when a metadb could not be read.\n' +
        examples(
          'rdsctl go2which vm-001',
          'rdsctl go2which 127.0.0.11:3306',
          'rdsctl go2which rm-demo01.mysql.rds.aliyuncs.com',
          'rdsctl go2which lvs-01',
          'rdsctl go2which vpc-bp1… -o json',
          "awk '{print $1}' hosts.txt | rdsctl go2which - -o json | jq -c '{q: .query, k: .matches[0].kind}'",
        ),
    )
    .action(async (name: string, o: { output: string }) => {
      const opts: Options = { names: name === '-' ? 'stdin' : [name], output: parseOutput(o.output) };
      return run((ctx) => go2which(opts, ctx));
    });
}

export async function go2which(opts: Options, ctx: Context): Promise<number | void> {
  if (opts.names === 'stdin') return whichMany(opts, ctx, await readNames(ctx.io.stdin));
  const r = await which(ctx, opts.names[0]!);
  printSections(ctx.io, opts.output, whichSections(r), r);
  if (r.errors.length) {
    for (const e of r.errors) ctx.io.err(`rdsctl: ${termSafe(e)}\n`);
    throw new ExitWith(ExitCode.UNAVAILABLE);
  }
}

/**
 * Every name in turn on the context's one connection per metadb. An answer per name, in input
 * order, as it is found: a runbook piping 500 names sees the first answers at once. A name that
 * fails is reported on its own line and the rest still run.
 */
async function whichMany(opts: Options, ctx: Context, names: string[]): Promise<number> {
  if (names.length === 0) throw new UsageError('go2which -: no names on stdin');
  let notFound = 0;
  let unavailable = 0;
  if (opts.output === 'tsv') ctx.io.out('query\tkind\tname\tmatched_on\n');
  for (const name of names) {
    let r: WhichResult;
    try {
      r = await which(ctx, name);
    } catch (e) {
      const d = describeError(e);
      if (d.exitCode === ExitCode.NOT_FOUND) notFound++;
      else if (d.exitCode === ExitCode.UNAVAILABLE) unavailable++;
      else throw e;
      const near = (e as { suggestions?: string[] }).suggestions ?? [];
      if (opts.output === 'json') ctx.io.out(jsonLine({ query: name, error: { code: d.exitCode, message: d.message, near } }));
      else ctx.io.err(`rdsctl: ${d.message}${d.hint ? ` (${d.hint})` : ''}\n`);
      continue;
    }
    if (r.errors.length) unavailable++;
    if (opts.output === 'json') ctx.io.out(jsonLine(r));
    else if (opts.output === 'tsv') ctx.io.out(r.matches.map((m) => [name, m.kind, m.name, m.matched_on].map(tsvField).join('\t') + '\n').join(''));
    else printSections(ctx.io, opts.output, whichSections(r, `${name}: `), r);
  }
  ctx.io.err(`${names.length} name(s): ${names.length - notFound - unavailable} found, ${notFound} not found${unavailable ? `, ${unavailable} with unreadable sources` : ''}\n`);
  return unavailable ? ExitCode.UNAVAILABLE : notFound ? ExitCode.NOT_FOUND : ExitCode.OK;
}

/** Longest name line read by `go2which -`, and the most names: a runbook's list, not a dump. */
const MAX_NAME_LINE = 1024;
const MAX_NAMES = 100_000;

/** Names for `go2which -`: one per line, trimmed; blank lines and #comments skipped. */
export async function readNames(stream: NodeJS.ReadableStream): Promise<string[]> {
  const names: string[] = [];
  let rest = '';
  let lineNo = 0;
  const take = (line: string): void => {
    lineNo++;
    const name = line.replace(/\r$/, '').trim();
    if (!name || name.startsWith('#')) return;
    if (name.length > MAX_NAME_LINE) throw new UsageError(`go2which -: line ${lineNo} is ${name.length} characters (at most ${MAX_NAME_LINE})`);
    if (names.length >= MAX_NAMES) throw new UsageError(`go2which -: more than ${MAX_NAMES} names on stdin`);
    names.push(name);
  };
  for await (const chunk of stream) {
    rest += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    const lines = rest.split('\n');
    rest = lines.pop()!;
    for (const l of lines) take(l);
    if (rest.length > MAX_NAME_LINE * 4) throw new UsageError(`go2which -: line ${lineNo + 1} is longer than ${MAX_NAME_LINE} characters`);
  }
  if (rest) take(rest);
  return names;
}
