// Theater: a WebAssembly actor runtime.
//
// The component-model conformance test. tools/jco/conformance.mjs runs the conformance component
// (conformance_actor.c, made into a component by the build) through `jco transpile` on Node.js
// with a JavaScript host, for seeded random calls, and writes the trace: every export call with
// its result and every import call the guest made. This test replays the same calls on Theater's
// linker with a C++ host of the same imports (component/value_host.h) and requires the same
// trace, value by value.
//
// The seed is random per run and printed; THEATER_CONFORMANCE_SEED=<n> repeats a run, and
// THEATER_CONFORMANCE_CASES=<k> changes how many calls it makes (default 400).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/utf8.h"
#include "common/bytes.h"
#include "common/test_dir.h"
#include "component/linker.h"
#include "component/value_host.h"
#include "engine/engine_test_util.h"

namespace theater::component {
namespace {

using abi::Type;
using abi::TypeKind;
using abi::Value;
using Json = nlohmann::json;

constexpr std::string_view kGuest = "test:conformance/guest";
constexpr std::string_view kHost = "test:conformance/host";
constexpr std::string_view kTypes = "test:conformance/types";

// ----- Values as the trace writes them (tools/jco/conformance.mjs, "Trace")

std::string Hex(uint64_t bits, int digits) {
  char buffer[20];
  std::snprintf(buffer, sizeof buffer, "%0*llx", digits, static_cast<unsigned long long>(bits));
  return buffer;
}

std::string Utf8(char32_t c) {
  std::string out;
  theater::AppendUtf8(c, &out);
  return out;
}

char32_t FirstCodePoint(const std::string& s) {
  char32_t c = 0;
  return !s.empty() && theater::Utf8SequenceAt(s, 0, &c) != 0 ? c : 0;
}

// The host side's resource objects: one id sequence over blobs and counters, in the order the
// host first sees each. A blob's representation is its id; a counter's is the guest's.
struct Resources {
  uint32_t next_id = 1;
  std::map<uint32_t, std::vector<uint8_t>> blobs;  // id -> bytes
  std::map<uint32_t, uint32_t> counters;           // id -> the guest's representation
  const ResourceType* counter_type = nullptr;

