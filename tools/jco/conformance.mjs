// Theater: a WebAssembly actor runtime.
//
// The jco side of the component-model conformance test (tests/conformance): transpiles the
// conformance component with jco, instantiates it with a JavaScript implementation of
// test:conformance/host (and the host resource `blob` of test:conformance/types), makes K
// seeded random calls of its exports and writes the trace: every export call with its result
// and every import call the guest made during it. Theater's own runtime replays the same trace
// and must produce the same one, value by value.
//
//   node conformance.mjs --component conformance.component.wasm --seed <n> --cases <k>
//                        --out trace.json
//
// Trace: {"seed": n, "cases": [{"call", "args", "result", "imports": [{"call", "args",
// "result"}...]}...]}; values are encoded by WIT type (see encode() below). Besides export
// calls the trace holds two kinds of harness steps, so that a replayer can reproduce them:
//  * `test:conformance/guest#[resource-drop]counter`, args [counter]: the harness drops a
//    counter it owns (result null);
//  * `test:conformance/types#[constructor]blob`, args [bytes]: the harness makes a host blob
//    it later lends (use-blob) or gives (give-blob) to the guest (result: the new blob).
// Resource functions take `self` as their first argument, as in the WIT's flat signatures.
// A guest dropping an owned blob handle is an import call too:
// `test:conformance/types#[resource-drop]blob`, args [blob], result null (the host's destructor
// runs). The guest dropping a *borrowed* blob handle (use-blob must, before it returns) is not
// recorded: it has no effect on the host, and jco gives the host no hook for it.
// Each case's `args` are taken before the call (an own handle passed in leaves the harness).
// Resources are {"resource": "blob"|"counter", "id": n}: one sequence 1, 2, 3, ... over both
// kinds, in the order the host side first sees each object (a blob when it is constructed, by
// the harness or by the guest through the import; a counter when an export first returns it).
//
// Exits 1 with a message on any failure: a trap or any other exception from an export, an
// import called outside an export call, or an unexpected value.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------------------------
// Command line.

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    if (!key.startsWith('--') || i + 1 >= argv.length) {
      throw new Failure(`unexpected argument '${key}'`);
    }
    args[key.slice(2)] = argv[i + 1];
  }
  for (const required of ['component', 'seed', 'cases', 'out']) {
    if (args[required] === undefined) throw new Failure(`missing --${required}`);
  }
  for (const key of ['seed', 'cases']) {
    if (!/^[0-9]+$/.test(args[key]) || !Number.isSafeInteger(Number(args[key]))) {
      throw new Failure(`--${key} must be a non-negative integer, not '${args[key]}'`);
    }
    args[key] = Number(args[key]);
  }
  return args;
}

// ---------------------------------------------------------------------------------------------
// Deterministic PRNG: xoshiro128** seeded through splitmix32 from the seed's two 32-bit halves.

class Rng {
  constructor(seed) {
    let x = ((seed % 0x100000000) ^ Math.imul(Math.floor(seed / 0x100000000), 0x9e3779b9)) >>> 0;
    const splitmix = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s = [splitmix(), splitmix(), splitmix(), splitmix()];
    if (this.s.every((w) => w === 0)) this.s[0] = 1;
  }
  // A uniform 32-bit unsigned integer.
  u32() {
    const s = this.s;
    const rotl = (v, k) => ((v << k) | (v >>> (32 - k))) >>> 0;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] = (s[2] ^ s[0]) >>> 0;
    s[3] = (s[3] ^ s[1]) >>> 0;
    s[1] = (s[1] ^ s[2]) >>> 0;
    s[0] = (s[0] ^ s[3]) >>> 0;
    s[2] = (s[2] ^ t) >>> 0;
    s[3] = rotl(s[3], 11);
    return result;
  }
  // A uniform integer in [0, n), n <= 2^32.
  below(n) {
    return Math.floor((this.u32() / 0x100000000) * n);
  }
  // An integer in [lo, hi] (safe integers).
  range(lo, hi) {
    return lo + this.below(hi - lo + 1);
  }
  chance(p) {
    return this.u32() / 0x100000000 < p;
  }
  pick(items) {
    return items[this.below(items.length)];
  }
  u64() {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
}

