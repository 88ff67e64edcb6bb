// Theater: a WebAssembly actor runtime.
//
// LoadHandlerPlugin (theater/plugin.h): dlopen, the plug-in's self-description checked field by
// field before anything C++ of it is called, then its factory.
#include <dlfcn.h>

#include <string>
#include <system_error>

#include "theater/plugin.h"

#include "theater/handler_registry.h"

namespace theater {

Result<std::unique_ptr<Handler>> LoadHandlerPlugin(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return NotFound("handler plug-in " + name + ": no such file");
  }
  // RTLD_NOW: a symbol the plug-in needs and this host lacks is named here, not at its first
  // call. RTLD_LOCAL: what the plug-in defines stays its own (two plug-ins may use one name).
  // The path is given with a directory, so dlopen never searches the library path for it.
  const std::filesystem::path direct =
      path.has_parent_path() ? path : std::filesystem::path(".") / path;
  void* object = dlopen(direct.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (object == nullptr) {
    const char* why = dlerror();
    return Unavailable("handler plug-in " + name +
                       " does not load: " + (why ? why : "unknown error"));
  }
  // From here on the object stays loaded, whatever the outcome: a refused plug-in's code may
  // already be mapped into the process's tables (its static constructors ran), and a loaded
  // handler's instances outlive any registry. The loader keeps one copy per path.
  using InfoFunction = const HandlerPluginInfo* (*)();
  auto describe = reinterpret_cast<InfoFunction>(dlsym(object, "theater_handler_plugin"));
  if (describe == nullptr) {
    return InvalidArgument("handler plug-in " + name +
                           " is not a Theater handler plug-in: it defines no "
                           "theater_handler_plugin (THEATER_HANDLER_PLUGIN in theater/plugin.h)");
  }
  const HandlerPluginInfo* info = describe();
  if (info == nullptr || info->struct_size < sizeof(uint32_t) * 2) {
    return InvalidArgument("handler plug-in " + name + " describes itself with nothing");
  }
  if (info->host_api_version != kHostApiVersion) {
    return FailedPrecondition("handler plug-in " + name + " was built against host API " +
                              std::to_string(info->host_api_version) + "; this theater (" +
                              std::string(kVersion) + ") has host API " +
                              std::to_string(kHostApiVersion) +
                              ": rebuild it against this version's include/theater/");
  }
  if (info->struct_size != sizeof(HandlerPluginInfo)) {
    return FailedPrecondition("handler plug-in " + name + " has a description of " +
                              std::to_string(info->struct_size) + " bytes, this theater one of " +
                              std::to_string(sizeof(HandlerPluginInfo)) +
                              ": rebuild it against this version's include/theater/");
  }
  if (info->cxx_abi_version != THEATER_PLUGIN_GXX_ABI ||
      info->cxx11_string_abi != THEATER_PLUGIN_STRING_ABI) {
    return FailedPrecondition(
        "handler plug-in " + name + " was compiled for another C++ ABI (compiler ABI " +
        std::to_string(info->cxx_abi_version) + ", string ABI " +
        std::to_string(info->cxx11_string_abi) + "; this theater: " +
        std::to_string(THEATER_PLUGIN_GXX_ABI) + ", " + std::to_string(THEATER_PLUGIN_STRING_ABI) +
        "): build it with the compiler and standard library this theater was built with");
  }
  if (info->create == nullptr) {
    return InvalidArgument("handler plug-in " + name + " names no factory");
  }
  std::unique_ptr<Handler> handler(info->create());
  if (!handler) return InternalError("handler plug-in " + name + ": its factory made no handler");
  return handler;
}

Result<std::string> RegisterHandlerPlugin(HandlerRegistry& registry,
                                          const std::filesystem::path& path) {
  THEATER_ASSIGN_OR_RETURN(std::unique_ptr<Handler> handler, LoadHandlerPlugin(path));
  std::string name(handler->name());
  if (registry.Find(name) != nullptr) {
    return AlreadyExists("handler plug-in " + path.string() + " names its handler '" + name +
                         "', which is already a handler here: a plug-in adds a handler, it does "
                         "not replace one");
  }
  Status registered = registry.Register(std::move(handler));
  if (!registered.ok()) return registered.WithContext("handler plug-in " + path.string());
  return name;
}

}  // namespace theater
