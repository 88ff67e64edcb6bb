/* Theater guest SDK for C: include this one header.
 *
 * Start with abi.h (the canonical ABI and the ownership rules, in one place) and actor.h (how
 * an export handler is written). Each other header is one `theater:simple` interface:
 *   runtime.h         log, get-state, shutdown                         (import)
 *   runtime_ext.h     actor id/name, time, levelled log, metrics, events (import)
 *   actor.h           init                                             (export)
 *   message_server.h  message-server-client (export), message-server-host (import)
 *   supervisor.h      supervisor-handlers (export), supervisor (import)
 *   store.h, timing.h, random.h, environment.h                         (imports)
 * Only the imports an actor calls end up in its module, so including everything costs nothing.
 * For C++ use theater.hpp, which includes this.
 */
#ifndef THEATER_SDK_THEATER_H_
#define THEATER_SDK_THEATER_H_

#include "abi.h"
#include "actor.h"
#include "environment.h"
#include "message_server.h"
#include "random.h"
#include "runtime.h"
#include "runtime_ext.h"
#include "store.h"
#include "supervisor.h"
#include "timing.h"

#endif /* THEATER_SDK_THEATER_H_ */
