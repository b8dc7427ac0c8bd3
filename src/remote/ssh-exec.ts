// Running one command on one host over a connection (ClusterShell's Worker/Ssh exec side), and the
// remote-kill protocol.
//
// Remote kill: OpenSSH ignores the "signal" channel request, so a timed-out command would keep
// running. sshd starts every non-pty exec in its own session, so the remote shell's PID is its
// process group. The wrapper prints that PID as a marker line on stderr first; PgidFilter strips it
// and, to stop the command, signalGroup signals `-PGID` from a second channel of the same connection.
// The command then runs through `eval` in that same login shell, not `exec $SHELL -c`: bash lowers
// SHLVL on exec, so a second bash believes sshd started it and reads ~/.bashrc again (measured
// +100 ms a host with a pyenv init there).
import { performance } from 'node:perf_hooks';
import type { ClientChannel } from 'ssh2';
import { oneLine } from '../core/errors.js';
import { sh } from './quote.js';
import { HopFailure, onAbort, withTimeout } from './ssh-abort.js';
import type { Conn, Connector, Hop } from './ssh-connect.js';
import { PgidFilter, Sink } from './ssh-output.js';
import type { ExecOptions, ExecResult, FailureCategory, HostTarget } from './ssh-types.js';

const DEFAULT_MAX_OUTPUT = 8 * 1024 * 1024;
/** How long a stop waits for the PGID marker, for the kill channel to start, then for the command's channel to close. */
const PGID_WAIT_MS = 1000;
const KILL_WAIT_MS = 2000;
const STOP_WAIT_MS = 4000;

interface ExitStatus {
  code: number | null;
  signal: string | null;
}

/** Runs `command` on `target`; never throws: every failure is an ExecResult with its category. */
export type Execute = (target: HostTarget, command: string, o: ExecOptions, cacheLast: boolean) => Promise<ExecResult>;

/** The command as the remote login shell gets it: the PGID marker first, then the command itself. */
export function wrapCommand(command: string): string {
  return sh`printf '\\036RDSCTL-PGID %s\\n' "$$" >&2; eval ${command}`;
}

/** A result for a host whose command never started (interrupted before its turn). */
export function notStarted(t: HostTarget, category: FailureCategory, error: string): ExecResult {
  return { host: t.name, address: t.address, exitCode: null, signal: null, stdout: '', stderr: '', durationMs: 0, category, error };
}

