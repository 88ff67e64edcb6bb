// Theater: a WebAssembly actor runtime.
//
// The WASI preview-2 interfaces a component made with the preview-1 adapter imports, served to
// one actor instance: what a C or C++ actor built against wasi-libc needs, with the same policy as
// the preview-1 functions core modules get (../wasi-preview1):
//
//   wasi:cli/stdout, stderr      output streams whose lines go to the actor's log
//   wasi:cli/stdin               an input stream that is closed
//   wasi:cli/environment         no variables, no arguments, no working directory
//   wasi:cli/exit                fails the running call with the status
//   wasi:cli/terminal-*          no terminal
//   wasi:io/streams, error, poll streams as above, always ready; clock subscriptions are ready
//                                at their instant, and block/poll wait for it (Options::wait_until)
//   wasi:clocks/wall-clock, monotonic-clock   the real clocks
//   wasi:random/random, insecure, insecure-seed   bytes from Options::random
//   wasi:filesystem/preopens     the directories Options::preopens grants (none unless the
//                                manifest grants one, see docs/components.md)
//   wasi:filesystem/types        descriptors confined by the kernel to those directories
//                                (wasi_filesystem.cc): open, read and write (directly and through
//                                streams), stat, directories, create, remove, rename; links and
//                                timestamps are unsupported
//
//   wasi:http/types              with Options::http: fields, the incoming request and body of an
//                                exchange the wasi-http handler received (AdoptIncoming), and
//                                the outgoing response and body the component answers with
//                                (wasi_http_types.cc)
//
// Interfaces are matched without their version, for any 0.2.x. Every call is reported to
// `Options::record` with its arguments and results (handles as the host's representations), so
// the handler records it in the chain like any host call: clocks and random bytes are what a
// replay needs. Functions of other WASI interfaces (sockets, http without Options::http) are not
// provided; spawning a component that imports one fails with its name.
//
// Thread-safety: one instance serves one actor instance, which runs one call at a time;
// AdoptIncoming alone may be called from any thread.
// Ownership: the functions Resolve returns point into this object, which must outlive the
// component instance they serve (the runtime keeps it with the instance).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/confined_dir.h"
#include "handlers/wasi-preview2/wasi_http_exchange.h"
#include "theater/abi/value.h"
#include "theater/handler.h"
#include "theater/mutex.h"
#include "theater/status.h"
#include "theater/wasi_preopen.h"

namespace theater::handlers {

class WasiPreview2 final : public ComponentInterfaces {
 public:
  struct Options {
    // A complete line written to stdout or stderr (without its newline).
    std::function<void(std::string_view line)> log;
    // Fills a buffer with random bytes (the OS source, as preview 1's).
    std::function<Status(std::span<uint8_t>)> random;
    // Suspends the running call until SteadyNowNs() reaches the deadline (the runtime parks
    // the actor on its timers, holding no thread), or fails when it may not wait that long.
    // Null: a pollable that is not ready yet is reported ready at once.
    std::function<Status(int64_t steady_deadline_ns)> wait_until;
    // Every call: interface (as imported, with its version), function, arguments and results.
    std::function<void(std::string_view interface_name, std::string_view function,
                       std::span<const abi::Value> params, std::span<const abi::Value> results)>
        record;
    // The directories to grant, asked once, at the first Resolve: by then every handler of the
    // actor is set up (ActorContext::WasiPreopens). Null: none.
    std::function<std::vector<WasiPreopen>()> preopens;
    // Serve wasi:http/types (the wasi-http handler's actors).
    bool http = false;
    // Sends an outgoing request (wasi:http/outgoing-handler#handle), suspending the running call
    // until its response has arrived, whole, or it failed. Null: outgoing requests fail with
    // HTTP-request-denied.
    std::function<std::variant<HttpIncomingResponse, HttpRequestFailure>(
        const HttpOutgoingMessage& request)>
        send_request;
  };

  explicit WasiPreview2(Options options);

  // Grants a directory: wasi:filesystem/preopens lists it from now on. Fails when its descriptor
  // cannot be duplicated.
  Status Grant(const WasiPreopen& preopen);

  // The implementation of `import` (an import of a WASI interface), or kNotFound naming it.
  Result<ComponentHostFunction> Resolve(const ComponentImport& import) override;
  // Whether Resolve serves `function` of the versioned interface `interface_name`, without
  // resolving it (no preopen is asked for, nothing is recorded): what `theater validate` checks.
  static bool Serves(std::string_view interface_name, std::string_view function, bool http = false);

  // Makes an exchange the actor's incoming-handler is to be called with into its two resources,
  // and returns their representations: (incoming-request, response-outparam), the params of
  // `wasi:http/incoming-handler#handle`. Any thread. The objects are taken into the instance's
  // table when the call first touches them; ForgetIncoming drops them when the call is never
  // made.
  std::pair<uint32_t, uint32_t> AdoptIncoming(std::shared_ptr<HttpExchange> exchange);
  void ForgetIncoming(std::pair<uint32_t, uint32_t> reps);

  // The guest dropped its last owned handle of a WASI resource.
  void DropResource(uint32_t rep) override;

  // Objects alive (streams, errors, pollables, descriptors), for tests.
  size_t live_objects() const { return objects_.size(); }

