// Theater's build of an actor written in JavaScript or TypeScript. `theater build` writes this
// file to .theater/build.mjs in the project and runs it with Node.js, from the project's
// directory, after `npm ci` has installed the project's packages:
//
//   node .theater/build.mjs --entry src/actor.ts --wit wit --world minimal --out x.wasm \
//       --exports actor[,messageServerClient...] [--console-log] [--splice-cache DIR]
//
// 1. TypeScript only: type-checks the project (tsconfig.json) with the project's typescript.
// 2. Bundles the entry and everything it imports into one ES module with esbuild; the host's
//    interfaces (theater:*, wasi:*) stay imports. console.log and friends write to the actor's
//    log through theater:simple/runtime when the world imports it (--console-log). Each exported
//    object (--exports) is wrapped so that an Error thrown by its functions becomes the call's
//    error, with the JavaScript stack, instead of a trap that says only "unreachable".
// 3. Makes the component with componentize-js, with none of its optional WASI capabilities:
//    the component imports only what the world names, its generated glue made lean (see
//    leanBindings), what does not depend on the actor's code kept for the next build (see
//    withBuildCache).
//
// Errors are printed as `file:line:column: message` and end the process with status 1.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import {
  existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync,
  utimesSync, writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
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

// What a rebuild reuses (--splice-cache DIR, in $THEATER_HOME, shared by every project).
// componentize-js makes a component in four steps: it splices the world's bindings into its
// JavaScript engine (10 MB of wasm), snapshots the engine with the actor's code loaded (wizer),
// stubs the WASI imports the world leaves out, and wraps the module as a component. The first and
// third run in a splicer that is itself wasm in Node.js, whose first call of a process grows its
// memory thousands of times, each growth a garbage collection: 5-15 s on 2 cores
// (docs/benchmarks.md, "A JavaScript rebuild"). Neither depends on the actor's code:
//
// - The splice depends only on the engine, the WIT, the world and the features: kept under the
//   digest of those, and read back instead of spliced.
// - The snapshot changes only the module's data, its data count and its globals' values; its code
//   is the spliced engine's. So the stubbed module and the component made around it last time are
//   the same this time but for those: kept under the digest of the snapshot's other sections, and
//   when a new snapshot's digest is the same, the component is the kept one with the new data and
//   global values put in its core module (checked when it is kept: the kept component's module
//   holds the snapshot's data and globals as they were, the stub's globals after them).
//
// Both hook objects componentize-js calls through (the splicer's, and the wasm-tools one of the
// jco it imports) for the length of `run`. A component made by this shortcut is validated, and a
// build in which the hooks did not line up is made again without them. At most kEntriesKept
// splices are kept, the least recently used going first.
const kEntriesKept = 8;

function readLeb(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
}

function leb(value) {
  const out = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return Buffer.from(out);
}

// The sections of a module or component: id, where the section starts, where its payload
// starts and ends.
function sectionsOf(bytes) {
  const sections = [];
  for (let at = 8; at < bytes.length;) {
    const start = at;
    const id = bytes[at++];
    const [size, payload] = readLeb(bytes, at);
    sections.push({ id, start, payload, end: payload + size });
    at = payload + size;
  }
  return sections;
}

const kGlobalSection = 6;
const kDataSection = 11;
const kDataCountSection = 12;
const kCoreModuleSection = 1;  // in a component

function payload(bytes, section) {
  return bytes.subarray(section.payload, section.end);
}

// A snapshot's sections other than those the snapshot writes, and its global count: equal for
// two snapshots of the same spliced engine.
function codeDigest(module) {
  const hash = createHash('sha256');
  for (const section of sectionsOf(module)) {
    if (section.id === kDataSection || section.id === kDataCountSection) continue;
    if (section.id === kGlobalSection) {
      hash.update(`globals ${readLeb(module, section.payload)[0]}\0`);
      continue;
    }
    hash.update(module.subarray(section.start, section.end));
  }
  return hash.digest('hex').slice(0, 32);
}

// The global entries of a module's global section (after its count), and the count.
function globalEntries(module) {
  const section = sectionsOf(module).find((s) => s.id === kGlobalSection);
  if (!section) return { count: 0, entries: Buffer.alloc(0) };
  const [count, at] = readLeb(module, section.payload);
  return { count, entries: module.subarray(at, section.end) };
}

// `module` with the given sections' payloads replaced (an absent section stays absent).
function replaceSections(module, payloads) {
  const parts = [module.subarray(0, 8)];
  for (const section of sectionsOf(module)) {
    const replaced = payloads.get(section.id);
    if (replaced === undefined) {
      parts.push(module.subarray(section.start, section.end));
    } else {
      parts.push(Buffer.from([section.id]), leb(replaced.length), replaced);
    }
  }
  return Buffer.concat(parts);
}