// ---------------------------------------------------------------------------------------------
// WIT types of the world (tests/conformance/wit/conformance.wit), as descriptors that drive
// random generation and trace encoding.

const int = (bits, signed) => ({ k: 'int', bits, signed });
const T = {
  bool: { k: 'bool' },
  s8: int(8, true), u8: int(8, false), s16: int(16, true), u16: int(16, false),
  s32: int(32, true), u32: int(32, false),
  s64: { k: 'big', signed: true }, u64: { k: 'big', signed: false },
  f32: { k: 'f32' }, f64: { k: 'f64' },
  char: { k: 'char' }, string: { k: 'string' },
};
const list = (t) => ({ k: 'list', t });
const tuple = (...ts) => ({ k: 'tuple', ts });
const record = (fields) => ({ k: 'record', fields });
const variant = (cases) => ({ k: 'variant', cases });
const enumType = (names) => ({ k: 'enum', names });
const flags = (names) => ({ k: 'flags', names });
const option = (t) => ({ k: 'option', t });
const result = (ok, err) => ({ k: 'result', ok, err });
const own = (resource) => ({ k: 'own', resource });
const borrow = (resource) => ({ k: 'borrow', resource });

const point = record([['x', T.s32], ['y', T.s32]]);
const color = enumType(['red', 'green', 'blue', 'cyan', 'magenta']);
const perms = flags(['read', 'write', 'execute']);
const wide = flags(Array.from({ length: 32 }, (_, i) => `f${String(i).padStart(2, '0')}`));
const primitives = record([
  ['a-bool', T.bool], ['a-s8', T.s8], ['a-u8', T.u8], ['a-s16', T.s16], ['a-u16', T.u16],
  ['a-s32', T.s32], ['a-u32', T.u32], ['a-s64', T.s64], ['a-u64', T.u64], ['a-f32', T.f32],
  ['a-f64', T.f64], ['a-char', T.char], ['a-string', T.string],
]);
const shape = variant([
  ['circle', T.f32], ['rectangle', tuple(T.f64, T.f64)], ['polygon', list(point)],
  ['named', T.string], ['empty', null], ['wide', T.u64],
]);
const nested = record([
  ['name', T.string], ['tags', list(T.string)], ['where', option(point)],
  ['outcome', result(T.u64, T.string)], ['pairs', list(tuple(T.string, T.u32))],
  ['colors', list(color)], ['maybe-shape', option(shape)], ['ratio', option(T.f64)],
]);
const spillParams = [
  ['a', T.u8], ['b', T.s16], ['c', T.u32], ['d', T.s64], ['e', T.f32], ['f', T.f64],
  ['g', T.char], ['h', T.bool], ['i', T.string], ['j', list(T.u8)], ['k', point],
  ['l', T.u64], ['m', option(T.u8)],
];
const spilled = record(spillParams);
const bytes = list(T.u8);

// The echo kinds: host `echo-<kind>` and guest `roundtrip-<kind>` take and return this type.
const echoKinds = [
  ['bool', T.bool], ['s8', T.s8], ['u8', T.u8], ['s16', T.s16], ['u16', T.u16],
  ['s32', T.s32], ['u32', T.u32], ['s64', T.s64], ['u64', T.u64], ['f32', T.f32],
  ['f64', T.f64], ['char', T.char], ['string', T.string], ['bytes', bytes],
  ['strings', list(T.string)], ['points', list(point)],
  ['tuple', tuple(T.u8, T.string, T.f32, T.s64)], ['primitives', primitives],
  ['point', point], ['shape', shape], ['color', color], ['perms', perms], ['wide', wide],
  ['option', option(option(T.u32))], ['result', result(T.string, color)],
  ['unit-result', result(null, null)], ['nested', nested],
];

// jco spells WIT names in lowerCamelCase for functions, record fields and flag labels; enum
// labels and variant/option/result tags stay as written.
const camel = (name) => name.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());

// jco represents option<T> as `undefined` / the value, except when T is itself an option: then
// the outer option is {tag: 'none'} / {tag: 'some', val}.
const taggedOption = (t) => t.k === 'option' && t.t.k === 'option';

// ---------------------------------------------------------------------------------------------
// Trace encoding: a jco value of a WIT type -> the trace's JSON value.