 private:
  enum class Kind : uint8_t {
    kInputStream,
    kOutputStream,
    kError,
    kPollable,
    kDescriptor,
    kDirectoryStream,
    // wasi:http/types (wasi_http_types.cc)
    kFields,
    kIncomingRequest,
    kIncomingBody,
    kFutureTrailers,
    kOutgoingResponse,
    kOutgoingBody,
    kResponseOutparam,
    kOutgoingRequest,
    kRequestOptions,
    kFutureIncomingResponse,
    kIncomingResponse,
  };
  // A granted directory: its descriptor and permissions, shared by every descriptor under it.
  struct GrantedDirectory {
    handlers::UniqueFd fd;
    std::string guest_path;
    bool read = false, write = false, create_dir = false;
  };
  struct DirectoryEntry {
    std::string name;
    uint32_t mode = 0;  // its st_mode (0 when it could not be read)
  };
  struct Object {
    Kind kind = Kind::kPollable;
    int stream = 0;  // 0 stdin, 1 stdout, 2 stderr (when `file` is null)
    // Descriptors and file streams: the open file or directory, and the grant it lies under.
    std::shared_ptr<handlers::UniqueFd> file;
    std::shared_ptr<const GrantedDirectory> grant;
    bool directory = false;                   // descriptor: a directory
    bool readable = false, writable = false;  // descriptor: its descriptor-flags
    uint64_t offset = 0;                      // file stream: the next byte
    bool append = false;                      // output file stream: at the end
    std::vector<DirectoryEntry> entries;      // directory stream
    size_t next_entry = 0;
    int64_t ready_at_ns = 0;  // pollable: ready from this SteadyNowNs() on (0: always)
    // wasi:http: the exchange of an incoming-request, incoming-body, response-outparam, or the
    // input stream of a request's body (read from `offset`).
    std::shared_ptr<HttpExchange> exchange;
    // wasi:http: the response of an outgoing-response, outgoing-body, or the output stream of
    // its body.
    std::shared_ptr<HttpOutgoingMessage> response;
    std::shared_ptr<HttpFields> fields;  // kFields (shared with a request or response it views)
    bool immutable = false;              // kFields: set, append and delete fail
    bool taken = false;  // consume, stream, body or write: each gives its child once
    // kFutureIncomingResponse: why the request failed (else `exchange` holds the response).
    std::optional<HttpRequestFailure> failure;
  };
  using Impl = std::function<Result<std::vector<abi::Value>>(const ComponentImport& import,
                                                             std::vector<abi::Value>& params)>;

  Result<Impl> Find(std::string_view interface_name, std::string_view function);
  // wasi:http/types (wasi_http_types.cc); kNotFound for other functions.
  Result<Impl> FindHttp(std::string_view interface_name, std::string_view function);
  // wasi:http/types' outgoing-request, request-options, future-incoming-response and
  // incoming-response, and wasi:http/outgoing-handler (wasi_http_outgoing.cc).
  Result<Impl> FindHttpOutgoing(std::string_view interface_name, std::string_view function);
  // A fields object viewing `fields`.
  uint32_t NewFields(std::shared_ptr<HttpFields> fields, bool immutable);
  // An outgoing-response or outgoing-request (`kind`) made from the own<fields> `headers`, which
  // it takes.
  Result<std::vector<abi::Value>> NewOutgoingMessage(const abi::Value& headers, Kind kind);
  // What consume, stream, body and write do: the first call on the `parent` object `handle`
  // gives a new `child` object sharing its exchange and message, ok(own); every later one err.
  Result<std::vector<abi::Value>> TakeChildOnce(const abi::Value& handle, Kind parent, Kind child);
  // A request body's input stream: up to `len` bytes from its offset, or closed at its end.
  Result<std::vector<abi::Value>> ReadHttpBody(const ComponentImport& import, Object& stream,
                                               uint64_t len, bool skip);
  // A response body's output stream: appends, within the response's limit.
  Result<std::vector<abi::Value>> WriteHttpBody(const ComponentImport& import, Object& stream,
                                                std::span<const uint8_t> bytes);
  // wasi:filesystem/types and preopens (wasi_filesystem.cc); kNotFound for other functions.
  Result<Impl> FindFilesystem(std::string_view interface_name, std::string_view function);
  // Input and output streams reading or writing a file (wasi_filesystem.cc).
  Result<std::vector<abi::Value>> ReadFileStream(const ComponentImport& import, Object& stream,
                                                 uint64_t len, bool skip);
  // The open file or directory of a kDescriptor object.
  static int DescriptorFd(const Object& descriptor);
  // err(last-operation-failed(error)) of a stream function's result.
  Result<std::vector<abi::Value>> StreamFailed(const ComponentImport& import);
  Result<std::vector<abi::Value>> WriteFileStream(const ComponentImport& import, Object& stream,
                                                  std::span<const uint8_t> bytes);
  Result<std::vector<uint8_t>> RandomBytes(uint64_t len);
  Result<uint64_t> RandomU64();
  uint32_t New(Kind kind, int stream = 0);
  Result<Object*> Get(const abi::Value& handle, Kind kind);
  void Write(int stream, std::span<const uint8_t> bytes);
  Status WaitUntil(int64_t ready_at_ns);

  Options options_;
  std::vector<std::shared_ptr<const GrantedDirectory>> grants_;
  std::map<uint32_t, Object> objects_;
  uint32_t next_rep_ = 1;
  bool granted_ = false;  // Options::preopens asked
  std::string pending_[3];  // stdout and stderr text after the last newline
  // Exchanges adopted from another thread and not yet touched by the actor (AdoptIncoming),
  // numbered from 2^31 so that they never meet next_rep_'s.
  Mutex adopted_mu_;
  std::map<uint32_t, Object> adopted_ THEATER_GUARDED_BY(adopted_mu_);
  uint32_t next_adopted_rep_ THEATER_GUARDED_BY(adopted_mu_) = 1u << 31;
};

}  // namespace theater::handlers
