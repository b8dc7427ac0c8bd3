import { createHash } from 'node:crypto';
import fs from 'node:fs';
import Module from 'node:module';
import { rdsctlCacheDir } from './xdg.js';
import path from 'node:path';
import vm from 'node:vm';

// A V8 code cache for the CommonJS packages rdsctl loads (mysql2 alone is ~90 files, more CPU at
// start-up than node itself). Node 22 has module.enableCompileCache(); Node 20 does not, so this
// does what v8-compile-cache does: compile each CommonJS file through vm.Script with the bytecode
// V8 produced last time, and at exit store the bytecode of files that had none (made after the
// run, so it also holds the functions the run compiled lazily).
//
// Entries are named by a hash of the file's path and content: an edited or upgraded package gets
// new entries, never stale bytecode (V8's own check only compares the source length). The cache
// lives in $XDG_CACHE_HOME/rdsctl (or ~/.cache/rdsctl), per Node version, in a directory only its
// owner can write, since bytecode is code. Anything unusual (unwritable, foreign owner, rejected
// data) falls back to the normal compile. RDSCTL_NO_COMPILE_CACHE=1 turns it off.

interface CjsModule {
  exports: unknown;
  require(id: string): unknown;
  _compile(content: string, filename: string): unknown;
}

interface ModuleStatics {
  prototype: CjsModule;
  wrap(content: string): string;
  _resolveFilename(request: string, parent: CjsModule, isMain: boolean, options?: unknown): string;
  _resolveLookupPaths(request: string, parent: CjsModule): string[] | null;
  _extensions: unknown;
  _cache: unknown;
}

export function compileCacheDir(env: NodeJS.ProcessEnv): string {
  return path.join(rdsctlCacheDir(env), `v8-${process.version}-${process.arch}`);
}

/** The cache directory, created if needed, or null when it is not safely ours. */
function ownDir(dir: string): string | null {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.statSync(dir);
    if (!st.isDirectory() || (process.getuid && st.uid !== process.getuid()) || (st.mode & 0o022) !== 0) return null;
    return dir;
  } catch {
    return null;
  }
}

/** Marks the patched _compile, so a second call (help re-enters main) does not patch twice. */
const PATCHED = Symbol.for('rdsctl.compileCache');

export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): void {
  if (env.RDSCTL_NO_COMPILE_CACHE) return;
  const M = Module as unknown as ModuleStatics & { enableCompileCache?: (dir?: string) => unknown };
  if ((M.prototype._compile as { [PATCHED]?: boolean })[PATCHED]) return;
  // Node 22.1+ has its own cache (module.enableCompileCache); where it exists it is used instead
  // of patching the loader. Node 20, which rdsctl supports and the AG runs, has none (checked on
  // v20.20: undefined), so there the patch below is what makes start-up fast.
  if (typeof M.enableCompileCache === 'function') {
    const dir = ownDir(compileCacheDir(env));
    if (dir) M.enableCompileCache(dir);
    return;
  }
  // import() inside a cached module goes to node's own loader (Node 20.12+; older: no cache).
  const importDefault = vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  if (!importDefault) return;
  const dir = ownDir(compileCacheDir(env));
  if (!dir) return;
  const original = M.prototype._compile;
  const fresh: Array<{ file: string; script: vm.Script }> = [];

  M.prototype._compile = function compileCached(this: CjsModule, content: string, filename: string): unknown {
    if (!filename.includes(`${path.sep}node_modules${path.sep}`)) return original.call(this, content, filename);
    const file = path.join(dir, createHash('sha1').update(filename).update('\0').update(content).digest('hex'));
    let cachedData: Buffer | undefined;
    try {
      cachedData = fs.readFileSync(file);
    } catch {
      cachedData = undefined;
    }
    // A hashbang line is legal at the start of a file, not inside the wrapper function.
    const source = content.startsWith('#!') ? '//' + content.slice(2) : content;
    let script: vm.Script;
    try {
      script = new vm.Script(M.wrap(source), { filename, cachedData, importModuleDynamically: importDefault });
    } catch {
      return original.call(this, content, filename);
    }
    if (!cachedData || script.cachedDataRejected) fresh.push({ file, script });
    const mod = this;
    const req = Object.assign((id: string) => mod.require(id), {
      resolve: Object.assign((request: string, options?: unknown) => M._resolveFilename(request, mod, false, options), {
        paths: (request: string) => M._resolveLookupPaths(request, mod),
      }),
      // The entry is an ES module: like node's own require, there is no main module.
      main: (process as { mainModule?: unknown }).mainModule,
      extensions: M._extensions,
      cache: M._cache,
    });
    const fn = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    return fn.call(mod.exports, mod.exports, req, mod, filename, path.dirname(filename));
  };
  (M.prototype._compile as { [PATCHED]?: boolean })[PATCHED] = true;

  process.once('exit', () => {
    for (const { file, script } of fresh) {
      try {
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
        fs.renameSync(tmp, file);
      } catch {
        // a full disk or a race with another rdsctl: the next run compiles again
      }
    }
  });
}
