// Theater: a WebAssembly actor runtime.
//
// Turns a core wasm module that follows the component model's naming conventions into a
// component, the way `wasm-tools component embed` + `wasm-tools component new` do (through jco's
// bundled wasm-tools), optionally with the WASI preview-1 adapter jco ships.
//
//   node componentize.mjs --core actor.wasm --wit wit/ --world <world> --out actor.component.wasm
//                         [--adapter reactor|command]
//
// Exits 1 with the tool's message when the module does not fit the world.
//
// WIT written before the `f32`/`f64` spellings (the design documents write `float64`) is accepted:
// Theater's own WIT parser reads both, the bundled wasm-tools only the new ones, so the WIT is
// handed over with the old names replaced.
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { $init, tools } = await import(
  resolve(here, 'node_modules/@bytecodealliance/jco/obj/wasm-tools.js'));

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    if (!key.startsWith('--') || i + 1 >= argv.length) {
      throw new Error(`unexpected argument '${key}'`);
    }
    args[key.slice(2)] = argv[i + 1];
  }
  for (const required of ['core', 'wit', 'world', 'out']) {
    if (!args[required]) throw new Error(`missing --${required}`);
  }
  if (args.adapter && !['reactor', 'command'].includes(args.adapter)) {
    throw new Error(`--adapter must be reactor or command, not '${args.adapter}'`);
  }
  return args;
}

// A copy of the WIT folder (or file) `path` with `float32`/`float64` written `f32`/`f64` in its own
// files, or `path` itself when they use neither. Returns [path to parse, folder to remove or null].
async function withCurrentTypeNames(path) {
  const legacy = /\bfloat(32|64)\b/g;
  const isDir = !path.endsWith('.wit');
  const names = isDir ? (await readdir(path)).filter((n) => n.endsWith('.wit')) : [null];
  const files = await Promise.all(
    names.map(async (n) => [n, await readFile(n ? join(path, n) : path, 'utf8')]));
  if (!files.some(([, text]) => text.match(legacy))) return [path, null];
  const scratch = await mkdtemp(join(tmpdir(), 'componentize-wit-'));
  const copy = join(scratch, 'wit');
  if (isDir) await cp(path, copy, { recursive: true });  // deps/ included
  else await mkdir(copy);
  for (const [n, text] of files) {
    await writeFile(join(copy, n ?? 'world.wit'), text.replace(legacy, 'f$1'));
  }
  return [copy, scratch];
}

let scratch = null;
try {
  const args = parseArgs(process.argv.slice(2));
  await $init;
  let witPath;
  [witPath, scratch] = await withCurrentTypeNames(resolve(args.wit));
  const embedded = tools.componentEmbed({
    binary: await readFile(args.core),
    witPath,
    world: args.world,
  });
  const adapters = [];
  if (args.adapter) {
    const file = resolve(here, 'node_modules/@bytecodealliance/jco/lib',
                         `wasi_snapshot_preview1.${args.adapter}.wasm`);
    adapters.push(['wasi_snapshot_preview1', await readFile(file)]);
  }
  await writeFile(args.out, tools.componentNew(embedded, adapters));
} catch (error) {
  console.error(`componentize: ${error.message ?? error}`);
  process.exitCode = 1;
} finally {
  if (scratch) await rm(scratch, { recursive: true, force: true });
}
