// Theater: a WebAssembly actor runtime.
//
// The commands that look into the server's content stores (docs/protocol.md; docs/store.md):
// NewStore, which creates one, and ListStores, ListStoreContent and GetStoreContent, read-only
// additions. They run on the blocking pool (the store reads SQLite and files). The server is the
// one to ask because it holds the store: content an actor has just stored may be in its pack files
// with its index row still in the server's memory, and another process opening the database would
// have to recover the packs, which is a write.
#include "common/json_writer.h"
#include "server/event_pages.h"
#include "server/server_impl.h"
#include "theater/content_store.h"

namespace theater::server {
namespace {

using nlohmann::json;

// Room kept in a reply for what surrounds the listing or the slice (and an envelope).
constexpr size_t kStoreTrailerBytes = 256;

// A listing that passes the reply limit is refused rather than cut: a partial listing would
// look complete. `what`: "of store <id>", "of stores".
Status CheckListingSize(const json& reply, size_t max_reply_bytes, const std::string& what) {
  const size_t size = JsonText(reply).size();
  if (size + kStoreTrailerBytes <= max_reply_bytes) return Status::Ok();
  return ResourceExhausted("the listing " + what + " takes " + std::to_string(size) +
                           " bytes as JSON, more than the reply limit of " +
                           std::to_string(max_reply_bytes) + " bytes (max_reply_bytes)");
}

json ListStoresReply(store::ContentStore& stores, size_t max_reply_bytes) {
  Result<std::vector<store::StoreInfo>> list = stores.ListStores();
  if (!list.ok()) return ErrorResponse(list.status(), Subject::kStore);
  json out = json::array();
  for (const store::StoreInfo& info : *list) {
    Result<std::vector<std::string>> content = stores.ListContent(info.id);
    Result<uint64_t> bytes = stores.TotalSize(info.id);
    Result<std::vector<std::string>> labels = stores.ListLabels(info.id);
    if (!content.ok()) return ErrorResponse(content.status(), Subject::kStore);
    if (!bytes.ok()) return ErrorResponse(bytes.status(), Subject::kStore);
    if (!labels.ok()) return ErrorResponse(labels.status(), Subject::kStore);
    out.push_back(json{{"id", info.id},
                       {"owner", info.owner ? json(*info.owner) : json()},
                       {"created_ms", info.created_ms},
                       {"content", content->size()},
                       {"bytes", *bytes},
                       {"labels", labels->size()}});
  }
  json reply = MakeVariant("Stores", json{{"stores", std::move(out)}});
  if (Status fits = CheckListingSize(reply, max_reply_bytes, "of stores"); !fits.ok()) {
    return ErrorResponse(ManagementError::kInvalidRequest, fits.ToString());
  }
  return reply;
}

json ListContentReply(store::ContentStore& stores, const std::string& store_id,
                      size_t max_reply_bytes) {
  Result<std::vector<std::string>> hashes = stores.ListContent(store_id);
  if (!hashes.ok()) return ErrorResponse(hashes.status(), Subject::kStore);
  json content = json::array();
  uint64_t total = 0;
  for (const std::string& hash : *hashes) {
    Result<uint64_t> size = stores.ContentSize(store_id, hash);
    if (!size.ok()) return ErrorResponse(size.status(), Subject::kStore);
    total += *size;
    content.push_back(json{{"hash", hash}, {"size", *size}});
  }
  Result<std::vector<std::string>> names = stores.ListLabels(store_id);
  if (!names.ok()) return ErrorResponse(names.status(), Subject::kStore);
  json labels = json::array();
  for (const std::string& label : *names) {
    Result<std::optional<std::string>> hash = stores.GetLabel(store_id, label);
    if (!hash.ok()) return ErrorResponse(hash.status(), Subject::kStore);
    if (!*hash) continue;  // removed since the listing
    labels.push_back(json{{"label", label}, {"hash", **hash}});
  }
  json reply = MakeVariant("StoreListing", json{{"store_id", store_id},
                                                {"content", std::move(content)},
                                                {"labels", std::move(labels)},
                                                {"total_bytes", total}});
  if (Status fits = CheckListingSize(reply, max_reply_bytes, "of store " + store_id); !fits.ok()) {
    return ErrorResponse(ManagementError::kInvalidRequest, fits.ToString());
  }
  return reply;
}

struct ContentRequest {
  std::string store_id;
  std::string hash;   // empty: by label
  std::string label;  // empty: by hash
  ByteEncoding encoding = ByteEncoding::kArray;
  size_t offset = 0;
  size_t max_bytes = 0;  // 0: the default page size
};

Result<std::string> ContentReply(store::ContentStore& stores, const ContentRequest& request,
                                 const std::shared_ptr<Connection::PagedContent>& paged,
                                 const PageLimits& limits) {
  std::string hash = request.hash;
  if (hash.empty()) {
    THEATER_ASSIGN_OR_RETURN(std::optional<std::string> named,
                             stores.GetLabel(request.store_id, request.label));
    if (!named) {
      return NotFound("store " + request.store_id + " has no label '" + request.label + "'");
    }
    hash = *named;
  }
  std::lock_guard lock(paged->mu);
  if (!paged->bytes || paged->store_id != request.store_id || paged->hash != hash) {
    paged->bytes.reset();  // the piece before, if any, is not wanted any more
    THEATER_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, stores.Get(request.store_id, hash));
    paged->bytes = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
    paged->store_id = request.store_id;
    paged->hash = hash;
  }
  const std::span<const uint8_t> all(*paged->bytes);
  std::string text;
  JsonWriter w(text);
  w.BeginVariant("StoreContent").BeginObject();
  w.Member("store_id", request.store_id).Member("hash", hash).Key("data");
  const size_t offset = std::min(request.offset, all.size());
  const size_t room = limits.max_reply_bytes > kStoreTrailerBytes + text.size()
                          ? limits.max_reply_bytes - kStoreTrailerBytes - text.size()
                          : 1;
  const size_t budget =
      std::min(request.max_bytes ? request.max_bytes : limits.default_page_bytes, room);
  const size_t n = SliceThatFits(all.subspan(offset), budget, request.encoding);
  AppendBytesJson(all.subspan(offset, n), w.ValueSlot(), request.encoding);
  const bool more = offset + n < all.size();
  w.Member("offset", uint64_t{offset}).Member("total_bytes", uint64_t{all.size()});
  w.Member("more", more).EndObject().EndObject();
  if (!more) paged->bytes.reset();
  return text;
}

Result<size_t> OptionalSize(const json& fields, const char* name) {
  auto it = fields.find(name);
  if (it == fields.end() || it->is_null()) return size_t{0};
  if (!it->is_number_unsigned()) {
    return InvalidArgument(std::string("field '") + name + "' must be a non-negative integer");
  }
  return static_cast<size_t>(it->get<uint64_t>());
}

}  // namespace

