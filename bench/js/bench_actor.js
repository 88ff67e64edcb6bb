// bench_actor.js: the JavaScript actor of bench/js_runtime.sh (docs/benchmarks.md, "JavaScript
// actors at run time"), world `message-server-actor`. It does what tests/actors/bench_actor.c
// and tests/actors/host_loop.c do, in JavaScript:
//   init sets the state to "0"; handleSend increments the counter kept in the state;
//   handleRequest does the same and responds with the new count, except for two commands:
//     host:<n>   calls theater:simple/runtime get-current-time n times (one host call each, with
//                no parameter and a u64 result, recorded in the chain) and responds with n;
//     spin:<n>   the same loop without the host call (the engine's own cost); responds with a sum.
import { getCurrentTime } from 'theater:simple/runtime';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function increment(state) {
  const n = (state ? Number(decoder.decode(state)) || 0 : 0) + 1;
  return encoder.encode(String(n));
}

let sink = 0n;

/** @type {MessageServerActor.Actor} */
export const actor = {
  init(state, [actorId]) {
    return [encoder.encode('0')];
  },
};

/** @type {MessageServerActor.MessageServerClient} */
export const messageServerClient = {
  handleSend(state, [message]) {
    return [increment(state)];
  },

  handleRequest(state, [requestId, message]) {
    const text = decoder.decode(message);
    if (text.startsWith('host:')) {
      const n = Number(text.slice(5));
      let last = 0n;
      for (let i = 0; i < n; i++) last = getCurrentTime();
      sink = last;
      return [state, [encoder.encode(String(n))]];
    }
    if (text.startsWith('spin:')) {
      const n = Number(text.slice(5));
      const k = Number(sink & 0xffn);
      let sum = 0;
      for (let i = 0; i < n; i++) sum = (sum + (i ^ k)) | 0;
      return [state, [encoder.encode(String(sum))]];
    }
    const next = increment(state);
    return [next, [next]];
  },

  handleChannelOpen(state, [channelId]) {
    return [state, [{ accepted: true, message: undefined }]];
  },

  handleChannelMessage(state, [channelId, message]) {
    return [state];
  },

  handleChannelClose(state, [channelId]) {
    return [state];
  },
};
