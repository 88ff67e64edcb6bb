// Theater: a WebAssembly actor runtime.
//
// Handler plug-ins: a handler built as a shared object against this host API (include/theater/),
// which the stock `theater server --handler PATH.so` (or the config file's `[handlers] plugins`)
// loads beside the built-in handlers (docs/handlers.md, "Plug-ins"). The plug-in defines its
// handler as any embedder does (theater/handler.h) and names its factory, once, with
// THEATER_HANDLER_PLUGIN. The host resolves what the plug-in calls of the host API against its
// own copy (the `theater` command exports the `theater::` symbols), so the plug-in links nothing
// of Theater.
//
// What the host checks before it calls anything of the plug-in: that it was built against this
// host API version (kHostApiVersion) and with the same C++ ABI (the compiler's and the standard
// library's string layout). Anything else is refused with the reason.
//
// Thread-safety: LoadHandlerPlugin may be called from any thread; a loaded object stays loaded
// until the process ends (its code is the handler's, whose instances may outlive any registry).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "theater/handler.h"
#include "theater/status.h"
#include "theater/version.h"

namespace theater {

// The version of the host API a plug-in is compiled against. Raised whenever a change to
// include/theater/ would break a plug-in built before it: a class's layout or a virtual function
// of Handler, ActorContext, HostFunctions or what they pass (Status, abi::Value,
// HandlerConfig) added, removed or changed. A plug-in built against another version is refused.
inline constexpr uint32_t kHostApiVersion = 1;

// What a plug-in says of itself (THEATER_HANDLER_PLUGIN writes it). Only plain fields before
// `create`: the host reads them before it trusts anything C++ of the plug-in.
struct HandlerPluginInfo {
  uint32_t struct_size;         // sizeof(HandlerPluginInfo) as the plug-in was compiled
  uint32_t host_api_version;    // kHostApiVersion as the plug-in was compiled
  uint32_t cxx_abi_version;     // __GXX_ABI_VERSION
  uint32_t cxx11_string_abi;    // _GLIBCXX_USE_CXX11_ABI
  const char* theater_version;  // kVersion as the plug-in was compiled
  // A new prototype of the handler; the host owns it. Null: the plug-in could not make one.
  Handler* (*create)();
};

// The C++ ABI of this translation unit, as HandlerPluginInfo records it.
#if defined(_GLIBCXX_USE_CXX11_ABI)
#define THEATER_PLUGIN_STRING_ABI _GLIBCXX_USE_CXX11_ABI
#else
#define THEATER_PLUGIN_STRING_ABI 0
#endif
#if defined(__GXX_ABI_VERSION)
#define THEATER_PLUGIN_GXX_ABI __GXX_ABI_VERSION
#else
#define THEATER_PLUGIN_GXX_ABI 0
#endif

// Loads the plug-in at `path` and makes its handler's prototype. Errors: kNotFound (no such
// file), kUnavailable (the object does not load: the loader's words, e.g. a symbol of the host API
// this `theater` does not have), kInvalidArgument (not a Theater handler plug-in: it defines no
// theater_handler_plugin), kFailedPrecondition (built against another host API version or C++
// ABI: rebuild it against this version's include/theater/), kInternal (its factory made nothing).
Result<std::unique_ptr<Handler>> LoadHandlerPlugin(const std::filesystem::path& path);

class HandlerRegistry;
// LoadHandlerPlugin, then registers the handler in `registry`, which must not have one of that
// name already (kAlreadyExists: a plug-in does not replace a built-in handler). Returns the
// handler's name.
Result<std::string> RegisterHandlerPlugin(HandlerRegistry& registry,
                                          const std::filesystem::path& path);

}  // namespace theater

// In one source file of the plug-in, after its handler's factory
// (`std::unique_ptr<theater::Handler> NewCounterHandler()`):
//   THEATER_HANDLER_PLUGIN(NewCounterHandler)
#define THEATER_HANDLER_PLUGIN(factory)                                                 \
  extern "C" __attribute__((visibility("default"))) const ::theater::HandlerPluginInfo* \
  theater_handler_plugin() {                                                            \
    static const ::theater::HandlerPluginInfo info{                                     \
        sizeof(::theater::HandlerPluginInfo),                                           \
        ::theater::kHostApiVersion,                                                     \
        THEATER_PLUGIN_GXX_ABI,                                                         \
        THEATER_PLUGIN_STRING_ABI,                                                      \
        ::theater::kVersion.data(),                                                     \
        []() -> ::theater::Handler* { return (factory)().release(); }};                 \
    return &info;                                                                       \
  }