// The server's content store, or nullopt once the error has been replied (a server without one).
std::optional<store::ContentStore*> ServerImpl::ContentStoreFor(CommandCall& call) {
  Result<store::ContentStore*> stores = runtime_.content_store();
  if (!stores.ok()) {
    call.Finish(ErrorResponse(stores.status(), Subject::kStore));
    return std::nullopt;
  }
  return *stores;
}

void ServerImpl::NewStore(CommandCall& call) {
  std::optional<store::ContentStore*> store = ContentStoreFor(call);
  if (!store) return;
  Blocking(call.conn, call.ctx, [store = *store]() -> json {
    Result<std::string> id = store->CreateStore();
    if (!id.ok()) return ErrorResponse(id.status(), Subject::kStore);
    return MakeVariant("StoreCreated", json{{"store_id", *id}});
  });
}

void ServerImpl::ListStores(CommandCall& call) {
  std::optional<store::ContentStore*> store = ContentStoreFor(call);
  if (!store) return;
  Blocking(call.conn, call.ctx, [store = *store, limit = options_.max_reply_bytes]() {
    return ListStoresReply(*store, limit);
  });
}

void ServerImpl::ListStoreContent(CommandCall& call) {
  std::optional<store::ContentStore*> store = ContentStoreFor(call);
  if (!store) return;
  Result<std::string> store_id = StringField(call.fields, "store_id");
  if (!store_id.ok()) return call.Invalid(store_id.status());
  Blocking(call.conn, call.ctx,
           [store = *store, id = *store_id, limit = options_.max_reply_bytes]() {
             return ListContentReply(*store, id, limit);
           });
}

// Exactly one of the fields `hash` and `label` names the content.
void ServerImpl::GetStoreContent(CommandCall& call) {
  std::optional<store::ContentStore*> store = ContentStoreFor(call);
  if (!store) return;
  const json& fields = call.fields;
  Result<std::string> store_id = StringField(fields, "store_id");
  if (!store_id.ok()) return call.Invalid(store_id.status());
  ContentRequest request;
  request.store_id = *store_id;
  const bool by_hash = HasField(fields, "hash");
  const bool by_label = HasField(fields, "label");
  if (by_hash == by_label) {
    return call.Invalid(InvalidArgument("give exactly one of the fields 'hash' and 'label'"));
  }
  Result<std::string> key = StringField(fields, by_hash ? "hash" : "label");
  if (!key.ok()) return call.Invalid(key.status());
  (by_hash ? request.hash : request.label) = *key;
  Result<ByteEncoding> encoding = ByteEncodingField(fields);
  if (!encoding.ok()) return call.Invalid(encoding.status());
  request.encoding = *encoding;
  Result<size_t> offset = OptionalSize(fields, "offset");
  if (!offset.ok()) return call.Invalid(offset.status());
  Result<size_t> max_bytes = OptionalSize(fields, "max_bytes");
  if (!max_bytes.ok()) return call.Invalid(max_bytes.status());
  request.offset = *offset;
  request.max_bytes = *max_bytes;
  const PageLimits limits{options_.max_reply_bytes, options_.default_page_bytes};
  BlockingText(call.conn, call.ctx,
               [store = *store, request, paged = call.conn->paged_content(), limits]() {
                 Result<std::string> text = ContentReply(*store, request, paged, limits);
                 if (text.ok()) return std::move(text).value();
                 return JsonText(ErrorResponse(text.status(), Subject::kStore));
               });
}

}  // namespace theater::server
