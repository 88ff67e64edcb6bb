// Theater: a WebAssembly actor runtime.
//
// The kitchen-sink modules (tests/bindgen/kitchen_sink_impl.{c,cc,rs} built with the generated
// C, C++ and Rust bindings) carry exactly the core imports and exports the component model's naming
// conventions ask for, each with the core signature the host's canonical ABI
// (abi::LowerSignature) computes for it. The expectations are derived here from the WIT, not from
// the generator, so a naming or flattening mistake in either shows up as a mismatch.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "common/leb128.h"
#include "theater/abi/canonical.h"
#include "theater/abi/wit.h"

namespace theater {
namespace {

// "params->results" in the engine's letters (i, I, f, F).
using Signatures = std::map<std::string, std::string>;

// The function imports ("module.name") and exports of a core wasm module.
struct ModuleSignatures {
  Signatures imports;
  Signatures exports;
};

class Reader {
 public:
  explicit Reader(const std::vector<uint8_t>& bytes) : bytes_(bytes) {}
  bool done() const { return at_ >= bytes_.size(); }
  size_t at() const { return at_; }
  void Seek(size_t at) { at_ = at; }
  uint8_t Byte() { return at_ < bytes_.size() ? bytes_[at_++] : 0; }
  uint32_t U32() {
    const theater::LebValue v =
        theater::DecodeUleb(std::span(bytes_).subspan(std::min(at_, bytes_.size())), 32);
    at_ += v.length;
    return static_cast<uint32_t>(v.value);
  }
  std::string Name() {
    uint32_t n = U32();
    std::string s(bytes_.begin() + static_cast<long>(at_),
                  bytes_.begin() + static_cast<long>(at_ + n));
    at_ += n;
    return s;
  }

 private:
  const std::vector<uint8_t>& bytes_;
  size_t at_ = 0;
};

char Letter(uint8_t valtype) {
  switch (valtype) {
    case 0x7f:
      return 'i';
    case 0x7e:
      return 'I';
    case 0x7d:
      return 'f';
    case 0x7c:
      return 'F';
    default:
      return '?';
  }
}

ModuleSignatures ReadModule(const std::vector<uint8_t>& bytes) {
  ModuleSignatures out;
  std::vector<std::string> types;
  std::vector<uint32_t> func_types;  // imported functions first, then defined ones
  Reader r(bytes);
  r.Seek(8);  // magic and version
  while (!r.done()) {
    const uint8_t id = r.Byte();
    const uint32_t size = r.U32();
    const size_t end = r.at() + size;
    if (id == 1) {  // types
      for (uint32_t n = r.U32(); n > 0; n--) {
        r.Byte();  // 0x60
        std::string sig;
        for (uint32_t p = r.U32(); p > 0; p--) sig += Letter(r.Byte());
        sig += "->";
        for (uint32_t q = r.U32(); q > 0; q--) sig += Letter(r.Byte());
        types.push_back(sig);
      }
    } else if (id == 2) {  // imports
      for (uint32_t n = r.U32(); n > 0; n--) {
        std::string module = r.Name();
        std::string name = r.Name();
        const uint8_t kind = r.Byte();
        if (kind == 0) {
          const uint32_t type = r.U32();
          func_types.push_back(type);
          out.imports[module + "." + name] = types.at(type);
        } else if (kind == 1) {  // table: reftype, limits
          r.Byte();
          if (r.Byte() & 1) r.U32();
          r.U32();
        } else if (kind == 2) {  // memory: limits
          if (r.Byte() & 1) r.U32();
          r.U32();
        } else {  // global: valtype, mutability
          r.Byte();
          r.Byte();
        }
      }
    } else if (id == 3) {  // functions
      for (uint32_t n = r.U32(); n > 0; n--) func_types.push_back(r.U32());
    } else if (id == 7) {  // exports
      for (uint32_t n = r.U32(); n > 0; n--) {
        std::string name = r.Name();
        const uint8_t kind = r.Byte();
        const uint32_t index = r.U32();
        if (kind == 0) out.exports[name] = types.at(func_types.at(index));
      }
    }
    r.Seek(end);
  }
  return out;
}

std::string Letters(const abi::CoreSignature& sig) {
  return sig.ParamLetters() + "->" + sig.ResultLetters();
}

std::string Unversioned(const std::string& name) {
  return name.substr(0, name.find('@'));
}

// What the world requires of a core module, from the WIT alone.
ModuleSignatures Expected(const wit::World& world) {
  ModuleSignatures out;
  auto add_export = [&](const std::string& name, const wit::Function& fn) {
    const abi::CoreSignature sig = abi::LowerSignature(fn.type, abi::Context::kLift);
    out.exports[name] = Letters(sig);
  };
  for (const wit::WorldItem& item : world.imports) {
    if (item.kind == wit::WorldItemKind::kFunction) {
      out.imports["$root." + item.function.ComponentName()] =
          Letters(abi::LowerSignature(item.function.type, abi::Context::kLower));
      continue;
    }
    const std::string module = Unversioned(item.interface->qualified_name);
    for (const wit::Resource& res : item.interface->resources) {
      out.imports[module + ".[resource-drop]" + res.name] = "i->";
      for (const wit::Function& fn : res.functions) {
        out.imports[module + "." + fn.ComponentName()] =
            Letters(abi::LowerSignature(fn.type, abi::Context::kLower));
      }
    }
    for (const wit::Function& fn : item.interface->functions) {
      out.imports[module + "." + fn.ComponentName()] =
          Letters(abi::LowerSignature(fn.type, abi::Context::kLower));
    }
  }
  for (const wit::WorldItem& item : world.exports) {
    if (item.kind == wit::WorldItemKind::kFunction) {
      add_export(item.function.ComponentName(), item.function);
      continue;
    }
    const std::string module = Unversioned(item.interface->qualified_name);
    for (const wit::Resource& res : item.interface->resources) {
      out.imports["[export]" + module + ".[resource-new]" + res.name] = "i->i";
      out.imports["[export]" + module + ".[resource-rep]" + res.name] = "i->i";
      out.imports["[export]" + module + ".[resource-drop]" + res.name] = "i->";
      out.exports[module + "#[dtor]" + res.name] = "i->";
      for (const wit::Function& fn : res.functions) {
        add_export(module + "#" + fn.ComponentName(), fn);
      }
    }
    for (const wit::Function& fn : item.interface->functions) {
      add_export(module + "#" + fn.ComponentName(), fn);
    }
  }
  out.exports["cabi_realloc"] = "iiii->i";
  out.exports["_initialize"] = "->";
  return out;
}

ModuleSignatures LoadModule(const char* path) {
  std::ifstream file(path, std::ios::binary);
  EXPECT_TRUE(file) << path;
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)),
                                   std::istreambuf_iterator<char>());
  EXPECT_GT(bytes.size(), 8u) << path;
  return bytes.size() > 8 ? ReadModule(bytes) : ModuleSignatures{};
}

