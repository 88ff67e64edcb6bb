// Theater's build of an actor written in JavaScript or TypeScript. `theater build` writes this
// file to .theater/build.mjs in the project and runs it with Node.js, from the project's
// directory, after `npm ci` has installed the project's packages:
//
//   node .theater/build.mjs --entry src/actor.ts --wit wit --world minimal --out x.wasm \
//       --exports actor[,messageServerClient...] [--console-log]
//
// 1. TypeScript only: type-checks the project (tsconfig.json) with the project's typescript.
// 2. Bundles the entry and everything it imports into one ES module with esbuild; the host's
//    interfaces (theater:*, wasi:*) stay imports. console.log and friends write to the actor's
//    log through theater:simple/runtime when the world imports it (--console-log). Each exported
//    object (--exports) is wrapped so that an Error thrown by its functions becomes the call's
//    error, with the JavaScript stack, instead of a trap that says only "unreachable".
// 3. Makes the component with componentize-js, with none of its optional WASI capabilities:
//    the component imports only what the world names, its generated glue made lean (see
//    leanBindings).
//
// Errors are printed as `file:line:column: message` and end the process with status 1.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { createRequire, syncBuiltinESMExports } from 'node:module';

function parseArgs(argv) {
  const args = { consoleLog: false };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    if (key === '--console-log') {
      args.consoleLog = true;
      continue;
    }
    if (!key.startsWith('--') || i + 1 >= argv.length) fail(`unexpected argument '${key}'`);
    args[key.slice(2)] = argv[++i];
  }
  for (const required of ['entry', 'wit', 'world', 'out', 'exports']) {
    if (!args[required]) fail(`missing --${required}`);
  }
  return args;
}

function fail(message) {
  process.stderr.write(message.endsWith('\n') ? message : message + '\n');
  process.exit(1);
}

// 1. Type errors, one per line, as file:line:column.
async function typeCheck() {
  const ts = (await import('typescript')).default;
  const configPath = ts.findConfigFile('.', ts.sys.fileExists, 'tsconfig.json');
  if (!configPath) fail('tsconfig.json: not found (a TypeScript actor needs one)');
  const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => fail(format(ts, d)),
  });
  const program = ts.createProgram(config.fileNames, { ...config.options, noEmit: true });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length > 0) fail(diagnostics.map((d) => format(ts, d)).join('\n'));
}

function format(ts, diagnostic) {
  const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
  if (!diagnostic.file) return `error TS${diagnostic.code}: ${text}`;
  const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  const file = diagnostic.file.fileName.replace(resolve('.') + '/', '');
  return `${file}:${line + 1}:${character + 1}: error TS${diagnostic.code}: ${text}`;
}

// What the bundle is built from: the actor's module, its exported objects wrapped. A function of
// an export whose WIT result is result<_, string> returns `err` when it throws a value that is
// not an Error (componentize-js's rule), and traps on an Error; the wrapper throws the Error's
// text and stack instead.
function wrapperSource(entry, exportNames) {
  const lines = [
    `import * as actorModule from ${JSON.stringify(resolve(entry))};`,
    'const describe = (e) => {',
    '  if (!(e instanceof Error)) return e;',
    "  const stack = typeof e.stack === 'string' && e.stack.length > 0 ? '\\n' + e.stack.trimEnd() : '';",
    '  return `${e.name}: ${e.message}${stack}`;',
    '};',
    'const wrap = (object) => {',
    "  if (object === null || typeof object !== 'object') return object;",
    '  const out = {};',
    '  for (const [name, value] of Object.entries(object)) {',
    "    out[name] = typeof value !== 'function' ? value : function (...args) {",
    '      try {',
    '        return value.apply(object, args);',
    '      } catch (e) {',
    '        throw describe(e);',
    '      }',
    '    };',
    '  }',
    '  return out;',
    '};',
  ];
  for (const name of exportNames) lines.push(`export const ${name} = wrap(actorModule.${name});`);
  return lines.join('\n') + '\n';
}

