// Theater: a WebAssembly actor runtime.
//
// `theater store ls|labels|get`: looking into the running server's content stores
// (docs/store.md). The server is asked (ListStores, ListStoreContent, GetStoreContent;
// docs/protocol.md) rather than the database opened here: the server holds the store, content
// an actor has just stored may be known only to it (its index row still pending), and opening
// the store from a second process is not read-only (it recovers packs). So these commands work
// like every other client command, with --address and --token, and never touch the files.
#include <unistd.h>

#include <fstream>
#include <functional>
#include <iostream>
#include <map>

#include "cli/context.h"
#include "common/bytes.h"
#include "cli/event_pages.h"

namespace theater::cli {
namespace {

// Content is read in pages this large (the server caps a page at its reply limit and keeps the
// piece between pages, so a page costs no new read of the store).
constexpr size_t kContentPageBytes = 8 * kPageBytes;

// A full store id (36 characters), or the one store whose id starts with `given`.
Result<std::string> ResolveStoreId(server::ManagementClient& client, const std::string& given) {
  if (given.size() == 36) return given;
  if (given.empty()) return InvalidArgument("a store id is required");
  THEATER_ASSIGN_OR_RETURN(Variant reply, CallExpect(client, MakeVariant("ListStores"), "Stores"));
  std::vector<std::string> found;
  for (const json& store : reply.fields.value("stores", json::array())) {
    const std::string id = JsonString(store, "id");
    if (id.rfind(given, 0) == 0) found.push_back(id);
  }
  if (found.size() == 1) return found.front();
  if (found.empty()) {
    return NotFound("no store matches '" + given + "' (`theater store ls` lists the stores)");
  }
  return InvalidArgument("'" + given + "' matches " + std::to_string(found.size()) +
                         " stores; give more of the id");
}

// A store's listing: its content and its labels.
Result<Variant> Listing(server::ManagementClient& client, const std::string& store_id) {
  return CallExpect(client, MakeVariant("ListStoreContent", {{"store_id", store_id}}),
                    "StoreListing");
}

// A full hash (64 characters), or the one hash of the store that starts with `given`.
Result<std::string> ResolveHash(server::ManagementClient& client, const std::string& store_id,
                                const std::string& given) {
  if (given.size() == 64) return given;
  THEATER_ASSIGN_OR_RETURN(Variant listing, Listing(client, store_id));
  std::vector<std::string> found;
  for (const json& item : listing.fields.value("content", json::array())) {
    const std::string hash = JsonString(item, "hash");
    if (!given.empty() && hash.rfind(given, 0) == 0) found.push_back(hash);
  }
  if (found.size() == 1) return found.front();
  if (found.empty()) return NotFound("store " + store_id + " holds no content '" + given + "'");
  return InvalidArgument("'" + given + "' matches " + std::to_string(found.size()) +
                         " pieces of content; give more of the hash");
}

// --- ls ------------------------------------------------------------------------------------

int ListStores(const Output& out, server::ManagementClient& client) {
  THEATER_ASSIGN_OR_RETURN_EXIT(Variant reply,
                                CallExpect(client, MakeVariant("ListStores"), "Stores"), out);
  const json stores = reply.fields.value("stores", json::array());
  if (out.json()) {
    out.PrintJson(stores);
    return kExitOk;
  }
  if (stores.empty()) {
    std::cout << "no stores\n";
    return kExitOk;
  }
  Table table({"ID", "CONTENT", "SIZE", "LABELS", "CREATED", "OWNER"});
  for (const json& store : stores) {
    const std::string owner = JsonString(store, "owner");
    table.AddRow({JsonString(store, "id"), std::to_string(JsonNumber(store, "content")),
                  FormatBytes(JsonNumber(store, "bytes")),
                  std::to_string(JsonNumber(store, "labels")),
                  FormatTime(JsonNumber(store, "created_ms")), owner.empty() ? "-" : owner});
  }
  table.Print(out, std::cout);
  return kExitOk;
}

int ListContent(const Output& out, server::ManagementClient& client, const std::string& store_id) {
  THEATER_ASSIGN_OR_RETURN_EXIT(Variant listing, Listing(client, store_id), out);
  // Labels by the hash they name, to show beside the content.
  std::map<std::string, std::vector<std::string>> labels_of;
  for (const json& label : listing.fields.value("labels", json::array())) {
    labels_of[JsonString(label, "hash")].push_back(JsonString(label, "label"));
  }
  json content = json::array();
  for (const json& item : listing.fields.value("content", json::array())) {
    const std::string hash = JsonString(item, "hash");
    content.push_back(
        {{"hash", hash}, {"size", JsonNumber(item, "size")}, {"labels", labels_of[hash]}});
  }
  if (out.json()) {
    out.PrintJson({{"store_id", store_id},
                   {"content", content},
                   {"total_bytes", JsonNumber(listing.fields, "total_bytes")}});
    return kExitOk;
  }
  if (content.empty()) {
    std::cout << "store " << store_id << " holds no content\n";
    return kExitOk;
  }
  Table table({"HASH", "SIZE", "LABELS"});
  for (const json& item : content) {
    std::string labels;
    for (const json& label : item["labels"]) {
      labels += (labels.empty() ? "" : ", ") + label.get<std::string>();
    }
    table.AddRow({item["hash"].get<std::string>(), FormatBytes(item["size"].get<uint64_t>()),
                  labels.empty() ? "-" : labels});
  }
  table.Print(out, std::cout);
  return kExitOk;
}

int Ls(CommandContext& ctx, const std::string& given) {
  const Output& out = ctx.out();
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  if (given.empty()) return ListStores(out, *client);
  THEATER_ASSIGN_OR_RETURN_EXIT(std::string store_id, ResolveStoreId(*client, given), out);
  return ListContent(out, *client, store_id);
}

// --- labels ----------------------------------------------------------------------------------

int Labels(CommandContext& ctx, const std::string& given) {
  const Output& out = ctx.out();
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  THEATER_ASSIGN_OR_RETURN_EXIT(std::string store_id, ResolveStoreId(*client, given), out);
  THEATER_ASSIGN_OR_RETURN_EXIT(Variant listing, Listing(*client, store_id), out);
  const json labels = listing.fields.value("labels", json::array());
  if (out.json()) {
    out.PrintJson(labels);
    return kExitOk;
  }
  if (labels.empty()) {
    std::cout << "store " << store_id << " has no labels\n";
    return kExitOk;
  }
  Table table({"LABEL", "HASH"});
  for (const json& label : labels) {
    table.AddRow({JsonString(label, "label"), JsonString(label, "hash")});
  }
  table.Print(out, std::cout);
  return kExitOk;
}

// --- get -------------------------------------------------------------------------------------

struct GetArgs {
  std::string store;
  std::string hash;
  std::string label;
  std::string output;
  bool hex = false;
  bool force = false;
};

// What the content is called in messages.
struct Piece {
  std::string store_id;
  std::string hash;  // known once the first page has come
  uint64_t size = 0;
};

// Hands the content's bytes to `sink` page by page. `key` is {"hash": ...} or {"label": ...}.
Result<Piece> ReadContent(server::ManagementClient& client, const std::string& store_id,
                          const json& key,
                          const std::function<bool(std::span<const uint8_t>)>& sink) {
  Piece piece{store_id, "", 0};
  uint64_t offset = 0;
  json current = key;
  for (;;) {
    json fields = current;
    fields["store_id"] = store_id;
    fields["offset"] = offset;
    fields["max_bytes"] = kContentPageBytes;
    fields["byte_encoding"] = "base64";
    THEATER_ASSIGN_OR_RETURN(
        Variant page,
        CallExpect(client, MakeVariant("GetStoreContent", std::move(fields)), "StoreContent"));
    THEATER_ASSIGN_OR_RETURN(std::vector<uint8_t> data, server::BytesField(page.fields, "data"));
    piece.hash = JsonString(page.fields, "hash");
    piece.size = JsonNumber(page.fields, "total_bytes");
    if (JsonNumber(page.fields, "offset") != offset) {
      return InternalError("the server's StoreContent page starts at " +
                           std::to_string(JsonNumber(page.fields, "offset")) + ", not " +
                           std::to_string(offset));
    }
    if (!sink(data)) return IOError("writing the content of " + piece.hash);
    offset += data.size();
    const bool more = page.fields.value("more", false);
    if (!more) break;
    if (data.empty()) {
      return InternalError("the server's StoreContent page is empty but says more follows");
    }
    // The later pages by the hash the first one named: a label moved meanwhile must not
    // splice two pieces.
    current = {{"hash", piece.hash}};
  }
  return piece;
}

int Get(CommandContext& ctx, const GetArgs& args) {
  const Output& out = ctx.out();
  if (args.hash.empty() == args.label.empty()) {
    return UsageError(ctx, "give exactly one of HASH and --label NAME");
  }
  if (args.hex && !args.output.empty())
    return UsageError(ctx, "--hex and --out exclude each other");
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  THEATER_ASSIGN_OR_RETURN_EXIT(std::string store_id, ResolveStoreId(*client, args.store), out);
  json key;
  if (!args.label.empty()) {
    key = {{"label", args.label}};
  } else {
    THEATER_ASSIGN_OR_RETURN_EXIT(std::string hash, ResolveHash(*client, store_id, args.hash), out);
    key = {{"hash", hash}};
  }
  // To a file or a pipe the bytes are written page by page; shown (a terminal, --hex, --json)
  // they are collected first, since whether they are text is a property of the whole.
  const bool to_file = !args.output.empty();
  const bool shown = !to_file && (out.json() || args.hex || isatty(STDOUT_FILENO));
  std::ofstream file;
  if (to_file) {
    file.open(args.output, std::ios::binary | std::ios::trunc);
    if (!file) return out.Error(IOError("cannot open " + args.output + " for writing"));
  }
  std::vector<uint8_t> kept;
  Result<Piece> piece =
      ReadContent(*client, store_id, key, [&](std::span<const uint8_t> bytes) -> bool {
        if (shown) {
          kept.insert(kept.end(), bytes.begin(), bytes.end());
          return true;
        }
        std::ostream& sink = to_file ? static_cast<std::ostream&>(file) : std::cout;
        sink.write(reinterpret_cast<const char*>(bytes.data()),
                   static_cast<std::streamsize>(bytes.size()));
        return static_cast<bool>(sink);
      });
  if (!piece.ok()) return out.Error(piece.status());
  if (to_file) {
    file.close();
    if (!file) return out.Error(IOError("writing " + args.output));
    if (out.json()) {
      out.PrintJson({{"store_id", store_id},
                     {"hash", piece->hash},
                     {"size", piece->size},
                     {"path", args.output}});
    } else {
      std::cerr << "wrote " << piece->size << " bytes (" << piece->hash << ") to " << args.output
                << "\n";
    }
    return kExitOk;
  }
  if (out.json()) {
    out.PrintJson({{"store_id", store_id},
                   {"hash", piece->hash},
                   {"size", piece->size},
                   {"data", BytesForJson(kept)}});
    return kExitOk;
  }
  if (args.hex) {
    std::cout << HexEncode(kept) << "\n";
    return kExitOk;
  }
  if (shown && !args.force && !IsPrintableText(kept)) {
    return out.Error("content " + piece->hash + " is binary (" + std::to_string(piece->size) +
                     " bytes): not written to the terminal; use --out FILE, --hex, or --force");
  }
  std::cout.write(reinterpret_cast<const char*>(kept.data()),
                  static_cast<std::streamsize>(kept.size()));
  // On a terminal the prompt goes on a line of its own (as `message --request` does).
  if (shown && !kept.empty() && kept.back() != '\n') std::cout << "\n";
  std::cout.flush();
  if (!std::cout) return out.Error(IOError("writing stdout"));
  return kExitOk;
}

}  // namespace

void AddStoreCommands(CLI::App& app, CommandSet& commands) {
  CLI::App* store = app.add_subcommand(
      "store", "Look into the server's content stores: list them, their content and labels");
  store->require_subcommand(1);

  auto ls_store = std::make_shared<std::string>();
  CLI::App* ls = store->add_subcommand(
      "ls", "List the stores, or with STORE its content (hash, size, labels)");
  ls->add_option("store", *ls_store, "Store id (or a unique prefix of one)");
  commands.Add(ls, [ls_store](CommandContext& ctx) { return Ls(ctx, *ls_store); });

  auto labels_store = std::make_shared<std::string>();
  CLI::App* labels =
      store->add_subcommand("labels", "List a store's labels and the hashes they name");
  labels->add_option("store", *labels_store, "Store id (or a unique prefix of one)")->required();
  commands.Add(labels, [labels_store](CommandContext& ctx) { return Labels(ctx, *labels_store); });

  auto get = std::make_shared<GetArgs>();
  CLI::App* get_cmd = store->add_subcommand(
      "get", "Write a piece of content's bytes to stdout (or --out FILE), by hash or --label");
  get_cmd->add_option("store", get->store, "Store id (or a unique prefix of one)")->required();
  get_cmd->add_option("hash", get->hash, "Content hash (or a unique prefix of one)");
  get_cmd->add_option("-l,--label", get->label, "The content the label names");
  get_cmd->add_option("-o,--out", get->output, "Write the bytes to this file");
  get_cmd->add_flag("--hex", get->hex, "Print the bytes as hex digits");
  get_cmd->add_flag("-f,--force", get->force, "Write binary content to a terminal anyway");
  commands.Add(get_cmd, [get](CommandContext& ctx) { return Get(ctx, *get); });
}

}  // namespace theater::cli