class BindgenAbi : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ifstream wit_file(THEATER_KITCHEN_SINK_WIT);
    const std::string text((std::istreambuf_iterator<char>(wit_file)),
                           std::istreambuf_iterator<char>());
    Result<wit::Package> package = wit::ParseWitText(text, THEATER_KITCHEN_SINK_WIT);
    ASSERT_TRUE(package.ok()) << package.status().ToString();
    const wit::World* world = package->FindWorld("kitchen-sink");
    ASSERT_NE(world, nullptr);
    expected_ = Expected(*world);
  }

  // Every export the world requires is there with its signature; the only others are the
  // post-return functions, each (i32) -> () and named after an export whose results travel in
  // memory. Returns how many post-return functions there are.
  int CheckExports(const ModuleSignatures& actual) {
    for (const auto& [name, sig] : expected_.exports) {
      auto it = actual.exports.find(name);
      if (it == actual.exports.end()) {
        ADD_FAILURE() << "missing export " << name;
        continue;
      }
      EXPECT_EQ(it->second, sig) << name;
    }
    int post_returns = 0;
    for (const auto& [name, sig] : actual.exports) {
      if (expected_.exports.count(name) != 0) continue;
      if (!name.starts_with("cabi_post_")) {
        ADD_FAILURE() << "unexpected export " << name;
        continue;
      }
      EXPECT_EQ(sig, "i->") << name;
      auto target = expected_.exports.find(name.substr(10));
      if (target == expected_.exports.end()) {
        ADD_FAILURE() << name << " follows no export";
        continue;
      }
      EXPECT_TRUE(target->second.ends_with("->i")) << name << " follows " << target->second;
      post_returns++;
    }
    return post_returns;
  }

  ModuleSignatures expected_;
};

TEST_F(BindgenAbi, CModuleMatchesTheCanonicalAbi) {
  const ModuleSignatures actual = LoadModule(THEATER_KITCHEN_SINK_WASM);
  // Every import is one the world describes, with its signature, and kitchen_sink_impl.c keeps
  // them all.
  EXPECT_EQ(actual.imports, expected_.imports);
  // configure, paint, echo-primitives, label, spill-export and run return owned memory.
  EXPECT_EQ(CheckExports(actual), 6);
  // Spot checks of the flattening rules the comparisons rely on.
  EXPECT_EQ(actual.imports.at("test:kitchen-sink/host.spill"), "i->i");        // 17+ flat params
  EXPECT_EQ(actual.imports.at("test:kitchen-sink/host.f32-or-f64"), "iIi->");  // joined payload
  EXPECT_EQ(actual.exports.at("test:kitchen-sink/guest#floats"), "fFifiI->i");
}

TEST_F(BindgenAbi, CppModuleMatchesTheCanonicalAbi) {
  const ModuleSignatures actual = LoadModule(THEATER_KITCHEN_SINK_CPP_WASM);
  // kitchen_sink_impl.cc never reads or drops a counter handle itself; everything else is used.
  ModuleSignatures expected = expected_;
  expected.imports.erase("[export]test:kitchen-sink/guest.[resource-rep]counter");
  expected.imports.erase("[export]test:kitchen-sink/guest.[resource-drop]counter");
  EXPECT_EQ(actual.imports, expected.imports);
  EXPECT_EQ(CheckExports(actual), 6);
}

TEST_F(BindgenAbi, RustModuleMatchesTheCanonicalAbi) {
  ModuleSignatures actual = LoadModule(THEATER_KITCHEN_SINK_RUST_WASM);
  // Rust's std brings a few WASI functions of its own (panic messages, the environment); the
  // runtime serves them (handlers/wasi-preview1). Everything else is the world's.
  std::erase_if(actual.imports, [](const auto& import) {
    return import.first.starts_with("wasi_snapshot_preview1.");
  });
  // kitchen_sink_impl.rs never reads a counter through [resource-rep] (the bindings hand the
  // actor its own values) and never drops a counter handle itself.
  ModuleSignatures expected = expected_;
  expected.imports.erase("[export]test:kitchen-sink/guest.[resource-rep]counter");
  expected.imports.erase("[export]test:kitchen-sink/guest.[resource-drop]counter");
  EXPECT_EQ(actual.imports, expected.imports);
  EXPECT_EQ(CheckExports(actual), 6);
  EXPECT_EQ(actual.exports.at("test:kitchen-sink/guest#floats"), "fFifiI->i");
}

}  // namespace
}  // namespace theater