// 2. One ES module holding the actor and what it imports from npm packages.
async function bundle(entry, outfile, consoleLog, exportNames) {
  const esbuild = await import('esbuild');
  const inject = [];
  if (consoleLog) {
    const shim = join(dirname(outfile), 'console.js');
    await writeFile(shim, CONSOLE_SHIM);
    inject.push(shim);
  }
  const wrapper = join(dirname(outfile), 'entry.js');
  await writeFile(wrapper, wrapperSource(entry, exportNames));
  try {
    await esbuild.build({
      entryPoints: [wrapper],
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      external: ['theater:*', 'wasi:*'],
      inject,
      logLevel: 'silent',
      charset: 'utf8',
    });
  } catch (e) {
    const errors = e.errors ?? [{ text: String(e) }];
    fail(errors.map((m) => {
      const where = m.location ? `${m.location.file}:${m.location.line}:${m.location.column + 1}: ` : '';
      return `${where}error: ${m.text}`;
    }).join('\n'));
  }
}

// What console.* becomes in an actor whose world imports theater:simple/runtime: lines of the
// actor's log (and so events of its chain).
const CONSOLE_SHIM = `import { log as theaterLog } from 'theater:simple/runtime';
const line = (args) => args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
const write = (...args) => theaterLog(line(args));
globalThis.console = { log: write, info: write, warn: write, error: write, debug: write };
`;

// componentize-js generates the glue between the WIT world and the JavaScript (the "bindings",
// evaluated into the snapshot with the actor). Two of its habits cost every call, and both are
// removed here without changing what the glue does (measured in docs/benchmarks.md, "JavaScript
// actors at run time": a host call of get-current-time took 1.65 µs with both, 0.60 without):
//
// 1. A trace statement on both sides of every call of an import or an export:
//
//      _debugLog('[Instruction::CallWasm] enter', {
//        funcName: 'get-current-time',
//        paramCount: 0, ...
//      });
//
//    `_debugLog` prints only when `globalThis.process.env.JCO_DEBUG` is set, which never exists
//    in an actor, but its arguments, an object literal among them, are built on every call
//    anyway: in SpiderMonkey's interpreter that was 60 % of a host call. Removed: the lines that
//    start `_debugLog('[Instruction::` or `_debugLog(' [Instruction::` and whose arguments are
//    literals only. A statement of any other shape (the error paths'
//    `_debugLog("ERROR: …", { value })`) is kept.
// 2. A u64 lifted from the core i64 by two calls into the engine, `BigInt.asUintN(64,
//    BigInt(x))`. A core i64 reaches JavaScript as a BigInt already, and a non-negative one is
//    its own u64: that case skips both calls; any other value takes the original path. From
//    memory, `BigInt.asUintN(64, BigInt(view.getBigInt64(at, true)))` is
//    `view.getBigUint64(at, true)`.
const TRACE_START = /^\s*_debugLog\('\s?\[Instruction::[^']*'/;
const TRACE_ONE_LINE = /^\s*_debugLog\('[^']*'\);\s*$/;
const TRACE_OBJECT_OPEN = /^\s*_debugLog\('[^']*', \{\s*$/;
const TRACE_LITERAL_MEMBER = /^\s*[A-Za-z_$][\w$]*: ('[^']*'|-?\d+|true|false),?\s*$/;
const TRACE_OBJECT_CLOSE = /^\s*\}\);\s*$/;
const U64_OF_VALUE = /BigInt\.asUintN\(64, BigInt\(([A-Za-z_$][\w$]*)\)\)/g;
const U64_OF_MEMORY =
  /BigInt\.asUintN\(64, BigInt\(dataView\(\$memory\)\.getBigInt64\(([^()]*), true\)\)\)/g;

