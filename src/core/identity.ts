import os from 'node:os';

// Who runs rdsctl: the audit's `user` and the key of the role lookup (dbaas.operator.os_user).
// It comes from the process's real uid through the passwd database (getpwuid), never from $USER
// or $LOGNAME: those are whatever the caller's environment says, and a uid with no passwd entry
// and USER=root once got the admin role. A uid with no passwd entry is named "uid:<n>", a name
// no operator row holds, so it gets no role.

export function osIdentity(): string {
  try {
    const name = os.userInfo().username;
    if (name) return name;
  } catch {
    // no passwd entry for this uid
  }
  return `uid:${typeof process.getuid === 'function' ? process.getuid() : 'unknown'}`;
}
