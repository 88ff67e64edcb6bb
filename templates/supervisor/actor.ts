// {{project_name}}: a Theater supervisor actor in TypeScript.
//
// Commands, sent as requests (`theater message --request <id> "<command>"`):
//   spawn:<manifest>   start a child (a manifest path under this actor's directory or the
//                      server's --spawn-root, a URL, a store:// reference or TOML text);
//                      answers its id
//   list               the children's ids, comma-separated
//   stop:<child-id>    stop a child
// A child that fails is restarted; one that exits or is stopped from outside is only logged.
//
// The actor implements the world `supervisor-messages` (wit/supervisor-messages.wit: the
// supervisor-actor and message-server-actor worlds together); types/supervisor_messages.d.ts
// declares what it imports and exports. A host function whose WIT result is result<T, E>
// returns T and throws on an error; errorText reads what it threw.
import { log } from 'theater:simple/runtime';
import { spawn, listChildren, stopChild, restartChild } from 'theater:simple/supervisor';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const errorText = (e: unknown): string => {
  const thrown = e as { payload?: unknown; message?: unknown } | undefined;
  return String(thrown?.payload ?? thrown?.message ?? e);
};

// What a request asks for, answered as text.
function command(request: string): string {
  try {
    if (request.startsWith('spawn:')) {
      const child = spawn(request.slice('spawn:'.length), undefined);
      log(`spawned child ${child}`);
      return child;
    }
    if (request.startsWith('stop:')) {
      stopChild(request.slice('stop:'.length));
      return 'ok';
    }
    if (request.startsWith('list')) return listChildren().join(',');
    return 'commands: spawn:<manifest>, list, stop:<child-id>';
  } catch (e) {
    return `error: ${errorText(e)}`;
  }
}

export const actor: SupervisorMessages.Actor = {
  init(state, [actorId]) {
    log(`supervisor {{project_name}} ${actorId} started`);
    return [state];
  },
};

export const messageServerClient: SupervisorMessages.MessageServerClient = {
  handleRequest(state, [_requestId, message]) {
    return [state, [encoder.encode(command(decoder.decode(message)))]];
  },
  // One-way messages and channels are not used; channels are refused.
  handleSend: (state) => [state],
  handleChannelOpen: (state) => [state, [{ accepted: false }]],
  handleChannelMessage: (state) => [state],
  handleChannelClose: (state) => [state],
};

export const supervisorHandlers: SupervisorMessages.SupervisorHandlers = {
  handleChildError(state, [childId, error]) {
    log(`child ${childId} failed (${error.errorType}); restarting it`);
    try {
      restartChild(childId);
    } catch (e) {
      log(`restart failed: ${errorText(e)}`);
    }
    return [state];
  },
  handleChildExit(state, [childId, data]) {
    log(`child ${childId} exited${data ? ' with data' : ''}`);
    return [state];
  },
  handleChildExternalStop(state, [childId]) {
    log(`child ${childId} was stopped from outside`);
    return [state];
  },
};