  uint32_t NewBlob(std::vector<uint8_t> bytes) {
    uint32_t id = next_id++;
    blobs[id] = std::move(bytes);
    return id;
  }
};

// Encodes a value whose handles are representations (as ValueHost gives them).
Json Encode(const Type& type, const Value& v, Resources& res) {
  switch (type.kind) {
    case TypeKind::kBool:
      return v.as_bool();
    case TypeKind::kS8:
    case TypeKind::kS16:
    case TypeKind::kS32:
      return v.as_s64();
    case TypeKind::kU8:
    case TypeKind::kU16:
    case TypeKind::kU32:
      return v.as_u64();
    case TypeKind::kS64:
      return std::to_string(v.as_s64());
    case TypeKind::kU64:
      return std::to_string(v.as_u64());
    case TypeKind::kF32: {
      float f = v.as_f32();
      uint32_t bits = 0x7fc00000;
      if (!std::isnan(f)) std::memcpy(&bits, &f, 4);
      return Hex(bits, 8);
    }
    case TypeKind::kF64: {
      double d = v.as_f64();
      uint64_t bits = 0x7ff8000000000000ull;
      if (!std::isnan(d)) std::memcpy(&bits, &d, 8);
      return Hex(bits, 16);
    }
    case TypeKind::kChar:
      return Utf8(v.as_char());
    case TypeKind::kString:
      return v.as_string();
    case TypeKind::kList: {
      Json out = Json::array();
      if (v.is_bytes()) {
        for (uint8_t b : v.as_bytes()) out.push_back(b);
      } else {
        for (const Value& item : v.items()) out.push_back(Encode(*type.element, item, res));
      }
      return out;
    }
    case TypeKind::kRecord: {
      Json out = Json::object();
      for (size_t i = 0; i < type.fields.size(); ++i) {
        out[type.fields[i].name] = Encode(*type.fields[i].type, v.items()[i], res);
      }
      return out;
    }
    case TypeKind::kTuple: {
      Json out = Json::array();
      for (size_t i = 0; i < type.elements.size(); ++i) {
        out.push_back(Encode(*type.elements[i], v.items()[i], res));
      }
      return out;
    }
    case TypeKind::kVariant: {
      const abi::Case& c = type.cases.at(v.case_index());
      Json out = {{"case", c.name}};
      if (c.type) out["value"] = Encode(*c.type, *v.payload(), res);
      return out;
    }
    case TypeKind::kEnum:
      return type.labels.at(v.case_index());
    case TypeKind::kFlags: {
      Json out = Json::array();
      for (size_t i = 0; i < type.labels.size(); ++i) {
        if (v.flags()[i]) out.push_back(type.labels[i]);
      }
      return out;
    }
    case TypeKind::kOption:
      if (!v.is_some()) return nullptr;
      return {{"some", Encode(*type.element, *v.payload(), res)}};
    case TypeKind::kResult: {
      const abi::TypePtr& side = v.is_ok() ? type.ok : type.err;
      Json payload = side ? Encode(*side, *v.payload(), res) : Json(nullptr);
      return {{v.is_ok() ? "ok" : "err", payload}};
    }
    case TypeKind::kOwn:
    case TypeKind::kBorrow: {
      if (type.resource_name == "blob") return {{"resource", "blob"}, {"id", v.handle()}};
      // A counter: one the host already holds (borrowed), or a new one (an owned result).
      for (const auto& [id, rep] : res.counters) {
        if (rep == v.handle() && type.kind == TypeKind::kBorrow) {
          return {{"resource", "counter"}, {"id", id}};
        }
      }
      uint32_t id = res.next_id++;
      res.counters[id] = v.handle();
      return {{"resource", "counter"}, {"id", id}};
    }
  }
  return nullptr;
}

Result<Value> Decode(const Type& type, const Json& j, Resources& res);

Result<std::vector<Value>> DecodeAll(const std::vector<abi::TypePtr>& types, const Json& j,
                                     Resources& res) {
  if (!j.is_array() || j.size() != types.size()) return InvalidArgument("arity: " + j.dump());
  std::vector<Value> out;
  for (size_t i = 0; i < types.size(); ++i) {
    THEATER_ASSIGN_OR_RETURN(Value v, Decode(*types[i], j[i], res));
    out.push_back(std::move(v));
  }
  return out;
}

// Decodes a value into one whose handles are representations.
Result<Value> Decode(const Type& type, const Json& j, Resources& res) {
  try {
    switch (type.kind) {
      case TypeKind::kBool:
        return Value::Bool(j.get<bool>());
      case TypeKind::kS8:
        return Value::S8(static_cast<int8_t>(j.get<int64_t>()));
      case TypeKind::kU8:
        return Value::U8(static_cast<uint8_t>(j.get<uint64_t>()));
      case TypeKind::kS16:
        return Value::S16(static_cast<int16_t>(j.get<int64_t>()));
      case TypeKind::kU16:
        return Value::U16(static_cast<uint16_t>(j.get<uint64_t>()));
      case TypeKind::kS32:
        return Value::S32(static_cast<int32_t>(j.get<int64_t>()));
      case TypeKind::kU32:
        return Value::U32(static_cast<uint32_t>(j.get<uint64_t>()));
      case TypeKind::kS64:
        return Value::S64(std::stoll(j.get<std::string>()));
      case TypeKind::kU64:
        return Value::U64(std::stoull(j.get<std::string>()));
      case TypeKind::kF32: {
        auto bits = static_cast<uint32_t>(std::stoul(j.get<std::string>(), nullptr, 16));
        float f;
        std::memcpy(&f, &bits, 4);
        return Value::F32(f);
      }
      case TypeKind::kF64: {
        uint64_t bits = std::stoull(j.get<std::string>(), nullptr, 16);
        double d;
        std::memcpy(&d, &bits, 8);
        return Value::F64(d);
      }
      case TypeKind::kChar:
        return Value::Char(FirstCodePoint(j.get<std::string>()));
      case TypeKind::kString:
        return Value::String(j.get<std::string>());
      case TypeKind::kList: {
        if (type.element->kind == TypeKind::kU8) {
          std::vector<uint8_t> bytes;
          for (const Json& b : j) bytes.push_back(b.get<uint8_t>());
          return Value::Bytes(std::move(bytes));
        }
        std::vector<Value> items;
        for (const Json& item : j) {
          THEATER_ASSIGN_OR_RETURN(Value v, Decode(*type.element, item, res));
          items.push_back(std::move(v));
        }
        return Value::List(std::move(items));
      }
      case TypeKind::kRecord: {
        std::vector<Value> fields;
        for (const abi::Field& f : type.fields) {
          THEATER_ASSIGN_OR_RETURN(Value v, Decode(*f.type, j.at(f.name), res));
          fields.push_back(std::move(v));
        }
        return Value::Record(std::move(fields));
      }
      case TypeKind::kTuple: {
        THEATER_ASSIGN_OR_RETURN(std::vector<Value> elements, DecodeAll(type.elements, j, res));
        return Value::Tuple(std::move(elements));
      }
      case TypeKind::kVariant: {
        const std::string name = j.at("case").get<std::string>();
        for (uint32_t i = 0; i < type.cases.size(); ++i) {
          if (type.cases[i].name != name) continue;
          if (!type.cases[i].type) return Value::Variant(i);
          THEATER_ASSIGN_OR_RETURN(Value payload, Decode(*type.cases[i].type, j.at("value"), res));
          return Value::Variant(i, std::move(payload));
        }
        return InvalidArgument("no case " + name);
      }
      case TypeKind::kEnum: {
        for (uint32_t i = 0; i < type.labels.size(); ++i) {
          if (type.labels[i] == j.get<std::string>()) return Value::Enum(i);
        }
        return InvalidArgument("no label " + j.dump());
      }
      case TypeKind::kFlags: {
        std::vector<bool> set(type.labels.size());
        for (const Json& name : j) {
          for (size_t i = 0; i < type.labels.size(); ++i) {
            if (type.labels[i] == name.get<std::string>()) set[i] = true;
          }
        }
        return Value::Flags(std::move(set));
      }
      case TypeKind::kOption: {
        if (j.is_null()) return Value::None();
        THEATER_ASSIGN_OR_RETURN(Value v, Decode(*type.element, j.at("some"), res));
        return Value::Some(std::move(v));
      }
      case TypeKind::kResult: {
        const bool ok = j.contains("ok");
        const abi::TypePtr& side = ok ? type.ok : type.err;
        std::optional<Value> payload;
        if (side) {
          THEATER_ASSIGN_OR_RETURN(payload, Decode(*side, j.at(ok ? "ok" : "err"), res));
        }
        return ok ? Value::Ok(std::move(payload)) : Value::Err(std::move(payload));
      }
      case TypeKind::kOwn:
      case TypeKind::kBorrow: {
        const auto id = j.at("id").get<uint32_t>();
        uint32_t rep = id;  // a blob's representation is its id
        if (j.at("resource") == "counter") {
          auto it = res.counters.find(id);
          if (it == res.counters.end()) return InvalidArgument("unknown counter " + j.dump());
          rep = it->second;
          if (type.kind == TypeKind::kOwn) res.counters.erase(it);  // it leaves the host
        }
        return type.kind == TypeKind::kOwn ? Value::Own(rep) : Value::Borrow(rep);
      }
    }
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("malformed value ") + j.dump() + ": " + e.what());
  }
  return InvalidArgument("unknown type");
}

// ----- The C++ host of test:conformance/host and the blob resource

class ConformanceHost {
 public:
  explicit ConformanceHost(Resources& res) : res_(res) {}

