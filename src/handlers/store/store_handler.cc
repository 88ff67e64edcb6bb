// Theater: a WebAssembly actor runtime.
//
// The store handler: every function of theater:simple/store over the runtime's ContentStore
// (include/theater/content_store.h, docs/store.md).
//
// Access (docs/store.md, "Access"): an actor may use a store when its store permission allows the
// id (`allowed_stores`) and either it created the store, or its `[[handler]] type = "store"`
// table lists the id in `stores` (or lists "*"). Creating stores needs the permission's `create`.
// Every failure is the function's `err`, prefixed by the status code's name.
//
// Config: `stores` — a list of store ids (UUIDs) or "*".
#include <set>

#include "common/uuid.h"
#include "handlers/store/store_handler.h"
#include "handlers/store/store_permissions.h"
#include "theater/content_store.h"

namespace theater::handlers {
namespace {

using abi::Value;

// record content-ref { hash: string }
Value ContentRef(std::string hash) {
  return Value::Record({Value::String(std::move(hash))});
}
const std::string& HashOf(const Value& content_ref) {
  return content_ref.items()[0].as_string();
}

std::vector<Value> OkUnit() {
  return {Value::Ok()};
}

class StoreHandler final : public Handler {
 public:
  StoreHandler() = default;
  StoreHandler(std::set<std::string> listed, bool any)
      : listed_(std::move(listed)), any_listed_(any) {}

  std::string_view name() const override { return "store"; }
  std::optional<std::string> imports() const override { return "theater:simple/store"; }
  std::optional<std::string> exports() const override { return std::nullopt; }
  const PermissionRules* permission_rules() const override { return &StorePermissionRules(); }

  Result<std::unique_ptr<Handler>> CreateInstance(const HandlerConfig& config) const override {
    std::set<std::string> listed;
    bool any = false;
    for (const auto& [key, value] : config.config.items()) {
      if (key != "stores") return InvalidArgument("unknown key '" + key + "'");
      if (!value.is_array()) return InvalidArgument("stores: must be a list of store ids");
      for (size_t i = 0; i < value.size(); ++i) {
        const nlohmann::json& item = value[i];
        std::string where = "stores[" + std::to_string(i) + "]";
        if (!item.is_string()) return InvalidArgument(where + ": must be a string");
        std::string id = item.get<std::string>();
        if (id == "*") {
          any = true;
          continue;
        }
        Status valid = store::ValidateStoreId(id);
        if (!valid.ok()) return valid.WithContext(where);
        listed.insert(std::move(id));
      }
    }
    return std::unique_ptr<Handler>(new StoreHandler(std::move(listed), any));
  }

  Status SetupHostFunctions(ActorContext&, HostFunctions& functions) override {
    auto add = [&](std::string_view function, auto method) {
      return functions.AddMethod("store", function, this, method);
    };
    THEATER_RETURN_IF_ERROR(add("new", &StoreHandler::New));
    THEATER_RETURN_IF_ERROR(add("store", &StoreHandler::Store));
    THEATER_RETURN_IF_ERROR(add("get", &StoreHandler::Get));
    THEATER_RETURN_IF_ERROR(add("exists", &StoreHandler::Exists));
    THEATER_RETURN_IF_ERROR(add("label", &StoreHandler::Label));
    THEATER_RETURN_IF_ERROR(add("get-by-label", &StoreHandler::GetByLabel));
    THEATER_RETURN_IF_ERROR(add("remove-label", &StoreHandler::RemoveLabel));
    THEATER_RETURN_IF_ERROR(add("remove-from-label", &StoreHandler::RemoveFromLabel));
    THEATER_RETURN_IF_ERROR(add("store-at-label", &StoreHandler::StoreAtLabel));
    THEATER_RETURN_IF_ERROR(add("replace-content-at-label", &StoreHandler::ReplaceContentAtLabel));
    THEATER_RETURN_IF_ERROR(add("replace-at-label", &StoreHandler::ReplaceAtLabel));
    THEATER_RETURN_IF_ERROR(add("list-labels", &StoreHandler::ListLabels));
    THEATER_RETURN_IF_ERROR(add("list-all-content", &StoreHandler::ListAllContent));
    return add("calculate-total-size", &StoreHandler::TotalSize);
  }

 private:
  // The content store, after checking that this actor may use `store_id`.
  Result<store::ContentStore*> Open(ActorContext& actor, const std::string& store_id) {
    THEATER_RETURN_IF_ERROR(store::ValidateStoreId(store_id));
    THEATER_RETURN_IF_ERROR(CheckStoreAccess(actor.permissions(), store_id));
    THEATER_ASSIGN_OR_RETURN(store::ContentStore * content, actor.services().content_store());
    if (any_listed_ || listed_.count(store_id) || granted_.count(store_id)) return content;
    // Not listed: only the actor that created the store may use it.
    THEATER_ASSIGN_OR_RETURN(std::optional<std::string> owner, content->StoreOwner(store_id));
    if (owner != actor.id()) {
      return PermissionDenied("store " + store_id +
                              " was not created by this actor and its manifest does not list it "
                              "in the store handler's `stores`");
    }
    granted_.insert(store_id);
    return content;
  }

  HostResults New(ActorContext& actor, HostArgs) {
    if (Status s = CheckStoreCreate(actor.permissions()); !s.ok()) return ErrValue(s);
    Result<store::ContentStore*> content = actor.services().content_store();
    if (!content.ok()) return ErrValue(content.status());
    Result<std::string> id = (*content)->CreateStore(actor.id());
    if (!id.ok()) return ErrValue(id.status());
    granted_.insert(*id);
    return OkValue(Value::String(*id));
  }