// A component's core module section holding the engine: the largest.
function engineModule(component) {
  const modules = sectionsOf(component).filter((s) => s.id === kCoreModuleSection);
  if (modules.length === 0) return null;
  return modules.reduce((a, b) => (b.end - b.payload > a.end - a.payload ? b : a));
}

// What is kept of a component made from `snapshot`: the component, and how its core module's
// globals extend the snapshot's. Null when the component is not the snapshot's as described.
function componentTemplate(snapshot, component) {
  const main = engineModule(component);
  if (!main) return null;
  const core = payload(component, main);
  const data = (m) => {
    const section = sectionsOf(m).find((s) => s.id === kDataSection);
    return section ? payload(m, section) : Buffer.alloc(0);
  };
  if (!data(core).equals(data(snapshot))) return null;
  const had = globalEntries(snapshot);
  const has = globalEntries(core);
  if (has.count < had.count || !has.entries.subarray(0, had.entries.length).equals(had.entries)) {
    return null;
  }
  return {
    extraGlobals: has.count - had.count,
    extraGlobalBytes: Buffer.from(has.entries.subarray(had.entries.length)).toString('base64'),
  };
}

// The kept component with `snapshot`'s data and globals in its core module.
function transplant(component, template, snapshot) {
  const main = engineModule(component);
  const fresh = sectionsOf(snapshot);
  const got = globalEntries(snapshot);
  const replacements = new Map([
    [kGlobalSection, Buffer.concat([leb(got.count + template.extraGlobals), got.entries,
                                    Buffer.from(template.extraGlobalBytes, 'base64')])],
  ]);
  for (const id of [kDataSection, kDataCountSection]) {
    const section = fresh.find((s) => s.id === id);
    if (section) replacements.set(id, payload(snapshot, section));
  }
  const core = replaceSections(payload(component, main), replacements);
  if (!WebAssembly.validate(core)) throw new Error('the kept component, with this snapshot put in, is not valid');
  return Buffer.concat([component.subarray(0, main.start), Buffer.from([kCoreModuleSection]),
                        leb(core.length), core, component.subarray(main.end)]);
}

function witFiles(dir, prefix = '') {
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...witFiles(path, prefix + entry.name + '/'));
    else if (entry.name.endsWith('.wit')) files.push([prefix + entry.name, readFileSync(path)]);
  }
  return files;
}

function pruneEntries(cacheDir) {
  const entries = readdirSync(cacheDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => ({ path: join(cacheDir, e.name), used: statSync(join(cacheDir, e.name)).mtimeMs }))
    .sort((a, b) => b.used - a.used);
  for (const stale of entries.slice(kEntriesKept)) rmSync(stale.path, { recursive: true, force: true });
}

// Writes `files` ({name: bytes or text}) into `dir` whole or not at all: into a directory of its
// own, then renamed into place.
function writeEntry(cacheDir, dir, files) {
  mkdirSync(cacheDir, { recursive: true });
  const partial = join(cacheDir, `.partial-${process.pid}`);
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial);
  for (const [name, contents] of Object.entries(files)) writeFileSync(join(partial, name), contents);
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
}