  // Where import calls are recorded while an export runs (nullptr otherwise).
  Json* log = nullptr;

  void Install(ValueHost& host) {
    // Every function of test:conformance/host returns what it was given, except the few below.
    static constexpr const char* kEchoes[] = {
        "echo-bool",        "echo-s8",    "echo-u8",         "echo-s16",    "echo-u16",
        "echo-s32",         "echo-u32",   "echo-s64",        "echo-u64",    "echo-f32",
        "echo-f64",         "echo-char",  "echo-string",     "echo-bytes",  "echo-strings",
        "echo-points",      "echo-tuple", "echo-primitives", "echo-point",  "echo-shape",
        "echo-color",       "echo-perms", "echo-wide",       "echo-option", "echo-result",
        "echo-unit-result", "echo-nested"};
    for (const char* name : kEchoes) {
      Serve(host, kHost, name, [](std::vector<Value>& params) { return params; });
    }
    Serve(host, kHost, "spill",
          [](std::vector<Value>& params) { return std::vector<Value>{Value::Record(params)}; });
    Serve(host, kHost, "echo-pair",
          [](std::vector<Value>& params) { return std::vector<Value>{Value::Tuple(params)}; });
    Serve(host, kHost, "blob-bytes", [this](std::vector<Value>& params) {
      return std::vector<Value>{Value::Bytes(res_.blobs.at(params[0].handle()))};
    });
    Serve(host, kHost, "take-blob", [this](std::vector<Value>& params) {
      // The host owns the blob again and drops it: nothing the guest sees.
      auto node = res_.blobs.extract(params[0].handle());
      return std::vector<Value>{Value::U64(node.mapped().size())};
    });
    Serve(host, kTypes, "[constructor]blob", [this](std::vector<Value>& params) {
      return std::vector<Value>{Value::Own(res_.NewBlob(params[0].as_bytes()))};
    });
    Serve(host, kTypes, "[method]blob.read", [this](std::vector<Value>& params) {
      return std::vector<Value>{Value::Bytes(res_.blobs.at(params[0].handle()))};
    });
    Serve(host, kTypes, "[method]blob.append", [this](std::vector<Value>& params) {
      std::vector<uint8_t>& bytes = res_.blobs.at(params[0].handle());
      const std::vector<uint8_t>& more = params[1].as_bytes();
      bytes.insert(bytes.end(), more.begin(), more.end());
      return std::vector<Value>{};
    });
    Serve(host, kTypes, "[method]blob.size", [this](std::vector<Value>& params) {
      return std::vector<Value>{Value::U64(res_.blobs.at(params[0].handle()).size())};
    });
    host.OnDrop([this](const ResourceType&, uint32_t rep) {
      if (log != nullptr) {
        log->push_back({{"call", std::string(kTypes) + "#[resource-drop]blob"},
                        {"args", Json::array({{{"resource", "blob"}, {"id", rep}}})},
                        {"result", nullptr}});
      }
      res_.blobs.erase(rep);
    });
  }