  // Every function but `new`: args[0] is the store id. Opens it (with the access checks) and
  // runs `body` on it; a failure of either is the function's err.
  template <typename Body>
  HostResults OnStore(ActorContext& actor, HostArgs args, Body body) {
    const std::string& id = args[0].as_string();
    Result<store::ContentStore*> content = Open(actor, id);
    if (!content.ok()) return ErrValue(content.status());
    return body(**content, id);
  }
  // `ok(convert(value))` for a successful result, its err otherwise.
  template <typename T, typename Convert>
  static HostResults OkOr(Result<T> result, Convert convert) {
    if (!result.ok()) return ErrValue(result.status());
    return OkValue(convert(std::move(result).value()));
  }
  static HostResults OkOr(const Status& status) {
    return status.ok() ? OkUnit() : ErrValue(status);
  }

  HostResults Store(ActorContext& actor, HostArgs args) {
    return OnStore(actor, args, [&](store::ContentStore& c, const std::string& id) {
      return OkOr(c.Put(id, args[1].as_bytes()), ContentRef);
    });
  }
  HostResults Get(ActorContext& actor, HostArgs args) {
    return OnStore(actor, args, [&](store::ContentStore& c, const std::string& id) {
      return OkOr(c.Get(id, HashOf(args[1])), Value::Bytes);
    });
  }
  HostResults Exists(ActorContext& actor, HostArgs args) {
    return OnStore(actor, args, [&](store::ContentStore& c, const std::string& id) {
      return OkOr(c.Exists(id, HashOf(args[1])), Value::Bool);
    });
  }
  HostResults Label(ActorContext& actor, HostArgs args) {
    return OnStore(actor, args, [&](store::ContentStore& c, const std::string& id) {
      return OkOr(c.SetLabel(id, args[1].as_string(), HashOf(args[2])));
    });
  }
  HostResults GetByLabel(ActorContext& actor, HostArgs args) {
    return OnStore(actor, args, [&](store::ContentStore& c, const std::string& id) {
      return OkOr(c.GetLabel(id, args[1].as_string()), [](std::optional<std::string> hash) {
        return hash ? Value::Some(ContentRef(std::move(*hash))) : Value::None();
      });
    });
  }
  HostResults RemoveLabel(ActorContext& actor, HostArgs args) {
    return OnStore(actor, args, [&](store::ContentStore& c, const std::string& id) {
      return OkOr(c.RemoveLabel(id, args[1].as_string()));
    });
  }
  HostResults RemoveFromLabel(ActorContext& actor, HostArgs args) {
    return OnStore(actor, args, [&](store::ContentStore& c, const std::string& id) {
      // Whether it removed anything is not part of the WIT result.
      return OkOr(c.RemoveLabelIf(id, args[1].as_string(), HashOf(args[2])).status());
    });
  }
  HostResults StoreAtLabel(ActorContext& actor, HostArgs args) {
    return OnStore(actor, args, [&](store::ContentStore& c, const std::string& id) {
      return OkOr(c.PutAtLabel(id, args[1].as_string(), args[2].as_bytes()), ContentRef);
    });
  }
  HostResults ReplaceContentAtLabel(ActorContext& actor, HostArgs args) {
    return OnStore(actor, args, [&](store::ContentStore& c, const std::string& id) {
      return OkOr(c.ReplaceContentAtLabel(id, args[1].as_string(), args[2].as_bytes()), ContentRef);
    });
  }
  HostResults ReplaceAtLabel(ActorContext& actor, HostArgs args) {
    return OnStore(actor, args, [&](store::ContentStore& c, const std::string& id) {
      return OkOr(c.ReplaceAtLabel(id, args[1].as_string(), HashOf(args[2])));
    });
  }
  HostResults ListLabels(ActorContext& actor, HostArgs args) {
    return OnStore(actor, args, [&](store::ContentStore& c, const std::string& id) {
      return OkOr(c.ListLabels(id), [](std::vector<std::string> labels) {
        std::vector<Value> list;
        list.reserve(labels.size());
        for (std::string& label : labels) list.push_back(Value::String(std::move(label)));
        return Value::List(std::move(list));
      });
    });
  }
  HostResults ListAllContent(ActorContext& actor, HostArgs args) {
    return OnStore(actor, args, [&](store::ContentStore& c, const std::string& id) {
      return OkOr(c.ListContent(id), [](std::vector<std::string> hashes) {
        std::vector<Value> list;
        list.reserve(hashes.size());
        for (std::string& hash : hashes) list.push_back(ContentRef(std::move(hash)));
        return Value::List(std::move(list));
      });
    });
  }
  HostResults TotalSize(ActorContext& actor, HostArgs args) {
    return OnStore(actor, args, [&](store::ContentStore& c, const std::string& id) {
      return OkOr(c.TotalSize(id), Value::U64);
    });
  }

  const std::set<std::string> listed_{};
  const bool any_listed_ = false;
  // Stores this actor created (checked once, then remembered). No lock: an instance's host
  // functions run one at a time, on its actor's fiber (theater/handler.h).
  std::set<std::string> granted_;
};

}  // namespace

std::unique_ptr<Handler> NewStoreHandler() {
  return std::make_unique<StoreHandler>();
}

}  // namespace theater::handlers