function leanBindings(source) {
  const lines = source.split('\n');
  const kept = [];
  let traces = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (TRACE_START.test(line)) {
      if (TRACE_ONE_LINE.test(line)) {
        traces++;
        continue;
      }
      if (TRACE_OBJECT_OPEN.test(line)) {
        let end = i + 1;
        while (end < lines.length && TRACE_LITERAL_MEMBER.test(lines[end])) end++;
        if (end < lines.length && TRACE_OBJECT_CLOSE.test(lines[end])) {
          traces++;
          i = end;
          continue;
        }
      }
    }
    kept.push(line);
  }
  let lifts = 0;
  const text = kept.join('\n')
    .replace(U64_OF_VALUE, (all, x) => {
      lifts++;
      return `(typeof ${x} === 'bigint' && ${x} >= 0n ? ${x} : ${all})`;
    })
    .replace(U64_OF_MEMORY, (all, at) => {
      lifts++;
      return `dataView($memory).getBigUint64(${at}, true)`;
    });
  return { text, traces, lifts };
}

// componentize-js writes the bindings to `<its temporary directory>/…/initializer.js` with
// node:fs/promises' writeFile and hands that file to the snapshot; it offers no other way in. For
// the length of `run`, that writeFile makes the file lean (leanBindings) on its way out.
async function withLeanBindings(run) {
  const fsPromises = createRequire(import.meta.url)('node:fs/promises');
  const originalWriteFile = fsPromises.writeFile;
  const stats = { files: 0, traces: 0 };
  fsPromises.writeFile = function (path, data, ...rest) {
    if (typeof path === 'string' && basename(path) === 'initializer.js' && typeof data === 'string') {
      const lean = leanBindings(data);
      stats.files++;
      stats.traces += lean.traces;
      data = lean.text;
    }
    return originalWriteFile.call(this, path, data, ...rest);
  };
  syncBuiltinESMExports();
  try {
    return { result: await run(), stats };
  } finally {
    fsPromises.writeFile = originalWriteFile;
    syncBuiltinESMExports();
  }
}

// 3. The component. The splicer writes the wall-clock time of the build into the stubs it puts
// where the clocks capability was left out; pinned, the same code makes the same engine, which
// the runtime then compiles once for every actor of the world (docs/compile-cache.md).
async function componentizeBundle(bundlePath, args) {
  const { wallClock, monotonicClock } = await import('@bytecodealliance/preview2-shim/clocks');
  wallClock.now = () => ({ seconds: 0n, nanoseconds: 0 });
  monotonicClock.now = () => 0n;
  // The splicer reads the WIT through this shim's WASI files, which start with no directory
  // granted since preview2-shim 0.26: grant the project's.
  const { _setPreopens } = await import('@bytecodealliance/preview2-shim/filesystem');
  _setPreopens({ [process.cwd()]: process.cwd() });
  const { componentize } = await import('@bytecodealliance/componentize-js');
  let component;
  try {
    const { result, stats } = await withLeanBindings(() => componentize({
      sourcePath: bundlePath,
      witPath: resolve(args.wit),
      worldName: args.world,
      disableFeatures: ['stdio', 'random', 'clocks', 'http', 'fetch-event'],
    }));
    component = result.component;
    // A componentize-js that writes its bindings another way would leave the tracing in: slower,
    // not wrong. Say so rather than fail the build.
    if (stats.files !== 1 || stats.traces === 0) {
      process.stderr.write(`warning: componentize-js's call tracing was not removed (${stats.files} ` +
                           `bindings files seen, ${stats.traces} trace statements removed): ` +
                           'calls between the actor and the host will be slower\n');
    }
  } catch (e) {
    fail(`componentize-js: ${e?.message ?? e}`);
  }
  await mkdir(dirname(resolve(args.out)), { recursive: true });
  await writeFile(args.out, component);
}

// Each stage's name as it begins, on a line of its own: `theater build` shows it with the time
// it takes (and, from the last build's time, about how long is left) and drops the line.
function stage(name) {
  process.stderr.write(`theater-build-stage: ${name}\n`);
}

const args = parseArgs(process.argv.slice(2));
if (args.entry.endsWith('.ts')) {
  stage('type check (tsc)');
  await typeCheck();
}
const bundlePath = resolve('.theater', 'bundle.js');
await mkdir(dirname(bundlePath), { recursive: true });
stage('bundle (esbuild)');
await bundle(args.entry, bundlePath, args.consoleLog, args.exports.split(',').filter(Boolean));
stage('componentize-js');
await componentizeBundle(bundlePath, args);
await readFile(args.out);  // fails loudly if it was not written
