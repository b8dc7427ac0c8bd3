import { INSTALL_FLOW, INSTALL_FLOW_V1, installFlow } from '../../src/flow/install/index.js';
import { batchAt, firstUnfinished } from '../../src/flow/engine.js';
import type { StepRow } from '../../src/flow/store.js';

// The install flow table against the seed (seeds/000_86b71710843e32a1.txt, "安装过程"): 80
// entries, the seed's order and spelling, and the declarations the engine relies on.

const SEED = `do_init
do_ensure_minor_version
do_build_params
do_calculate_maintain_user_list
do_init_replicator_into_meta
do_check_port_and_dir_exists_and_makesure_not_exist
do_rm_instance_dir_exists
do_make_dir
do_make_dir
do_build_mysql_params
do_update_minor_version_in_metadb
do_init_mysql_db_master
do_init_mysql_db_slave
do_add_rds_ecs_sg_rel
do_flush_admin_whitelist
do_flush_user_whitelist
do_check_mysql_init_db_success_master
do_check_mysql_init_db_success_slave
do_start_instance_noblock_by_master
do_start_instance_noblock_by_slave
do_check_start_instnace_success_master
do_check_start_instance_success_slave
do_initialize_mysql_account_by_master
do_grant_master_by_master
do_install_plugin_for55
do_install_plugin_for55
do_add_flashback_privilege_for55
do_add_flashback_privilege_for55
do_install_duallmaster_master
do_install_duallmaster_slave
do_check_slave_master
do_check_slave_slave
do_check_accounts_and_dbs
do_create_accounts
do_create_dbs
do_create_slb_ins_4vpc
do_create_single_tenant_ins_and_wait_finish
do_wait_for_creating_maxscale_task_finish
do_refresh_maxscale_link_topology
do_wait_for_refreshing_maxscale_task_finish
do_create_rds_data_route
do_validate_rds_data_route
do_create_vpc_custins_mapping_address
do_insert_time_zone_tables
do_reset_named_timezone_config
do_reset_named_timezone_config
do_insert_baklist
do_insert_logplan
do_active_instance_for_install
do_update_ins_account_status
do_add_aurora
do_add_port_to_instance_config
do_add_port_to_instance_config
do_enable_aurora
do_reset_root_password
do_drop_root_account
do_reset_root_password
do_drop_root_account
do_create_trigger_by_master
do_create_view_by_master
do_update_aurora_to_readonly_for_guard_ins
do_set_server_readonly_for_guard_ins
do_set_server_readonly_for_guard_ins
do_rebuild_initd
do_rebuild_initd
do_config_resource
do_persist_resource_config
do_config_resource
do_persist_resource_config
do_write_insname_to_file
do_write_insname_to_file
do_switch_nglb_if_needed
do_flush_insinfo_file
do_add_kill_option_for_api_created_superuser
do_add_kill_option_for_api_created_superuser
do_persis_custins_param
do_insert_instance_perf_table
do_insert_db_perf
do_start_create_new_backup
do_add_readins_to_maxscale_config`.split('\n');

