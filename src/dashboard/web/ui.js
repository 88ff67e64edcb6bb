// Theater dashboard: small helpers the pages share (elements, numbers, bytes, events).
import {bytes} from './api.js';

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key.startsWith('on')) {
      node.addEventListener(key.slice(2), value);
    } else if (value !== undefined && value !== null && value !== false) {
      node.setAttribute(key, value);
    }
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

export function shortId(id) { return id ? id.slice(0, 8) : ''; }

export function formatBytes(n) {
  if (n === undefined || n === null) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}

export function hex(u8, max = 4096) {
  const parts = [];
  for (let i = 0; i < Math.min(u8.length, max); i++)
    parts.push(u8[i].toString(16).padStart(2, '0'));
  return parts.join(' ') + (u8.length > max ? ` … (${u8.length} bytes)` : '');
}

// Bytes as pretty JSON when they are JSON, as text when they are printable UTF-8, else hex.
export function describeBytes(u8) {
  if (!u8) return '(none)';
  let text;
  try {
    text = new TextDecoder('utf-8', {fatal: true}).decode(u8);
  } catch {
    return hex(u8);
  }
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // not JSON
  }
  return /^[\P{C}\n\r\t]*$/u.test(text) ? text : hex(u8);
}

// The bytes a form's text stands for, by its format (text, json or hex).
export function encodeInput(text, format) {
  if (format === 'hex') {
    const digits = text.replace(/\s+/g, '');
    if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new Error('hex must be pairs of digits');
    return Uint8Array.from(digits.match(/../g) || [], (h) => parseInt(h, 16));
  }
  if (format === 'json') JSON.parse(text);  // throws on invalid JSON
  return new TextEncoder().encode(text);
}

export function formatSelect(id) {
  return el(
      'select', {id}, el('option', {value: 'text'}, 'text'), el('option', {value: 'json'}, 'JSON'),
      el('option', {value: 'hex'}, 'hex'));
}

export function showError(where, error) {
  where.textContent = error.message || String(error);
  where.className = 'error';
}

// ----- Events

function compact(value) {
  const text = JSON.stringify(value);
  return text && text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function outcome(o) {
  if (!o) return '';
  return 'error' in o ? `error: ${o.error}` : `ok ${compact(o.ok)}`;
}

// A payload the server decoded (docs/chain-format.md, "Rendering") as one line.
export function summarize(decoded) {
  if (!decoded) return '';
  switch (decoded.kind) {
    case 'host-call':
      return `${decoded.interface}.${decoded.function}(${compact(decoded.input).slice(1, -1)}) -> ${
          outcome(decoded.output)}`;
    case 'export-call': {
      const state = decoded.new_state ? `, state ${decoded.new_state.size} B` : '';
      return `${decoded.function}(${compact(decoded.params).slice(1, -1)}) -> ${
          outcome(decoded.result)}${state}`;
    }
    case 'lifecycle':
      return `${decoded.step}: ${decoded.message}`;
    case 'log':
      return `[${decoded.level}] ${decoded.message}`;
    case 'initial-state':
      return `initial state from ${decoded.source}`;
    default:
      return `undecodable: ${decoded.error}`;
  }
}

// The decoded payload of each row, shown in full as its tooltip when the pointer reaches it
// (built then, not for each of thousands of rows a second).
const decodedOf = new WeakMap();

export function eventRow(index, event) {
  const time = new Date(event.timestamp).toISOString().replace('T', ' ').replace('Z', '');
  const line = summarize(event.decoded) + (event.description ? ` | ${event.description}` : '');
  const payload = el('span', {class: 'payload'}, line);
  decodedOf.set(payload, event.decoded);
  return el(
      'div', {class: 'event', 'data-index': index, 'data-type': event.event_type},
      el('span', {class: 'muted'}, `#${index}`), el('span', {class: 'muted'}, time),
      el('span', {class: 'type'}, event.event_type), payload);
}

export function showDecodedOnHover(list) {
  list.addEventListener('mouseover', (e) => {
    const target = e.target;
    if (decodedOf.has(target) && !target.title) {
      target.title = JSON.stringify(decodedOf.get(target), null, 2);
    }
  });
}

export {bytes};
