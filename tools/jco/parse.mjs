// Theater: a WebAssembly actor runtime.
//
// Turns WebAssembly text (a core module or a component) into a binary, as `wasm-tools parse`
// does (through jco's bundled wasm-tools):
//
//   node parse.mjs <input.wat> <output.wasm>
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { $init, tools } = await import(
  resolve(here, 'node_modules/@bytecodealliance/jco/obj/wasm-tools.js'));

try {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) throw new Error('usage: node parse.mjs <input.wat> <output.wasm>');
  await $init;
  await writeFile(output, tools.parse((await readFile(input)).toString()));
} catch (error) {
  console.error(`parse: ${error.message ?? error}`);
  process.exit(1);
}
