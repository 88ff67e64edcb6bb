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

// How a read's bytes are written: `byte_encoding` and `decoded`, which events and states share.
template <typename Request>
Status ReadRenderingFields(const json& fields, Request& request) {
  THEATER_ASSIGN_OR_RETURN(request.encoding, ByteEncodingField(fields));
  THEATER_ASSIGN_OR_RETURN(request.decoded, BoolField(fields, "decoded", false));
  return Status::Ok();
}

}  // namespace

void ServerImpl::GetActorEvents(CommandCall& call) {
  EventsRequest request;
  request.id = call.actor_id;
  if (Status how = ReadRenderingFields(call.fields, request); !how.ok()) return call.Invalid(how);
  Status paging = ReadPageFields(call.fields, "from_index", &request.paged, &request.from_index,
                                 &request.max_bytes);
  if (!paging.ok()) return call.Invalid(paging);
  const PageLimits limits{options_.max_reply_bytes, options_.default_page_bytes};
  BlockingText(call.conn, call.ctx, [this, request, limits] {
    return TextOrError(EventsReply(runtime_, request, limits));
  });
}

void ServerImpl::GetActorState(CommandCall& call) {
  StateRequest request;
  request.id = call.actor_id;
  if (Status how = ReadRenderingFields(call.fields, request); !how.ok()) return call.Invalid(how);
  Status paging =
      ReadPageFields(call.fields, "offset", &request.paged, &request.offset, &request.max_bytes);
  if (!paging.ok()) return call.Invalid(paging);
  const PageLimits limits{options_.max_reply_bytes, options_.default_page_bytes};
  BlockingText(call.conn, call.ctx, [this, request, limits] {
    return TextOrError(StateReply(runtime_, request, limits));
  });
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