 private:
  using Impl = std::function<std::vector<Value>(std::vector<Value>&)>;

  // Records the call with its arguments (encoded before the function runs) and its result.
  void Serve(ValueHost& host, std::string_view interface_name, std::string function, Impl impl) {
    const std::string call = std::string(interface_name) + "#" + function;
    host.Define(std::string(interface_name), function,
                [this, impl, call](const LoweredImport& import,
                                   std::vector<Value>& params) -> Result<std::vector<Value>> {
                  if (log == nullptr) return FailedPrecondition(call + " outside an export call");
                  Json entry = {{"call", call}, {"args", Json::array()}};
                  for (size_t i = 0; i < params.size(); ++i) {
                    entry["args"].push_back(Encode(*import.type->params[i].type, params[i], res_));
                  }
                  std::vector<Value> results;
                  try {
                    results = impl(params);
                  } catch (const std::exception& e) {
                    return InvalidArgument(call + ": " + e.what());
                  }
                  std::vector<abi::TypePtr> types = import.type->ResultTypes();
                  entry["result"] =
                      results.empty() ? Json(nullptr) : Encode(*types[0], results[0], res_);
                  log->push_back(std::move(entry));
                  return results;
                });
  }

  Resources& res_;
};

// ----- The test

std::string RunJco(uint64_t seed, int cases, const std::filesystem::path& out) {
  const std::filesystem::path errors = out.string() + ".stderr";
  std::ostringstream command;
  command << THEATER_NODE << " " << THEATER_SOURCE_DIR << "/tools/jco/conformance.mjs"
          << " --component " << THEATER_CONFORMANCE_COMPONENT << " --seed " << seed << " --cases "
          << cases << " --out " << out << " 2> " << errors;
  int rc = std::system(command.str().c_str());
  if (rc == 0) return "";
  std::ifstream in(errors);
  std::stringstream text;
  text << in.rdbuf();
  return "node exited with status " + std::to_string(rc) + ": " + text.str();
}

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::stoull(value) : fallback;
}

