// Theater: a WebAssembly actor runtime.
//
// libFuzzer target for the management protocol's message readers, which see whatever a client
// (or a server) sends: ParseCommand, ParseIncoming, the canonical ActorEvent reader and the
// general one must each accept or refuse any bytes without crashing, and the canonical reader
// must agree with the general one on every message it accepts.
#include <cstddef>
#include <cstdint>

#include "server/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace theater::server;
  std::span<const uint8_t> message(data, size);
  auto command = ParseCommand(message);
  if (command.ok()) {
    // Field readers on whatever the fields hold.
    (void)StringField(command->command.fields, "id");
    (void)ActorIdField(command->command.fields);
    (void)BytesField(command->command.fields, "data");
    (void)OptionalBytesField(command->command.fields, "initial_state");
    (void)BoolField(command->command.fields, "parent", false);
    (void)ByteEncodingField(command->command.fields);
  }
  auto incoming = ParseIncoming(message);
  EventPush fast;
  const bool canonical = ParseCanonicalEventPush(message, &fast);
  if (incoming.ok() && incoming->response.name == "ActorEvent") {
    auto general = EventPushFromFields(incoming->response.fields);
    if (canonical) {
      if (!general.ok()) __builtin_trap();
      if (general->actor_id != fast.actor_id || general->dropped != fast.dropped ||
          general->index != fast.index || !(general->event == fast.event)) {
        __builtin_trap();
      }
    }
  } else if (canonical) {
    __builtin_trap();  // the canonical form is always valid JSON of an ActorEvent
  }
  if (incoming.ok() && incoming->response.name == "Error")
    (void)StatusFromError(incoming->response.fields);
  return 0;
}