describe('INSTALL_FLOW', () => {
  // Version 1 is the seed's list; version 2 (#16) adds do_issue_server_cert after do_make_dir:slave.
  test('is the seed: 80 entries in its order and spelling (instnace, persis)', () => {
    expect(SEED).toHaveLength(80);
    expect(INSTALL_FLOW_V1.map((s) => s.name)).toEqual(SEED);
    expect(INSTALL_FLOW_V1.map((s) => s.name)).toContain('do_check_start_instnace_success_master');
    expect(INSTALL_FLOW_V1.map((s) => s.name)).toContain('do_persis_custins_param');
  });

  test('a name listed twice runs once per role: master first, then slave', () => {
    const names = [...new Set(SEED)];
    for (const name of names) {
      const entries = INSTALL_FLOW_V1.filter((s) => s.name === name);
      if (entries.length === 1) continue;
      expect(entries.map((e) => e.role)).toEqual(['master', 'slave']);
    }
  });

  test('the pairs run as a pair per role: reset/drop root and config/persist resource', () => {
    const at = (i: number) => `${INSTALL_FLOW_V1[i]!.name}:${INSTALL_FLOW_V1[i]!.role}`;
    const i = SEED.indexOf('do_reset_root_password');
    expect([at(i), at(i + 1), at(i + 2), at(i + 3)]).toEqual(['do_reset_root_password:master', 'do_drop_root_account:master', 'do_reset_root_password:slave', 'do_drop_root_account:slave']);
    const j = SEED.indexOf('do_config_resource');
    expect([at(j), at(j + 1), at(j + 2), at(j + 3)]).toEqual(['do_config_resource:master', 'do_persist_resource_config:master', 'do_config_resource:slave', 'do_persist_resource_config:slave']);
  });

  test('name + role is unique, so every entry can be named as name:role', () => {
    const keys = INSTALL_FLOW_V1.map((s) => `${s.name}:${s.role}`);
    expect(new Set(keys).size).toBe(80);
  });

  test('every entry declares a role, a timeout and an effect; remote effects have a probe', () => {
    for (const s of INSTALL_FLOW) {
      expect(['master', 'slave', 'both', 'metadb']).toContain(s.role);
      expect(s.timeoutSec).toBeGreaterThan(0);
      expect(['remote', 'metadb', 'check']).toContain(s.effect);
      if (s.effect === 'remote') expect({ name: s.name, probe: typeof s.probe }).toEqual({ name: s.name, probe: 'function' });
      if (s.role === 'metadb') expect({ name: s.name, effect: s.effect }).not.toEqual({ name: s.name, effect: 'remote' });
      expect(typeof s.run).toBe('function');
    }
  });

  test('a skip rule comes with its description', () => {
    for (const s of INSTALL_FLOW) if (s.skip) expect({ name: s.name, rule: typeof s.skipRule }).toEqual({ name: s.name, rule: 'string' });
  });

  test('groups are consecutive entries; the ones that run together are the ones meant to', () => {
    const groups = new Map<string, number[]>();
    INSTALL_FLOW_V1.forEach((s, i) => s.group && groups.set(s.group, [...(groups.get(s.group) ?? []), i]));
    for (const [g, idx] of groups) expect({ g, consecutive: idx.every((v, k) => k === 0 || v === idx[k - 1]! + 1) }).toEqual({ g, consecutive: true });
    const members = (g: string) => groups.get(g)!.map((i) => `${i + 1} ${INSTALL_FLOW_V1[i]!.name}:${INSTALL_FLOW_V1[i]!.role}`);
    expect(members('init_db')).toEqual(['12 do_init_mysql_db_master:master', '13 do_init_mysql_db_slave:slave', '14 do_add_rds_ecs_sg_rel:metadb', '15 do_flush_admin_whitelist:both']);
    expect(members('check_init')).toEqual(['16 do_flush_user_whitelist:both', '17 do_check_mysql_init_db_success_master:master', '18 do_check_mysql_init_db_success_slave:slave']);
    expect(members('host_files').map((m) => Number(m.split(' ')[0]))).toEqual([64, 65, 66, 67, 68, 69, 70, 71]);
    for (const g of ['make_dir', 'start', 'check_start', 'duallmaster', 'tz', 'port_conf']) expect(groups.get(g)!.map((i) => INSTALL_FLOW_V1[i]!.role)).toEqual(['master', 'slave']);
    // The two whitelist steps rewrite the same rules file: never in one group.
    expect(INSTALL_FLOW_V1[14]!.group).not.toBe(INSTALL_FLOW_V1[15]!.group);
    // do_check_slave_slave logs in as the superuser, which exists on the standby only after
    // do_check_slave_master saw it catch up: never together.
    expect(INSTALL_FLOW_V1[30]!.group).toBeUndefined();
    expect(INSTALL_FLOW_V1[31]!.group).toBeUndefined();
  });

  test('the flow definition names it "install"', () => {
    expect(installFlow.name).toBe('install');
    expect(installFlow.steps).toBe(INSTALL_FLOW);
  });

  test('version 2 is the seed plus do_issue_server_cert before my.cnf is rendered; version 1 stays for old tasks', () => {
    expect(installFlow.version).toBe(2);
    expect(installFlow.previous?.[1]).toBe(INSTALL_FLOW_V1);
    const v2 = INSTALL_FLOW.map((s) => `${s.name}:${s.role}`);
    const k = v2.indexOf('do_issue_server_cert:both');
    expect(v2[k - 1]).toBe('do_make_dir:slave');
    expect(v2[k + 1]).toBe('do_build_mysql_params:both');
    expect([...v2.slice(0, k), ...v2.slice(k + 1)]).toEqual(INSTALL_FLOW_V1.map((s) => `${s.name}:${s.role}`));
  });
});

describe('engine order helpers', () => {
  const row = (seq: number, status: StepRow['status']): StepRow => ({ task_id: 1, seq, step_name: INSTALL_FLOW_V1[seq - 1]!.name, role: INSTALL_FLOW_V1[seq - 1]!.role, status, attempts: 0, host: null, skip_reason: null, error: null, detail: null, result: null, gmt_started: null, gmt_finished: null });

  test('resume starts at the first step neither done nor skipped (running = cut off, runs again)', () => {
    const rows = INSTALL_FLOW_V1.map((_, i) => row(i + 1, i < 10 ? 'done' : i === 10 ? 'running' : 'pending'));
    rows[3]!.status = 'skipped';
    expect(firstUnfinished(rows)).toBe(10);
    expect(firstUnfinished(rows.map((r) => ({ ...r, status: 'done' as const })))).toBe(-1);
  });

  test('a group runs together; a finished member is left out', () => {
    const rows = INSTALL_FLOW_V1.map((_, i) => row(i + 1, 'pending'));
    const init = SEED.indexOf('do_init_mysql_db_master');
    expect(batchAt(INSTALL_FLOW_V1, rows, init)).toEqual([init, init + 1, init + 2, init + 3]);
    rows[init + 1]!.status = 'done';
    expect(batchAt(INSTALL_FLOW_V1, rows, init)).toEqual([init]);
    expect(batchAt(INSTALL_FLOW_V1, rows, 0)).toEqual([0]);
  });
});
