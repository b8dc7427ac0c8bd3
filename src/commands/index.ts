import type { CommandSpec } from '../core/command.js';

// Every command rdsctl has: its words, one-line summary, the role it needs, and where it lives.
// `rdsctl --help` is built from this table; a verb's module loads only when it runs.
// Groups (config, lab, instance, …) get their summary from GROUPS.

export const GROUPS: Record<string, string> = {
  config: 'Profiles: which metadbs and SSH settings rdsctl uses',
  audit: 'The audit trail of every mutating command: who, when, targets, reason, result',
  lab: 'A local region on real MariaDB and OpenSSH for trying rdsctl and for tests',
  lb_node: 'SLB layer-4 (LVS) nodes on the Xuanyuan database',
  proxy: 'SLB layer-7 proxies (Tengine, keyservers) on the Xuanyuan database',
  tianji: 'Tianji deployment model: product, cluster, service, server role, machine',
  pangu: 'Pangu (OSS storage): chunkservers and disks',
  vpc: 'VPC route entries (the go2vpc database)',
  instance: 'RDS instances: create, the install task\'s steps, the Dukang views, delete',
  task: 'The task queue of the RDS task engine (Pengine): tasks and their steps',
};

export const COMMANDS: CommandSpec[] = [
  { path: ['audit', 'list'], summary: 'Show audit records (intent + result per command run)', role: 'read', load: () => import('./audit/list.js') },
  { path: ['audit', 'backfill'], summary: 'Copy local audit records missing from dbaas.ops_audit', role: 'operator', load: () => import('./audit/backfill.js') },
  { path: ['config', 'list'], summary: 'List profiles; * marks the active one', role: 'none', load: () => import('./config/list.js') },
  { path: ['config', 'show'], summary: 'Show a profile with secrets masked', role: 'none', load: () => import('./config/show.js') },
  { path: ['config', 'use'], summary: 'Make a profile the current one', role: 'none', load: () => import('./config/use.js') },
  { path: ['config', 'set'], summary: 'Set one key of a profile', role: 'none', load: () => import('./config/set.js') },
  { path: ['lab', 'up'], summary: 'Start the local lab region (MariaDB metadbs + one sshd per host) and make its profile current', role: 'none', load: () => import('./lab/up.js') },
  { path: ['lab', 'status'], summary: 'Probe every lab component: MariaDB and each host; exit 4 if anything is down', role: 'none', load: () => import('./lab/status.js') },
  { path: ['lab', 'down'], summary: 'Stop every process of the lab by pid; --purge also removes its files and profile', role: 'none', load: () => import('./lab/down.js') },
  { path: ['go2nc'], summary: 'Shell on an NC, or run a command on a node set of NCs (clush-style)', role: 'operator', load: () => import('./go2nc.js') },
  { path: ['go2ncinfo'], summary: 'Describe an NC: zone, cluster, capacity, VMs, RDS instances; --live adds uptime/load/disk', role: 'read', load: () => import('./go2ncinfo.js') },
  { path: ['go2vm'], summary: 'Shell on a VM (or run a command) through its NC as jump host', role: 'operator', load: () => import('./go2vm.js') },
  { path: ['go2vmlist'], summary: 'List the VMs on an NC', role: 'read', load: () => import('./go2vmlist.js') },
  { path: ['go2which'], summary: 'What a name is and where it lives: VM, NC, RDS instance, SLB node, Tianji machine', role: 'read', load: () => import('./go2which.js') },
  { path: ['lb_node', 'status'], summary: 'LVS nodes with a summary by status; --live TCP-checks each; exit 4 if any is not online', role: 'read', load: () => import('./lb_node/status.js') },
  { path: ['proxy', 'status'], summary: 'SLB proxies with a summary by status; --live TCP-checks each; exit 4 if any is not online', role: 'read', load: () => import('./proxy/status.js') },
  { path: ['tianji', 'product'], summary: 'product list: products with their clusters, machines, services', role: 'read', load: () => import('./tianji/product.js') },
  { path: ['tianji', 'cluster'], summary: 'cluster list [--product]: clusters with their counts', role: 'read', load: () => import('./tianji/cluster.js') },
  { path: ['tianji', 'service'], summary: 'service list --cluster: the services a cluster runs and their server roles', role: 'read', load: () => import('./tianji/service.js') },
  { path: ['tianji', 'serverrole'], summary: 'serverrole status --cluster [--service]: SR instances and apps; exit 4 on a rule violation', role: 'read', load: () => import('./tianji/serverrole.js') },
  { path: ['tianji', 'machine'], summary: 'Everything Tianji deployed on one machine', role: 'read', load: () => import('./tianji/machine.js') },
  { path: ['pangu', 'chunkserver'], summary: 'chunkserver status [--cluster]: chunkservers and their disk counts', role: 'read', load: () => import('./pangu/chunkserver.js') },
  { path: ['pangu', 'disk'], summary: 'disk status (unhealthy first) | disk offline CS:DEVICE (replica and per-chunkserver safety rules)', role: 'read', load: () => import('./pangu/disk.js') },
  { path: ['vpc', 'route'], summary: 'route list [--vpc] | route add --vpc --cidr --next-hop | route delete', role: 'read', load: () => import('./vpc/route.js') },
  { path: ['check'], summary: 'CI smoke checks: lb_node proxy rds nc tianji pangu; table, -o json or --junit FILE; exit 4 unless all ok', role: 'read', load: () => import('./check.js') },
  { path: ['instance', 'classes'], summary: 'Engines, versions, classes, storage types and zones that create accepts', role: 'read', load: () => import('./instance/classes.js') },
  { path: ['instance', 'create'], summary: 'Create a primary-standby instance: allocate, then run the 80-step install flow', role: 'operator', load: () => import('./instance/create.js') },
  { path: ['instance', 'step'], summary: 'An instance\'s task: list | run [STEP] | retry | skip STEP | goto STEP | resume', role: 'read', load: () => import('./instance/step.js') },
  { path: ['instance', 'list'], summary: 'Instances with status, version, class, master and standby (--status, --nc, --zone)', role: 'read', load: () => import('./instance/list.js') },
  { path: ['instance', 'show'], summary: 'One instance: hosts, accounts, parameters, tasks; --live asks both servers', role: 'read', load: () => import('./instance/show.js') },
  { path: ['instance', 'backup'], summary: 'Full physical backup into the backup store (from the standby when healthy), then binlog archive and retention', role: 'operator', load: () => import('./instance/backup.js') },
  { path: ['instance', 'delete'], summary: 'Stop both servers, remove their files, free port and capacity, mark deleted', role: 'admin', load: () => import('./instance/delete.js') },
  { path: ['task', 'list'], summary: 'Tasks of the task queue, newest first (--status, --instance, --flow)', role: 'read', load: () => import('./task/list.js') },
  { path: ['task', 'show'], summary: 'One task: parameters, lease and every step', role: 'read', load: () => import('./task/show.js') },
  { path: ['worker'], summary: 'Run pending tasks from task_queue (several workers may share one metadb)', role: 'operator', load: () => import('./worker.js') },
  { path: ['hyapi'], summary: 'Houyi API actions (go2hyapi): detail_vm, list_vm, detail_nc, list_nc, start_vm, stop_vm, reboot_vm', role: 'read', load: () => import('./hyapi.js') },
];
