// Theater: a WebAssembly actor runtime.
//
// The commands about chains and states (docs/protocol.md): an actor's events and state, read in
// pages (event_pages.h), its chain verified or saved to a file, and the chains the store holds.
// All of them read SQLite or files, so they run on the blocking pool.
#include <string>
#include <vector>

#include "common/json_writer.h"
#include "server/event_pages.h"
#include "server/server_impl.h"
#include "theater/chain_store.h"

namespace theater::server {
namespace {

using json = nlohmann::json;

// A reply that breaks a size limit is the client's to fix (ask for pages): InvalidRequest.
std::string TextOrError(const Result<std::string>& text) {
  if (text.ok()) return *text;
  if (text.status().code() == StatusCode::kResourceExhausted) {
    return JsonText(ErrorResponse(ManagementError::kInvalidRequest, text.status().ToString()));
  }
  return JsonText(ErrorResponse(text.status(), Subject::kActor));
}

}  // namespace

void ServerImpl::PagedRead(CommandCall& call, const char* start_field, PagedReply reply) {
  PageRequest request;
  request.id = call.actor_id;
  if (Status fields = ReadPageRequest(call.fields, start_field, &request); !fields.ok()) {
    return call.Invalid(fields);
  }
  const PageLimits limits{options_.max_reply_bytes, options_.default_page_bytes};
  BlockingText(call.conn, call.ctx, [this, request, limits, reply] {
    return TextOrError(reply(runtime_, request, limits));
  });
}

void ServerImpl::GetActorEvents(CommandCall& call) {
  PagedRead(call, "from_index", EventsReply);
}

void ServerImpl::GetActorState(CommandCall& call) {
  PagedRead(call, "offset", StateReply);
}

void ServerImpl::VerifyChain(CommandCall& call) {
  Blocking(call.conn, call.ctx, [this, id = call.actor_id]() -> json {
    Result<json> reply = VerifyChainReply(runtime_, id);
    if (!reply.ok()) return ErrorResponse(reply.status(), Subject::kActor);
    return *reply;
  });
}

void ServerImpl::SaveChain(CommandCall& call) {
  // The file is written on the server's machine, under its home (TheaterRuntime::SaveChain).
  Blocking(call.conn, call.ctx, [this, id = call.actor_id]() -> json {
    Result<std::filesystem::path> path = runtime_.SaveChain(id);
    if (!path.ok()) return ErrorResponse(path.status(), Subject::kActor);
    return MakeVariant("ChainSaved", json{{"id", id}, {"path", path->string()}});
  });
}

void ServerImpl::ListStored(CommandCall& call) {
  Blocking(call.conn, call.ctx, [this]() -> json {
    json actors = json::array();
    if (chain::ChainStore* store = runtime_.store()) {
      // Running actors' latest events may still wait in the writer's batch: count them too.
      if (Status flushed = store->Flush(); !flushed.ok()) {
        return ErrorResponse(flushed, Subject::kStore);
      }
      Result<std::vector<chain::ActorRecord>> records = store->ListActors();
      if (!records.ok()) return ErrorResponse(records.status(), Subject::kStore);
      for (const chain::ActorRecord& r : *records) {
        actors.push_back(json{{"id", r.actor_id},
                              {"name", r.name},
                              {"status", r.status},
                              {"manifest", r.manifest},
                              {"events", r.event_count}});
      }
    }
    return MakeVariant("StoredActors", json{{"actors", actors}});
  });
}

}  // namespace theater::server