const f32View = new DataView(new ArrayBuffer(8));
function f32Hex(x) {
  if (Number.isNaN(x)) return '7fc00000';
  f32View.setFloat32(0, x);
  return f32View.getUint32(0).toString(16).padStart(8, '0');
}
function f64Hex(x) {
  if (Number.isNaN(x)) return '7ff8000000000000';
  f32View.setFloat64(0, x);
  return f32View.getBigUint64(0).toString(16).padStart(16, '0');
}

class Failure extends Error {}
function expect(condition, what) {
  if (!condition) throw new Failure(what);
}

// Ids of the resource objects the host side knows (blobs and counters), in first-seen order.
// The map keeps every object alive, so no FinalizationRegistry callback of jco's (which would
// drop a handle) can run at a point that depends on the garbage collector.
let nextResourceId = 1;
const resourceIds = new Map();
function resourceId(object, resource) {
  let id = resourceIds.get(object);
  if (id === undefined) {
    id = nextResourceId++;
    resourceIds.set(object, id);
  }
  return { resource, id };
}
function knownResource(object, resource) {
  const id = resourceIds.get(object);
  expect(id !== undefined, `a ${resource} the host has never seen`);
  return { resource, id };
}

function encode(t, v) {
  switch (t.k) {
    case 'bool':
      expect(typeof v === 'boolean', `bool expected, got ${typeof v}`);
      return v;
    case 'int': {
      expect(Number.isInteger(v), `integer expected, got ${v}`);
      const lo = t.signed ? -(2 ** (t.bits - 1)) : 0;
      const hi = t.signed ? 2 ** (t.bits - 1) - 1 : 2 ** t.bits - 1;
      expect(v >= lo && v <= hi, `${v} out of range of ${t.signed ? 's' : 'u'}${t.bits}`);
      return v;
    }
    case 'big':
      expect(typeof v === 'bigint', `bigint expected, got ${typeof v}`);
      expect(v === (t.signed ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v)), `${v} out of range`);
      return v.toString();
    case 'f32':
      expect(typeof v === 'number', `number expected, got ${typeof v}`);
      expect(Number.isNaN(v) || Math.fround(v) === v, `${v} is not an f32`);
      return f32Hex(v);
    case 'f64':
      expect(typeof v === 'number', `number expected, got ${typeof v}`);
      return f64Hex(v);
    case 'char':
      expect(typeof v === 'string' && [...v].length === 1, `one code point expected`);
      return v;
    case 'string':
      expect(typeof v === 'string', `string expected, got ${typeof v}`);
      return v;
    case 'list':
      if (t.t === T.u8) {
        expect(v instanceof Uint8Array, 'Uint8Array expected for list<u8>');
        return Array.from(v);
      }
      expect(Array.isArray(v), 'array expected for a list');
      return v.map((e) => encode(t.t, e));
    case 'tuple':
      expect(Array.isArray(v) && v.length === t.ts.length, 'array expected for a tuple');
      return t.ts.map((et, i) => encode(et, v[i]));
    case 'record': {
      const out = {};
      for (const [name, ft] of t.fields) out[name] = encode(ft, v[camel(name)]);
      return out;
    }
    case 'variant': {
      const c = t.cases.find(([name]) => name === v?.tag);
      expect(c !== undefined, `unknown variant case ${v?.tag}`);
      return c[1] === null ? { case: c[0] } : { case: c[0], value: encode(c[1], v.val) };
    }
    case 'enum':
      expect(t.names.includes(v), `unknown enum label ${v}`);
      return v;
    case 'flags':
      return t.names.filter((name) => v[camel(name)] === true);
    case 'option':
      if (taggedOption(t)) {
        expect(v?.tag === 'none' || v?.tag === 'some', 'tagged option expected');
        return v.tag === 'none' ? null : { some: encode(t.t, v.val) };
      }
      return v === undefined || v === null ? null : { some: encode(t.t, v) };
    case 'result': {
      expect(v?.tag === 'ok' || v?.tag === 'err', 'tagged result expected');
      const side = v.tag === 'ok' ? t.ok : t.err;
      return { [v.tag]: side === null ? null : encode(side, v.val) };
    }
    case 'own':
    case 'borrow':
      return knownResource(v, t.resource);
    default:
      throw new Failure(`no encoding for ${t.k}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Random values (in jco's representation), biased towards edge cases.

const INT_EDGES = (lo, hi) => [lo, lo + 1, -1, 0, 1, hi - 1, hi].filter((x) => x >= lo && x <= hi);
const F32_SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 2 ** -149, -(2 ** -149), 2 ** -126 - 2 ** -149,
  2 ** -126, Math.fround(3.4028234663852886e38), -Math.fround(3.4028234663852886e38), 1, -1,
  Math.fround(0.1), Math.fround(-2.5)];
const F64_SPECIAL = [NaN, Infinity, -Infinity, 0, -0, Number.MIN_VALUE, -Number.MIN_VALUE,
  2 ** -1022 - Number.MIN_VALUE, 2 ** -1022, Number.MAX_VALUE, -Number.MAX_VALUE, 1, -1, 0.1,
  -2.5, 2 ** 53 + 2];

function randomChar(rng) {
  switch (rng.below(6)) {
    case 0: return String.fromCodePoint(rng.pick([0, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000,
      0xfffd, 0xffff, 0x10000, 0x10ffff]));
    case 1: case 2: return String.fromCodePoint(rng.range(0x20, 0x7e));
    case 3: return String.fromCodePoint(rng.range(0x80, 0x7ff));
    case 4: {
      const c = rng.range(0x800, 0xfffd - 0x800);  // the BMP without the surrogates
      return String.fromCodePoint(c < 0xd800 ? c : c + 0x800);
    }
    default: return String.fromCodePoint(rng.range(0x10000, 0x10ffff));
  }
}

function randomString(rng) {
  if (rng.chance(0.15)) return '';
  let s = '';
  for (let n = rng.range(1, 8); n > 0; n--) s += randomChar(rng);
  return s;
}

function randomFloat(rng, f32) {
  if (rng.chance(0.35)) return rng.pick(f32 ? F32_SPECIAL : F64_SPECIAL);
  if (rng.chance(0.4)) {
    const v = (rng.range(-100000, 100000)) / rng.pick([1, 4, 10, 1000]);
    return f32 ? Math.fround(v) : v;
  }
  // Any bit pattern: huge, tiny, subnormal, NaN with a payload.
  if (f32) {
    f32View.setUint32(0, rng.u32());
    return f32View.getFloat32(0);
  }
  f32View.setBigUint64(0, rng.u64());
  return f32View.getFloat64(0);
}

function randomValue(rng, t) {
  switch (t.k) {
    case 'bool':
      return rng.chance(0.5);
    case 'int': {
      const lo = t.signed ? -(2 ** (t.bits - 1)) : 0;
      const hi = t.signed ? 2 ** (t.bits - 1) - 1 : 2 ** t.bits - 1;
      return rng.chance(0.3) ? rng.pick(INT_EDGES(lo, hi)) : lo + rng.below(hi - lo + 1);
    }
    case 'big': {
      if (rng.chance(0.3)) {
        return rng.pick(t.signed ? [-(2n ** 63n), -(2n ** 63n) + 1n, -1n, 0n, 1n, 2n ** 63n - 1n]
                                 : [0n, 1n, 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n]);
      }
      const v = rng.chance(0.2) ? BigInt(rng.u32()) : rng.u64();
      return t.signed ? BigInt.asIntN(64, v) : v;
    }
    case 'f32': return randomFloat(rng, true);
    case 'f64': return randomFloat(rng, false);
    case 'char': return randomChar(rng);
    case 'string': return randomString(rng);
    case 'list': {
      const n = rng.chance(0.15) ? 0 : rng.range(1, 8);
      if (t.t === T.u8) return Uint8Array.from({ length: n }, () => rng.below(256));
      return Array.from({ length: n }, () => randomValue(rng, t.t));
    }
    case 'tuple':
      return t.ts.map((et) => randomValue(rng, et));
    case 'record': {
      const out = {};
      for (const [name, ft] of t.fields) out[camel(name)] = randomValue(rng, ft);
      return out;
    }
    case 'variant': {
      const [tag, ct] = rng.pick(t.cases);
      return ct === null ? { tag } : { tag, val: randomValue(rng, ct) };
    }
    case 'enum':
      return rng.pick(t.names);
    case 'flags': {
      const mode = rng.below(6);  // 0: none, 1: all, otherwise each label at random
      const out = {};
      for (const name of t.names) out[camel(name)] = mode === 1 || (mode > 1 && rng.chance(0.5));
      return out;
    }
    case 'option': {
      const some = !rng.chance(0.3);
      if (taggedOption(t)) return some ? { tag: 'some', val: randomValue(rng, t.t) } : { tag: 'none' };
      return some ? randomValue(rng, t.t) : undefined;
    }
    case 'result': {
      const tag = rng.chance(0.5) ? 'ok' : 'err';
      const side = tag === 'ok' ? t.ok : t.err;
      return side === null ? { tag } : { tag, val: randomValue(rng, side) };
    }
    default:
      throw new Failure(`no generator for ${t.k}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The host: test:conformance/host and the resource blob, recording every call the guest makes.

const HOST = 'test:conformance/host';
const TYPES = 'test:conformance/types';
const GUEST = 'test:conformance/guest';
// jco's own choice (the generated code uses the same expression to find dispose methods).
const symbolDispose = Symbol.dispose || Symbol.for('dispose');

let importLog = null;  // the current case's `imports`, null outside export calls

// Records one import call: arguments as the host received them, then the result it returns.
// `impl` gives the result in the uniform representation (a result as {tag, val}); an import
// whose WIT result is a `result` returns the ok value or throws {payload} for err, as jco wants.
function hostCall(name, paramTypes, resultType, args, impl) {
  if (importLog === null) throw new Failure(`import ${name} called outside an export call`);
  const entry = { call: name, args: paramTypes.map((t, i) => encode(t, args[i])), result: null };
  importLog.push(entry);
  const value = impl(...args);
  if (resultType === null) return undefined;
  entry.result = encode(resultType, value);
  if (resultType.k !== 'result') return value;
  if (value.tag === 'ok') return value.val;
  throw { payload: value.val };
}

class Blob {
  // Called by the harness (no import log) or by jco for the guest's [constructor]blob.
  constructor(init) {
    expect(init instanceof Uint8Array, 'blob constructor: Uint8Array expected');
    this.bytes = Uint8Array.from(init);
    if (importLog !== null) {
      const entry = { call: `${TYPES}#[constructor]blob`, args: [encode(bytes, init)], result: null };
      importLog.push(entry);
      entry.result = resourceId(this, 'blob');
    } else {
      resourceId(this, 'blob');
    }
  }
  // A blob the host dropped (the guest dropped its owned handle, or gave it to take-blob).
  live() {
    expect(!this.dropped, 'the guest used a blob after it was dropped');
    return this;
  }
  read() {
    return hostCall(`${TYPES}#[method]blob.read`, [borrow('blob')], bytes, [this],
                    () => Uint8Array.from(this.live().bytes));
  }
  append(data) {
    hostCall(`${TYPES}#[method]blob.append`, [borrow('blob'), bytes], null, [this, data], () => {
      this.live();
      const grown = new Uint8Array(this.bytes.length + data.length);
      grown.set(this.bytes);
      grown.set(data, this.bytes.length);
      this.bytes = grown;
    });
  }
  size() {
    return hostCall(`${TYPES}#[method]blob.size`, [borrow('blob')], T.u64, [this],
                    () => BigInt(this.live().bytes.length));
  }
  // jco calls this when the guest drops an owned handle ([resource-drop]blob).
  [symbolDispose]() {
    hostCall(`${TYPES}#[resource-drop]blob`, [own('blob')], null, [this], () => {
      this.live().dropped = true;
    });
  }
}

function makeHost() {
  const host = {};
  for (const [kind, t] of echoKinds) {
    host[camel(`echo-${kind}`)] = (x) => hostCall(`${HOST}#echo-${kind}`, [t], t, [x],
      // A top-level result arrives tagged; returning it tagged again keeps hostCall uniform.
      (v) => v);
  }
  host.spill = (...args) => hostCall(`${HOST}#spill`, spillParams.map(([, t]) => t), spilled, args,
    (...v) => Object.fromEntries(spillParams.map(([name], i) => [camel(name), v[i]])));
  host.echoPair = (...args) => hostCall(`${HOST}#echo-pair`, [T.u64, T.string, T.f64],
    tuple(T.u64, T.string, T.f64), args, (...v) => v);
  host.blobBytes = (b) => hostCall(`${HOST}#blob-bytes`, [borrow('blob')], bytes, [b],
    (blob) => Uint8Array.from(blob.live().bytes));
  host.takeBlob = (b) => hostCall(`${HOST}#take-blob`, [own('blob')], T.u64, [b], (blob) => {
    blob.live().dropped = true;  // the host owns it again and drops it
    return BigInt(blob.bytes.length);
  });
  return host;
}

// ---------------------------------------------------------------------------------------------
// The cases.

async function instantiateComponent(componentPath) {
  const { transpile } = await import(
    pathToFileURL(resolve(here, 'node_modules/@bytecodealliance/jco/src/api.js')).href);
  let component;
  try {
    component = await readFile(componentPath);
  } catch (e) {
    throw new Failure(`cannot read the component: ${e.message}`);
  }
  const { files, imports } = await transpile(component, {
    name: 'conformance',
    instantiation: 'async',  // imports are passed to instantiate() as an object
    typescript: false,
  });
  const unexpected = imports.filter((name) => name !== HOST && name !== TYPES);
  if (unexpected.length !== 0) {
    throw new Failure(`the component imports more than the world: ${unexpected.join(', ')}`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'theater-conformance-'));
  try {
    for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data);
    const { instantiate } = await import(pathToFileURL(join(dir, 'conformance.js')).href);
    const instance = await instantiate(
      async (name) => WebAssembly.compile(await readFile(join(dir, name))),
      { [HOST]: makeHost(), [TYPES]: { Blob } });
    return instance[GUEST];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// jco throws a ComponentError carrying `payload` when an export returns a result's err.
function isComponentError(e) {
  return e instanceof Error && e.constructor?.name === 'ComponentError' &&
         Object.prototype.hasOwnProperty.call(e, 'payload');
}

class Harness {
  constructor(guest, rng) {
    this.guest = guest;
    this.rng = rng;
    this.counters = [];  // live counters the harness owns
    this.blobs = [];     // host blobs the harness made and still owns
    this.cases = [];
  }

  // Calls an export, recording the case. `args` are jco values of `paramTypes`; `resultType`
  // null means no result. The arguments are encoded before the call (an own handle passed in
  // leaves the harness).
  call(name, fn, paramTypes, resultType, args, onResult = null) {
    const entry = { call: `${GUEST}#${name}`, args: paramTypes.map((t, i) => encode(t, args[i])),
                    result: null, imports: [] };
    importLog = entry.imports;
    let value;
    try {
      let isErr = false;
      try {
        value = fn(...args);
      } catch (e) {
        if (resultType?.k !== 'result' || !isComponentError(e)) throw e;
        value = { tag: 'err', val: e.payload };
        isErr = true;
      }
      if (resultType?.k === 'result' && !isErr) value = { tag: 'ok', val: value };
      if (onResult) onResult(value);
      entry.result = resultType === null ? null : encode(resultType, value);
    } catch (e) {
      const detail = e instanceof Failure ? e.message : (e?.stack ?? String(e));
      throw new Failure(`case ${this.cases.length} (${name}): ${detail}`);
    } finally {
      importLog = null;
    }
    this.cases.push(entry);
    return value;
  }

  takeAt(items, i) {
    return items.splice(i, 1)[0];
  }

  step() {
    const rng = this.rng;
    const g = this.guest;
    // Roughly half of the steps are roundtrips of a random kind.
    const kinds = [...Array(14).fill('echo'), 'spill', 'pair', 'counter-new',
                   'counter-increment', 'counter-get', 'counter-merge', 'count-of', 'counter-drop',
                   'blob-roundtrip', 'blob-new', 'use-blob', 'give-blob'];
    let kind = rng.pick(kinds);
    // Steps that need a resource fall back to making one.
    const needs = { 'counter-increment': 1, 'counter-get': 1, 'count-of': 1, 'counter-drop': 1,
                    'counter-merge': 2 };
    if (needs[kind] && this.counters.length < needs[kind]) kind = 'counter-new';
    if ((kind === 'use-blob' || kind === 'give-blob') && this.blobs.length === 0) kind = 'blob-new';
    const counterRes = own('counter');
    const counterRef = borrow('counter');
    switch (kind) {
      case 'echo': {
        const [k, t] = rng.pick(echoKinds);
        const name = `roundtrip-${k}`;
        this.call(name, g[camel(name)], [t], t, [randomValue(rng, t)]);
        break;
      }
      case 'spill': {
        const types = spillParams.map(([, t]) => t);
        this.call('roundtrip-spill', g.roundtripSpill, types, spilled,
                  types.map((t) => randomValue(rng, t)));
        break;
      }
      case 'pair': {
        const types = [T.u64, T.string, T.f64];
        this.call('roundtrip-pair', g.roundtripPair, types, tuple(...types),
                  types.map((t) => randomValue(rng, t)));
        break;
      }
      case 'counter-new':
        this.call('[constructor]counter', (start) => new g.Counter(start), [T.u64], counterRes,
                  [randomValue(rng, T.u64)], (c) => {
                    resourceId(c, 'counter');
                    this.counters.push(c);
                  });
        break;
      case 'counter-increment': {
        const c = rng.pick(this.counters);
        this.call('[method]counter.increment', (self, by) => self.increment(by),
                  [counterRef, T.u64], T.u64, [c, randomValue(rng, T.u64)]);
        break;
      }
      case 'counter-get': {
        const c = rng.pick(this.counters);
        this.call('[method]counter.get', (self) => self.get(), [counterRef], T.u64, [c]);
        break;
      }
      case 'count-of': {
        const c = rng.pick(this.counters);
        this.call('count-of', g.countOf, [counterRef], T.u64, [c]);
        break;
      }
      case 'counter-merge': {
        const ai = rng.below(this.counters.length);
        let bi = rng.below(this.counters.length - 1);
        if (bi >= ai) bi++;
        const a = this.counters[ai];
        const b = this.counters[bi];
        this.call('[static]counter.merge', (x, y) => g.Counter.merge(x, y), [counterRef, counterRes],
                  counterRes, [a, b], (c) => {
                    resourceId(c, 'counter');
                    this.counters.splice(this.counters.indexOf(b), 1);  // b was consumed
                    this.counters.push(c);
                  });
        break;
      }
      case 'counter-drop': {
        // jco's classes for exported resources have a [Symbol.dispose]() method (Symbol.dispose,
        // or Symbol.for('dispose') where Node lacks it) that drops the handle, running the
        // guest's destructor; afterwards the object is unusable.
        const c = this.takeAt(this.counters, rng.below(this.counters.length));
        this.call('[resource-drop]counter', (self) => self[symbolDispose](), [counterRes], null, [c]);
        break;
      }
      case 'blob-roundtrip':
        this.call('blob-roundtrip', g.blobRoundtrip, [bytes, bytes], bytes,
                  [randomValue(rng, bytes), randomValue(rng, bytes)]);
        break;
      case 'blob-new': {
        // A harness step, not an export call: recorded so that a replayer can make the same blob.
        const init = randomValue(rng, bytes);
        const blob = new Blob(init);
        this.cases.push({ call: `${TYPES}#[constructor]blob`, args: [encode(bytes, init)],
                          result: knownResource(blob, 'blob'), imports: [] });
        this.blobs.push(blob);
        break;
      }
      case 'use-blob': {
        const b = rng.pick(this.blobs);
        this.call('use-blob', g.useBlob, [borrow('blob')], T.u64, [b]);
        break;
      }
      case 'give-blob': {
        const b = this.takeAt(this.blobs, rng.below(this.blobs.length));
        this.call('give-blob', g.giveBlob, [own('blob')], T.u64, [b]);
        break;
      }
      default:
        throw new Failure(`unknown step ${kind}`);
    }
  }
}

try {
  const args = parseArgs(process.argv.slice(2));
  const guest = await instantiateComponent(args.component);
  const harness = new Harness(guest, new Rng(args.seed));
  while (harness.cases.length < args.cases) harness.step();
  const trace = { seed: args.seed, cases: harness.cases };
  await writeFile(args.out, JSON.stringify(trace) + '\n');
  console.log(`conformance: ${harness.cases.length} cases, seed ${args.seed}: ${args.out}`);
} catch (error) {
  console.error(`conformance: ${error instanceof Failure ? error.message : (error?.stack ?? error)}`);
  process.exit(1);
}
