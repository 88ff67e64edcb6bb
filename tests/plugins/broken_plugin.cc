// Handler plug-ins that must be refused (src/runtime/handler_plugin_test.cc), one per define:
// BROKEN_NO_INFO (defines no theater_handler_plugin), BROKEN_STALE_API (built against the next
// host API version), BROKEN_STRING_ABI (another std::string layout), BROKEN_NULL_FACTORY (its
// factory makes nothing). None calls anything of the host, so a test program that exports no
// host API can load them.
#include "theater/plugin.h"

#if !defined(BROKEN_NO_INFO)
namespace {

theater::Handler* MakeNothing() {
  return nullptr;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const theater::HandlerPluginInfo*
theater_handler_plugin() {
  static const theater::HandlerPluginInfo info {
    sizeof(theater::HandlerPluginInfo),
#if defined(BROKEN_STALE_API)
        theater::kHostApiVersion + 1,
#else
        theater::kHostApiVersion,
#endif
        THEATER_PLUGIN_GXX_ABI,
#if defined(BROKEN_STRING_ABI)
        THEATER_PLUGIN_STRING_ABI == 0 ? 1u : 0u,
#else
        THEATER_PLUGIN_STRING_ABI,
#endif
        theater::kVersion.data(), MakeNothing
  };
  return &info;
}
#else
extern "C" __attribute__((visibility("default"))) int not_a_theater_plugin() {
  return 0;
}
#endif
