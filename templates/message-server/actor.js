// {{project_name}}: a Theater actor that talks through the message-server handler, in
// JavaScript.
//
// Try it against a running server (`theater server`):
//   id=$(theater start manifest.toml)
//   theater message $id "hello"              # handle-send: logged and counted
//   theater message --request $id "ping"     # handle-request: answers "pong"
//   theater message --request $id "count"    # answers how many messages it received
//   theater channel open $id                 # each line comes back as "echo: <line>"
//
// State: the number of messages received, as decimal text.
//
// The actor implements the WIT world `message-server-actor` (wit/worlds.wit);
// types/message_server_actor.d.ts declares what it imports and exports. An export returns
// [new state, ...]; throwing from one fails the call with the thrown message.
import { log } from 'theater:simple/runtime';
import { sendOnChannel } from 'theater:simple/message-server-host';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (bytes) => decoder.decode(bytes);
const bytes = (value) => encoder.encode(value);
const countOf = (state) => (state ? Number(text(state)) || 0 : 0);
const countState = (n) => bytes(String(n));

/** @type {MessageServerActor.Actor} */
export const actor = {
  init(state, [actorId]) {
    log(`{{project_name}} ${actorId} is ready for messages`);
    return [countState(0)];
  },
};

/** @type {MessageServerActor.MessageServerClient} */
export const messageServerClient = {
  handleSend(state, [message]) {
    log(`message: ${text(message)}`);
    return [countState(countOf(state) + 1)];
  },

  handleRequest(state, [requestId, message]) {
    // requestId is only needed to answer later with respondToRequest.
    const count = countOf(state) + 1;
    const request = text(message);
    let reply;
    if (request === 'ping') {
      reply = 'pong';
    } else if (request === 'count') {
      reply = String(count);
    } else {
      reply = `you said: ${request}`;
    }
    return [countState(count), [bytes(reply)]];
  },

  handleChannelOpen(state, [channelId]) {
    log(`channel ${channelId} opened`);
    return [state, [{ accepted: true, message: bytes('welcome to {{project_name}}') }]];
  },

  handleChannelMessage(state, [channelId, message]) {
    // Throws (failing this call) when the host cannot send: the error is the host's message.
    sendOnChannel(channelId, bytes(`echo: ${text(message)}`));
    return [countState(countOf(state) + 1)];
  },

  handleChannelClose(state, [channelId]) {
    log(`channel ${channelId} closed`);
    return [state];
  },
};
