import { loadRoute } from '../../ha/route-store.js';
import type { Node } from '../../rds/layout.js';
import type { FlowDef, StepDef } from '../types.js';
import { checkInstallParams, loadInstallCtx, nodesOf, type InstallCtx } from './context.js';
import * as a from './accounts.js';
import * as h from './host-setup.js';
import * as f from './host-files.js';
import * as n from './network.js';
import * as p from './prepare.js';
import * as r from './records.js';
import * as rep from './replication.js';
import * as srv from './server.js';
import * as t from './tls.js';
import { markCreatingAgain, markFailed, markRunning } from '../../rds/custins.js';

// The install flow of an RDS MySQL instance: the seed's 80 entries, in the seed's order, with
// the seed's spelling. A name listed twice runs once per role (master, then slave); the
// reset-root/drop-root and config-resource/persist-resource pairs run as a pair per role.

export const INSTALL_FLOW_NAME = 'install';

/** Version 1: the seed's 80 entries. Kept for tasks written by an rdsctl before version 2. */
export const INSTALL_FLOW_V1: ReadonlyArray<StepDef<InstallCtx, Node>> = [
  p.doInit,
  p.doEnsureMinorVersion,
  p.doBuildParams,
  p.doCalculateMaintainUserList,
  p.doInitReplicatorIntoMeta,
  h.doCheckPortAndDirExistsAndMakesureNotExist,
  h.doRmInstanceDirExists,
  h.doMakeDirMaster,
  h.doMakeDirSlave,
  h.doBuildMysqlParams,
  p.doUpdateMinorVersionInMetadb,
  h.doInitMysqlDbMaster,
  h.doInitMysqlDbSlave,
  n.doAddRdsEcsSgRel,
  n.doFlushAdminWhitelist,
  n.doFlushUserWhitelist,
  h.doCheckMysqlInitDbSuccessMaster,
  h.doCheckMysqlInitDbSuccessSlave,
  h.doStartInstanceNoblockByMaster,
  h.doStartInstanceNoblockBySlave,
  h.doCheckStartInstnaceSuccessMaster,
  h.doCheckStartInstanceSuccessSlave,
  a.doInitializeMysqlAccountByMaster,
  a.doGrantMasterByMaster,
  a.doInstallPluginFor55Master,
  a.doInstallPluginFor55Slave,
  a.doAddFlashbackPrivilegeFor55Master,
  a.doAddFlashbackPrivilegeFor55Slave,
  rep.doInstallDuallmasterMaster,
  rep.doInstallDuallmasterSlave,
  rep.doCheckSlaveMaster,
  rep.doCheckSlaveSlave,
  a.doCheckAccountsAndDbs,
  a.doCreateAccounts,
  a.doCreateDbs,
  n.doCreateSlbIns4vpc,
  n.doCreateSingleTenantInsAndWaitFinish,
  n.doWaitForCreatingMaxscaleTaskFinish,
  n.doRefreshMaxscaleLinkTopology,
  n.doWaitForRefreshingMaxscaleTaskFinish,
  n.doCreateRdsDataRoute,
  n.doValidateRdsDataRoute,
  n.doCreateVpcCustinsMappingAddress,
  srv.doInsertTimeZoneTables,
  srv.doResetNamedTimezoneConfigMaster,
  srv.doResetNamedTimezoneConfigSlave,
  r.doInsertBaklist,
  r.doInsertLogplan,
  r.doActiveInstanceForInstall,
  r.doUpdateInsAccountStatus,
  r.doAddAurora,
  f.doAddPortToInstanceConfigMaster,
  f.doAddPortToInstanceConfigSlave,
  r.doEnableAurora,
  a.doResetRootPasswordMaster,
  a.doDropRootAccountMaster,
  a.doResetRootPasswordSlave,
  a.doDropRootAccountSlave,
  srv.doCreateTriggerByMaster,
  srv.doCreateViewByMaster,
  r.doUpdateAuroraToReadonlyForGuardIns,
  srv.doSetServerReadonlyForGuardInsMaster,
  srv.doSetServerReadonlyForGuardInsSlave,
  f.doRebuildInitdMaster,
  f.doRebuildInitdSlave,
  f.doConfigResourceMaster,
  f.doPersistResourceConfigMaster,
  f.doConfigResourceSlave,
  f.doPersistResourceConfigSlave,
  f.doWriteInsnameToFileMaster,
  f.doWriteInsnameToFileSlave,
  n.doSwitchNglbIfNeeded,
  f.doFlushInsinfoFile,
  a.doAddKillOptionForApiCreatedSuperuserMaster,
  a.doAddKillOptionForApiCreatedSuperuserSlave,
  r.doPersisCustinsParam,
  r.doInsertInstancePerfTable,
  r.doInsertDbPerf,
  srv.doStartCreateNewBackup,
  n.doAddReadinsToMaxscaleConfig,
];

/**
 * Version 2 (#16): do_issue_server_cert after the directories exist and before my.cnf is
 * rendered (my.cnf names the node's certificate), so every server the install creates speaks TLS.
 */
export const INSTALL_FLOW: ReadonlyArray<StepDef<InstallCtx, Node>> = insertAfter(INSTALL_FLOW_V1, h.doMakeDirSlave, t.doIssueServerCert);

/** A step list with `step` added right after `anchor` (which must be in it). */
export function insertAfter<S>(list: ReadonlyArray<S>, anchor: S, step: S): S[] {
  const k = list.indexOf(anchor);
  if (k < 0) throw new Error('insertAfter: anchor step not in the list');
  return [...list.slice(0, k + 1), step, ...list.slice(k + 1)];
}

export const installFlow: FlowDef<InstallCtx, Node> = {
  name: INSTALL_FLOW_NAME,
  // 1: the seed's 80 entries; 2: + do_issue_server_cert. Bump it (and keep the old list under
  // `previous`) whenever the list changes, so tasks written by an older rdsctl still run their own list.
  version: 2,
  previous: { 1: INSTALL_FLOW_V1 },
  targetKind: 'instance',
  roles: ['master', 'slave', 'both', 'metadb'],
  steps: INSTALL_FLOW,
  validateParams: checkInstallParams,
  load: loadInstallCtx,
  nodesOf,
  hostName: (node) => node.host,
  async onRun(c, tx) {
    await markCreatingAgain(tx, c.custins.id);
  },
  // "Notify Yaochi": the instance is running and its endpoint is its data route on the proxy layer.
  async onDone(c, tx) {
    const route = await loadRoute(tx, c.custins.id, c.custins.ins_name);
    await markRunning(tx, c.custins.id, { ip: route.route.ip, port: route.route.port });
  },
  async onFail(c, tx) {
    await markFailed(tx, c.custins.id);
  },
};
