import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { requireRole } from '../../core/authz.js';
import { UsageError } from '../../core/errors.js';
import { addMutationOptions, applyAudited, confirm, parseMutationFlags, printPlan } from '../../core/mutation.js';
import { addOutputOption, parseOutput, printRecords, type OutputFormat } from '../../core/output.js';
import { listRoutes, planAddRoute, planDeleteRoute, ROUTE_COLUMNS, validateRouteInput, type Route, type RouteRef } from '../../vpc/routes.js';
import { cidrArg, idArg } from '../../vpc/validate.js';

// `rdsctl vpc route list|add|delete`: route entries in the VPC database (the seeds' go2vpc).

export interface ListOptions {
  output: OutputFormat;
  vpc?: string;
}

export function register(cmd: Command, run: Runner): void {
  cmd.helpCommand(false).addHelpText('after', examples('rdsctl vpc route list --vpc vpc-bp1…', 'rdsctl vpc route add --vpc vpc-bp1… --cidr 10.200.0.0/16 --next-hop 172.16.1.20'));
  addOutputOption(cmd.command('list').description('List route entries, optionally of one VPC'))
    .option('--vpc <id>', 'only routes of this VPC')
    .addHelpText('after', examples('rdsctl vpc route list', 'rdsctl vpc route list --vpc vpc-bp1… -o json'))
    .action(async (o: { output: string; vpc?: string }) => {
      const opts: ListOptions = { output: parseOutput(o.output), ...(o.vpc !== undefined ? { vpc: idArg(o.vpc, '--vpc') } : {}) };
      return run((ctx) => list(opts, ctx));
    });

  const add = addOutputOption(cmd.command('add').description('Add a custom route (validated before anything is written)'));
  addMutationOptions(add)
    .option('--vpc <id>', 'the VPC (required)')
    .option('--cidr <cidr>', 'destination block, host bits zero, e.g. 10.200.0.0/16 (required)')
    .option('--next-hop <ip>', 'IPv4 next hop: inside the VPC block, or one of its NAT gateways or ECS instances (required)')
    .option('--description <text>', 'one line, at most 255 characters')
    .addHelpText(
      'after',
      '\nRefused before writing: a malformed CIDR or one with host bits set (usage, 2), a next hop outside\n' +
        'the VPC that is none of its NAT gateways or instances (2), a destination inside one of the VPC\'s\n' +
        'vSwitch blocks or one the VPC already routes (conflict, 9).\n' +
        examples('rdsctl vpc route add --vpc vpc-bp1… --cidr 10.200.0.0/16 --next-hop 172.16.1.20 --reason "IDC VPN, ticket 812"', 'rdsctl vpc route add --vpc vpc-bp1… --cidr 10.201.0.0/16 --next-hop 172.16.1.20 --dry-run'),
    )
    .action(async (o: { output: string; vpc?: string; cidr?: string; nextHop?: string; description?: string; dryRun?: boolean; reason?: string }) => {
      const route = validateRouteInput(o);
      const flags = parseMutationFlags(o);
      const output = parseOutput(o.output);
      return run(async (ctx) => {
        await requireRole(ctx, 'operator', 'rdsctl vpc route add');
        const change = await planAddRoute(ctx, route);
        if (flags.dryRun) return printPlan(ctx, change.plan, output === 'json' ? 'json' : 'text');
        const created = await applyAudited(ctx, change, flags.reason);
        ctx.io.err(`added route ${created.route_id}: ${created.dst_cidr} via ${created.next_hop} in ${created.vpc_id}\n`);
        printRoute(ctx, output, created);
      });
    });

  const del = addOutputOption(cmd.command('delete').description('Delete a custom route, by ROUTE_ID or by --vpc and --cidr (asks first)'));
  addMutationOptions(del, { confirm: true })
    .argument('[route-id]', 'the route id (rte-…)')
    .option('--vpc <id>', 'the VPC, with --cidr')
    .option('--cidr <cidr>', 'the destination block, with --vpc')
    .addHelpText('after', '\nSystem routes come with their VPC and are refused (exit 9).\n' + examples('rdsctl vpc route delete rte-bp1… --reason "VPN retired" --yes', 'rdsctl vpc route delete --vpc vpc-bp1… --cidr 10.200.0.0/16 --dry-run'))
    .action(async (routeId: string | undefined, o: { output: string; vpc?: string; cidr?: string; dryRun?: boolean; yes?: boolean; reason?: string }) => {
      const ref = parseRouteRef(routeId, o);
      const flags = parseMutationFlags(o);
      const output = parseOutput(o.output);
      return run(async (ctx) => {
        await requireRole(ctx, 'admin', 'rdsctl vpc route delete');
        const change = await planDeleteRoute(ctx, ref);
        const route = change.route;
        if (flags.dryRun) return printPlan(ctx, change.plan, output === 'json' ? 'json' : 'text');
        await confirm(ctx, change.what, flags, [`${route.route_id} (${route.dst_cidr} in ${route.vpc_id})`]);
        await applyAudited(ctx, change, flags.reason);
        ctx.io.err(`deleted route ${route.route_id}: ${route.dst_cidr} in ${route.vpc_id}\n`);
        printRoute(ctx, output, route);
      });
    });
}

function parseRouteRef(routeId: string | undefined, o: { vpc?: string; cidr?: string }): RouteRef {
  if (routeId !== undefined) {
    if (o.vpc !== undefined || o.cidr !== undefined) throw new UsageError('give either ROUTE_ID or --vpc with --cidr, not both');
    return { route_id: idArg(routeId, 'ROUTE_ID') };
  }
  if (o.vpc === undefined || o.cidr === undefined) throw new UsageError('name the route: ROUTE_ID, or --vpc and --cidr');
  return { vpc_id: idArg(o.vpc, '--vpc'), dst_cidr: cidrArg(o.cidr, '--cidr') };
}

export async function list(opts: ListOptions, ctx: Context): Promise<void> {
  printRecords(ctx.io, opts.output, ROUTE_COLUMNS, await listRoutes(ctx.db('vpc'), opts.vpc));
}

function printRoute(ctx: Context, output: OutputFormat, r: Route): void {
  if (output === 'json') ctx.io.out(JSON.stringify(r, null, 2) + '\n');
  else printRecords(ctx.io, output, ROUTE_COLUMNS, [r]);
}