export function createExecutor(connector: Connector, commandTimeoutSec: number, poolSignals: AbortSignal[]): Execute {
  async function execute(target: HostTarget, command: string, o: ExecOptions, cacheLast: boolean): Promise<ExecResult> {
    const started = performance.now();
    const signals = o.signal ? [...poolSignals, o.signal] : poolSignals;
    const failed = (f: HopFailure): ExecResult => ({
      host: target.name,
      address: target.address,
      exitCode: null,
      signal: null,
      stdout: '',
      stderr: '',
      durationMs: Math.round(performance.now() - started),
      category: f.category,
      error: oneLine(f.message),
    });
    if (signals.some((s) => s.aborted)) return failed(new HopFailure('interrupted', 'interrupted before it started'));
    let hops: Hop[];
    try {
      hops = connector.hopsFor(target);
    } catch (e) {
      return failed(e as HopFailure);
    }
    // A cached connection can be dead without knowing it yet (sshd restarted): one retry on a new one.
    for (let attempt = 0; ; attempt++) {
      let got: { conn: Conn; fresh: boolean };
      try {
        got = await connector.connect(hops, cacheLast, signals);
      } catch (e) {
        return failed(e instanceof HopFailure ? e : new HopFailure('error', (e as Error).message));
      }
      const { conn, fresh } = got;
      try {
        return await runCommand(conn, target, command, o, signals, started);
      } catch (e) {
        const f = e instanceof HopFailure ? e : new HopFailure('error', (e as Error).message);
        if (fresh || attempt > 0 || f.category === 'interrupted') return failed(f);
        connector.close(conn);
      } finally {
        if (!conn.cached) connector.close(conn);
      }
    }
  }

  /**
   * Open an exec channel. The exit status is recorded from inside ssh2's callback: a fast command's
   * data, exit-status and close can arrive in one read, and an 'exit' listener added after an
   * await would miss it (measured: a third of a 1000-host fan-out of `hostname`).
   */
  function openExec(conn: Conn, command: string): Promise<{ ch: ClientChannel; status: ExitStatus }> {
    return new Promise((resolve, reject) => {
      if (!conn.alive) return reject(new HopFailure('error', 'connection closed'));
      try {
        conn.client.exec(command, (err, ch) => {
          if (err) return reject(new HopFailure('error', `cannot start the command: ${err.message}`));
          const status: ExitStatus = { code: null, signal: null };
          ch.on('exit', (code: number | null, signal?: string) => {
            if (typeof code === 'number') status.code = code;
            else if (signal) status.signal = signal;
          });
          resolve({ ch, status });
        });
      } catch (e) {
        reject(new HopFailure('error', `cannot start the command: ${(e as Error).message}`));
      }
    });
  }

  /**
   * Stop the remote process group from a second channel: TERM, then KILL a second later. TERM
   * first because shells run their EXIT traps on it: a group killed outright in the middle of
   * `pyenv rehash` in ~/.bashrc left its lock file behind and stalled every later login 60 s.
   * Resolves once the script has started (true), or false when it could not be started; it
   * finishes on its own, even if the connection closes.
   */
  async function signalGroup(conn: Conn, pgid: number): Promise<boolean> {
    const group = `-${pgid}`;
    try {
      const { ch } = await withTimeout(openExec(conn, sh`kill -s TERM -- ${group} 2>/dev/null || exit 0; sleep 1; kill -s KILL -- ${group} 2>/dev/null`), KILL_WAIT_MS);
      ch.resume();
      ch.stderr.resume();
      ch.end();
      return true;
    } catch {
      // The connection may be the thing that failed: the caller reports that the kill was not sent.
      return false;
    }
  }

  async function runCommand(conn: Conn, target: HostTarget, command: string, o: ExecOptions, signals: AbortSignal[], started: number): Promise<ExecResult> {
    await connector.acquire(conn, signals);
    let ch: ClientChannel;
    let status: ExitStatus;
    try {
      ({ ch, status } = await openExec(conn, wrapCommand(command)));
    } catch (e) {
      connector.release(conn);
      throw e;
    }
    const timeoutSec = o.timeoutSec ?? commandTimeoutSec;
    const max = o.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    const out = new Sink(max, o.onStdout);
    const err = new Sink(max, o.onStderr);
    const pgid = new PgidFilter((b) => err.push(b));
    return new Promise<ExecResult>((resolve) => {
      let stopped: { category: FailureCategory; message: string } | undefined;
      let done = false;
      let forced = false;
      /** The message once the channel closes after a kill was sent: the group is gone. */
      let killedOk: string | undefined;
      let detachStdin = (): void => undefined;
      const finish = (): void => {
        if (done) return;
        done = true;
        detachStdin();
        clearTimeout(timer);
        offAbort();
        conn.client.removeListener('close', onConnClose);
        pgid.end();
        connector.release(conn);
        if (forced) connector.close(conn);
        const { code: exitCode, signal: exitSignal } = status;
        let category: FailureCategory | null = null;
        let error: string | undefined;
        if (stopped) {
          category = stopped.category;
          error = !forced && killedOk ? killedOk : stopped.message;
        } else if (exitCode !== null) {
          category = exitCode === 0 ? null : 'exit';
          if (category) error = `exited ${exitCode}`;
        } else if (exitSignal !== null) {
          category = 'signal';
          error = `killed by ${exitSignal}`;
        } else {
          category = 'error';
          error = 'connection closed before the command exited';
        }
        const truncated = out.dropped > 0 || err.dropped > 0;
        resolve({
          host: target.name,
          address: target.address,
          exitCode,
          signal: exitSignal,
          stdout: out.text(),
          stderr: err.text(),
          durationMs: Math.round(performance.now() - started),
          category,
          ...(error ? { error } : {}),
          ...(truncated ? { truncated } : {}),
        });
      };
      // What a stop did is only known at its end: the message says what really happened to the
      // remote command (killed, signalled but still there, never reached, or never started).
      const stop = (category: FailureCategory, cause: string): void => {
        if (done || stopped) return;
        stopped = { category, message: cause };
        clearTimeout(timer);
        const where = target.name;
        void (async () => {
          // No PGID marker: the login shell has not reached the command (a hung login, ~/.bashrc),
          // and there is no process group to kill.
          const id = await pgid.known(PGID_WAIT_MS);
          if (done) return;
          if (id === undefined) {
            stopped!.message = `${cause}; the command had not started on ${where} (its login shell never reported a process group; a hung login or ~/.bashrc?): closed the session, but that shell cannot be killed from here and may still run the command`;
            ch.close();
          } else if (!(await signalGroup(conn, id))) {
            stopped!.message = `${cause}; could not send the kill to ${where} (the connection failed): remote process group ${id} may still be running`;
            forced = true;
            finish();
            return;
          } else {
            stopped!.message = `${cause}; sent TERM, then KILL, to remote process group ${id}, which did not end within ${STOP_WAIT_MS / 1000}s: it may still be running on ${where}`;
            killedOk = `${cause}; killed the remote process group ${id}`;
          }
          // Once the group is gone sshd closes the channel by itself; past this, give up on it.
          setTimeout(() => {
            forced = !done;
            finish();
          }, STOP_WAIT_MS).unref();
        })();
      };
      const onConnClose = (): void => finish();
      conn.client.once('close', onConnClose);
      const timer = setTimeout(() => stop('command-timeout', `no exit within ${timeoutSec}s`), Math.min(Math.round(timeoutSec * 1000), 2 ** 31 - 1));
      const offAbort = onAbort(signals, () => stop('interrupted', 'interrupted'));
      let paused = false;
      const flow = o.backpressure;
      const throttle = (): void => {
        if (!flow || paused || !flow.blocked()) return;
        paused = true;
        ch.pause();
        ch.stderr.pause();
        void flow.wait().then(() => {
          paused = false;
          ch.resume();
          ch.stderr.resume();
        });
      };
      ch.on('data', (b: Buffer) => {
        out.push(b);
        throttle();
      });
      ch.stderr.on('data', (b: Buffer) => {
        pgid.push(b);
        throttle();
      });
      ch.on('close', finish);
      ch.on('error', () => undefined);
      if (o.stdin !== undefined && typeof o.stdin === 'object' && 'attach' in o.stdin) detachStdin = o.stdin.attach(ch);
      else if (o.stdin !== undefined) ch.end(o.stdin);
      else ch.end();
    });
  }

  return execute;
}
