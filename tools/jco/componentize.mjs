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
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
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

try {
  const args = parseArgs(process.argv.slice(2));
  await $init;
  const embedded = tools.componentEmbed({
    binary: await readFile(args.core),
    witPath: resolve(args.wit),
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
  process.exit(1);
}