async function withBuildCache(cacheDir, run) {
  const outcome = { splice: 'not kept', component: 'not kept' };
  if (!cacheDir) return { result: await run(), outcome };
  const packageDir = realpathSync(join('node_modules', '@bytecodealliance', 'componentize-js'));
  const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  const { splicer } = await import(
    pathToFileURL(join(packageDir, 'lib', 'spidermonkey-embedding-splicer.js')).href);
  // The wasm-tools object of the jco that componentize-js imports, found as Node.js finds it.
  const jco = createRequire(join(packageDir, 'src', 'componentize.js')).resolve('@bytecodealliance/jco');
  const wasmTools = createRequire(jco).resolve('@bytecodealliance/jco-transpile/wasm-tools');
  const { tools } = await import(
    pathToFileURL(realpathSync(join(dirname(wasmTools), '..', 'vendor', 'wasm-tools.js'))).href);
  const original = {
    spliceBindings: splicer.spliceBindings, stubWasi: splicer.stubWasi,
    componentNew: tools.componentNew, metadataAdd: tools.metadataAdd,
  };
  let entry = null;      // this build's splice directory
  let snapshot = null;   // what wizer made, as stubWasi was given it
  let kept = null;       // the component to put it in: { component, template }
  let made = false;      // componentNew ran on this build's stubbed module
  splicer.spliceBindings = function (engine, features, witWorld, witPath, worldName, ...rest) {
    const hash = createHash('sha256');
    hash.update(JSON.stringify(['componentize-js', version, features, witWorld ?? null, worldName, rest]));
    hash.update(engine);
    if (witPath) {
      for (const [name, bytes] of witFiles(witPath)) hash.update(`\0${name}\0${bytes.length}\0`).update(bytes);
    }
    entry = join(cacheDir, hash.digest('hex').slice(0, 32));
    try {
      const splice = JSON.parse(readFileSync(join(entry, 'splice.json'), 'utf8'));
      const wasm = readFileSync(join(entry, 'engine.wasm'));
      const now = new Date();
      utimesSync(entry, now, now);
      outcome.splice = 'kept';
      stageIs('componentize-js (the spliced engine kept)');
      return { ...splice, wasm };
    } catch {
      // Not kept (or unreadable): spliced, and kept below.
    }
    const spliced = original.spliceBindings.call(this, engine, features, witWorld, witPath, worldName, ...rest);
    try {
      const { wasm, ...splice } = spliced;
      writeEntry(cacheDir, entry, { 'engine.wasm': wasm, 'splice.json': JSON.stringify(splice) });
      pruneEntries(cacheDir);
      outcome.splice = 'made';
    } catch (e) {
      process.stderr.write(`warning: the spliced engine could not be kept in ${cacheDir}: ${e?.message ?? e}\n`);
    }
    return spliced;
  };
  splicer.stubWasi = function (bin, ...rest) {
    snapshot = Buffer.from(bin);
    if (entry) {
      try {
        const digest = codeDigest(snapshot);
        const template = JSON.parse(readFileSync(join(entry, `component-${digest}.json`), 'utf8'));
        kept = { component: readFileSync(join(entry, `component-${digest}.wasm`)), template };
        // componentNew and metadataAdd below return the kept component with this snapshot in it;
        // what is stubbed here is never used, so the stub is skipped: an empty module stands in.
        return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
      } catch {
        // Not kept: stubbed, wrapped and kept below.
      }
    }
    return original.stubWasi.call(this, bin, ...rest);
  };
  tools.componentNew = function (bytes, ...rest) {
    if (kept) return kept.component;  // the stand-in is dropped; metadataAdd puts the snapshot in
    made = true;
    return original.componentNew.call(this, bytes, ...rest);
  };
  tools.metadataAdd = function (bytes, ...rest) {
    if (kept) {
      outcome.component = 'kept';
      return transplant(kept.component, kept.template, snapshot);
    }
    const component = original.metadataAdd.call(this, bytes, ...rest);
    if (entry && snapshot && made) {
      const template = componentTemplate(snapshot, Buffer.from(component));
      if (template) {
        try {
          // One component per splice (another snapshot digest means another wizer): each file
          // written beside and renamed into place, the .json last, so a reader finds both whole.
          const digest = codeDigest(snapshot);
          for (const name of readdirSync(entry)) {
            if (name.startsWith('component-')) rmSync(join(entry, name), { force: true });
          }
          for (const [name, contents] of [[`component-${digest}.wasm`, component],
                                          [`component-${digest}.json`, JSON.stringify(template)]]) {
            const partial = join(entry, `.${name}.${process.pid}`);
            writeFileSync(partial, contents);
            renameSync(partial, join(entry, name));
          }
          outcome.component = 'made';
        } catch (e) {
          process.stderr.write(`warning: the component could not be kept in ${entry}: ${e?.message ?? e}\n`);
        }
      }
    }
    return component;
  };
  try {
    let result;
    try {
      result = await run();
      if (kept && outcome.component !== 'kept') {
        throw new Error('componentize-js did not make the component through the wasm-tools it was expected to');
      }
    } catch (e) {
      if (kept && e instanceof Object) e.theaterUsedKept = true;
      throw e;
    }
    return { result, outcome };
  } finally {
    Object.assign(splicer, { spliceBindings: original.spliceBindings, stubWasi: original.stubWasi });
    Object.assign(tools, { componentNew: original.componentNew, metadataAdd: original.metadataAdd });
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
    const componentizeOnce = (cacheDir) => withBuildCache(cacheDir, () =>
      withLeanBindings(() => componentize({
        sourcePath: bundlePath,
        witPath: resolve(args.wit),
        worldName: args.world,
        disableFeatures: ['stdio', 'random', 'clocks', 'http', 'fetch-event'],
      })));
    let built;
    try {
      built = await componentizeOnce(args['splice-cache']);
    } catch (e) {
      if (!e?.theaterUsedKept) throw e;
      // A build that went wrong with what was kept is made again from nothing.
      process.stderr.write(`warning: building with what ${args['splice-cache']} keeps failed ` +
                           `(${e?.message ?? e}); building it whole\n`);
      built = await componentizeOnce(undefined);
    }
    const { result: { result, stats }, outcome } = built;
    if (process.env.THEATER_JS_BUILD_CACHE_REPORT) {
      process.stderr.write(`theater-build-cache: splice ${outcome.splice}, component ${outcome.component}\n`);
    }
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

// The running stage turns out to be a kind of it that takes a time of its own (a rebuild with
// what an earlier build kept takes a third of one from nothing): `theater build` shows `name`
// and estimates from the last time of that kind.
function stageIs(name) {
  process.stderr.write(`theater-build-stage-is: ${name}\n`);
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