TEST(ConformanceTest, TheRuntimeAndJcoProduceTheSameTrace) {
  const uint64_t seed =
      EnvOr("THEATER_CONFORMANCE_SEED",
            static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) %
                1000000007u);
  const int case_count = static_cast<int>(EnvOr("THEATER_CONFORMANCE_CASES", 400));
  std::cout << "conformance seed " << seed << " (THEATER_CONFORMANCE_SEED=" << seed
            << " repeats it), " << case_count << " cases\n";
  RecordProperty("seed", std::to_string(seed));

  testing_util::TestDir dir("conformance");
  const std::filesystem::path trace_path = dir.path() / "trace.json";
  std::string jco_error = RunJco(seed, case_count, trace_path);
  ASSERT_TRUE(jco_error.empty()) << jco_error;
  std::ifstream trace_file(trace_path);
  const Json trace = Json::parse(trace_file);
  ASSERT_EQ(trace.at("seed").get<uint64_t>(), seed);
  ASSERT_EQ(trace.at("cases").size(), static_cast<size_t>(case_count));

  Result<std::vector<uint8_t>> bytes = ReadFileBytes(THEATER_CONFORMANCE_COMPONENT, "component");
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  Result<std::unique_ptr<const Component>> component = DecodeComponent(*bytes);
  ASSERT_TRUE(component.ok()) << component.status().ToString();
  Result<CoreModuleLoader> loader =
      PrepareCoreModules(**component, engine::testing::SharedEngine(), "conformance");
  ASSERT_TRUE(loader.ok()) << loader.status().ToString();
  Resources res;
  ConformanceHost conformance(res);
  ValueHost host;
  conformance.Install(host);
  Result<std::unique_ptr<ComponentInstance>> instance =
      Instantiate(**component, *loader, host, engine::InstanceOptions{});
  ASSERT_TRUE(instance.ok()) << instance.status().ToString();
  res.counter_type = (*instance)->FindResource(kGuest, "counter");
  ASSERT_NE(res.counter_type, nullptr);

  size_t index = 0;
  for (const Json& expected : trace.at("cases")) {
    SCOPED_TRACE("case " + std::to_string(index) + " (seed " + std::to_string(seed) + ")");
    const std::string call = expected.at("call").get<std::string>();
    Json actual = {{"call", call}, {"args", expected.at("args")}, {"imports", Json::array()}};
    if (call == std::string(kTypes) + "#[constructor]blob") {
      // The harness makes a blob itself.
      std::vector<uint8_t> init;
      for (const Json& b : expected.at("args").at(0)) init.push_back(b.get<uint8_t>());
      actual["result"] = {{"resource", "blob"}, {"id", res.NewBlob(std::move(init))}};
    } else if (call == std::string(kGuest) + "#[resource-drop]counter") {
      const auto id = expected.at("args").at(0).at("id").get<uint32_t>();
      ASSERT_EQ(res.counters.count(id), 1u) << "counter " << id;
      Status dropped = DropResource(*res.counter_type, res.counters.at(id));
      ASSERT_TRUE(dropped.ok()) << dropped.ToString();
      res.counters.erase(id);
      actual["result"] = nullptr;
    } else {
      const size_t hash = call.find('#');
      ASSERT_NE(hash, std::string::npos) << call;
      const LiftedExport* e = (*instance)->FindExport(call.substr(0, hash), call.substr(hash + 1));
      ASSERT_NE(e, nullptr) << "no export " << call;
      std::vector<abi::TypePtr> param_types;
      for (const abi::Field& p : e->type->params) param_types.push_back(p.type);
      Result<std::vector<Value>> args = DecodeAll(param_types, expected.at("args"), res);
      ASSERT_TRUE(args.ok()) << args.status().ToString();
      conformance.log = &actual["imports"];
      Result<std::vector<Value>> results = CallExport(**instance, *e, std::move(*args));
      conformance.log = nullptr;
      ASSERT_TRUE(results.ok()) << call << ": " << results.status().ToString();
      std::vector<abi::TypePtr> result_types = e->type->ResultTypes();
      actual["result"] =
          results->empty() ? Json(nullptr) : Encode(*result_types[0], (*results)[0], res);
    }
    if (!expected.contains("imports")) actual.erase("imports");
    ASSERT_EQ(actual, expected) << "expected (jco): " << expected.dump()
                                << "\nactual (Theater): " << actual.dump();
    ++index;
  }
  EXPECT_EQ(index, static_cast<size_t>(case_count));
}

}  // namespace
}  // namespace theater::component
