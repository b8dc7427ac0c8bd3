import { BAKLIST_TABLE } from '../backup/sets.js';
import { AURORA_TABLE } from '../ha/records.js';
import { ROUTE_TABLE } from '../ha/route-store.js';
import { ACCOUNT_TABLE, DB_TABLE, SECRET_TABLE } from './accounts.js';
import { CUSTINS_TABLE } from './custins.js';
import { LOGPLAN_TABLE } from './logplan.js';
import { MAXSCALE_INS_TABLE, MAXSCALE_LINK_TABLE } from './maxscale.js';
import { DB_PERF_TABLE, INSTANCE_PERF_TABLE } from './perf.js';
import { SLB_TABLE, VPC_MAPPING_TABLE } from './vpc.js';
import { ECS_SG_TABLE, WHITELIST_TABLE } from './whitelist.js';

// The dbaas tables that hold rows of one RDS instance (by custins_id), each declared by the
// module that owns the table (its writers live there too: the install steps call them), with
// what `instance delete` does to the instance's rows. The delete flow's statements and its
// --dry-run come from INSTANCE_TABLES (src/rds/delete.ts), so a table added for an instance gets
// its release next to its writers, not in a list kept by hand elsewhere.

export interface InstanceTable {
  table: string;
  /** The delete's statement for the instance's rows; its one parameter is the custins id. */
  release: string;
}

/** Every such table, in the order the delete releases them (custins first, as before the list moved here). */
export const INSTANCE_TABLES: readonly InstanceTable[] = [
  CUSTINS_TABLE,
  ACCOUNT_TABLE,
  SECRET_TABLE,
  DB_TABLE,
  WHITELIST_TABLE,
  ECS_SG_TABLE,
  SLB_TABLE,
  VPC_MAPPING_TABLE,
  MAXSCALE_INS_TABLE,
  MAXSCALE_LINK_TABLE,
  ROUTE_TABLE,
  BAKLIST_TABLE,
  LOGPLAN_TABLE,
  INSTANCE_PERF_TABLE,
  DB_PERF_TABLE,
  AURORA_TABLE,
];

/**
 * The other dbaas tables with a custins_id column, and why the delete's metadata step leaves
 * them alone. A unit test checks that every custins_id table of fixtures/schema/dbaas is in one
 * of the two lists, so a new table has to be placed.
 */
export const NOT_RELEASED: Readonly<Record<string, string>> = {
  instance: 'released with the port and capacity by do_release_port_and_capacity (rds/allocate.ts)',
  task_queue: 'task history, the delete task included',
  mycnf_custinstance: 'history: the parameters the instance ran with',
  custins_param: 'history: the create parameters',
  ha_event: 'HA history',
  ha_watch_lease: 'kept by the HA watch itself (src/ha)',
  backup_plan: 'kept by the backup service (src/backup)',
  binlog_archive: 'backups outlive the instance until their retention ends (src/backup)',
  custins_encryption: 'the key reference backups of the instance still need (src/backup)',
  custins_tls: 'which CA issued its nodes\' certificates: kept so a half-deleted instance is still reached over verified TLS (src/rds/instance-tls.ts)',
  rds_port_reservation: 'held and freed by the migrate task that reserved the port, keyed by its task (src/lifecycle)',
  perf_sample: 'monitoring history',
  perf_rollup: 'monitoring history',
  db_perf_sample: 'monitoring history',
  db_perf_rollup: 'monitoring history',
};
