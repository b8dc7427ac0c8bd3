import { cmdlineReferences, selectLabProcesses, type ProcInfo } from '../../src/lab/procs.js';
import { decodeProcAddress, listenerInodes } from '../../src/lab/net.js';
import { findLabBinaries, searchDirs } from '../../src/lab/binaries.js';

const DIR = '/tmp/labA';
const table: ProcInfo[] = [
  { pid: 1, ppid: 0, cmdline: '/sbin/init' },
  { pid: 10, ppid: 1, cmdline: 'bash' },
  { pid: 11, ppid: 10, cmdline: `node bin/rdsctl lab down --dir ${DIR}` }, // us
  // nc-a01: its power process, its init (pid 1 inside), sshd, a session, and a mysqld an install
  // step started and detached (reparented to the host's init, so still a descendant).
  { pid: 20, ppid: 1, cmdline: `unshare --mount --uts --ipc --pid --fork --kill-child --propagation private -- /bin/bash /repo/fixtures/lab/host-init ${DIR}/run/nc-a01` },
  { pid: 21, ppid: 20, cmdline: `/bin/bash /repo/fixtures/lab/host-init ${DIR}/run/nc-a01` },
  { pid: 22, ppid: 21, cmdline: 'sshd: /usr/sbin/sshd -f /etc/ssh/sshd_config -E /var/log/sshd.log [listener] 0 of 1000-2000 startups' },
  { pid: 23, ppid: 22, cmdline: 'sshd: root@notty' },
  { pid: 24, ppid: 23, cmdline: 'bash -c sleep 600' },
  { pid: 25, ppid: 21, cmdline: '/usr/sbin/mariadbd --defaults-file=/mysqldata/dbs3001/my.cnf --user=mysql' },
  { pid: 30, ppid: 1, cmdline: `/usr/sbin/mariadbd --no-defaults --datadir=${DIR}/mariadb/data --port=13306` },
  { pid: 40, ppid: 1, cmdline: '/usr/sbin/mariadbd', cwd: `${DIR}/mariadb/data` }, // only known from its pid file
  { pid: 50, ppid: 1, cmdline: `unshare -- /bin/bash /repo/fixtures/lab/host-init /tmp/labAB/run/nc-a01` }, // another lab whose dir shares a prefix
  { pid: 51, ppid: 1, cmdline: 'vim notes.txt', cwd: `${DIR}/hosts` }, // a user's editor: not the lab's
];

describe('which processes belong to a lab', () => {
  test('command line, pid files (with cwd) and descendants (everything inside a host); never us or our parents', () => {
    const got = selectLabProcesses(DIR, table, { self: 11, pidFiles: [40, 10] })
      .map((p) => p.pid)
      .sort((a, b) => a - b);
    expect(got).toEqual([20, 21, 22, 23, 24, 25, 30, 40]);
  });

  test('a path that only shares a prefix with the lab dir does not count', () => {
    expect(cmdlineReferences('sshd -f /tmp/labAB/sshd.conf', DIR)).toBe(false);
    expect(cmdlineReferences(`tail -f ${DIR}/mariadb/mariadb.log`, DIR)).toBe(true);
    expect(cmdlineReferences(`x --dir=${DIR}`, DIR)).toBe(true);
  });
});

describe('port owner lookup from /proc/net/tcp', () => {
  const tcp = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:3412 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0',
    '   1: 01014D7F:08AE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2222 1 0',
    '   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3333 1 0',
    '   3: 0100007F:3412 0100007F:9999 01 00000000:00000000 00:00000000 00000000     0        0 4444 1 0',
  ].join('\n');
  test('decodes little-endian addresses', () => {
    expect(decodeProcAddress('0100007F')).toBe('127.0.0.1');
    expect(decodeProcAddress('01014D7F')).toBe('127.77.1.1');
  });
  test('finds listeners on the address or a wildcard, not connections', () => {
    expect(listenerInodes('127.0.0.1', 0x3412, [['tcp', tcp]])).toEqual(['1111']);
    expect(listenerInodes('127.77.1.1', 2222, [['tcp', tcp]])).toEqual(['2222']);
    expect(listenerInodes('127.77.1.2', 22, [['tcp', tcp]])).toEqual(['3333']);
    expect(listenerInodes('127.77.1.2', 2222, [['tcp', tcp]])).toEqual([]);
  });
});

describe('finding the lab programs', () => {
  test('each …/bin on the PATH also brings its …/sbin', () => {
    expect(searchDirs({ PATH: '/usr/local/bin:/usr/bin:/opt/x' })).toEqual(['/usr/local/bin', '/usr/local/sbin', '/usr/bin', '/usr/sbin', '/opt/x']);
  });
  test('nothing on the PATH: one error naming every missing program and the packages', () => {
    expect(() => findLabBinaries({ PATH: '/nonexistent' }, false)).toThrow(
      expect.objectContaining({
        exitCode: 8,
        message: 'lab up: not installed: MariaDB server (mariadbd), mariadb-install-db, MariaDB client (mariadb), OpenSSH server (sshd), unshare (util-linux), nsenter (util-linux), setpriv (util-linux)',
        hint: 'sudo apt-get install -y mariadb-server mariadb-client openssh-server util-linux, or run scripts/setup',
      }),
    );
  });
});
