// Theater: a WebAssembly actor runtime.
#include "engine/compile/module_compiler.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "common/bytes.h"
#include "engine/compile/compile_watchers.h"
#include "engine/compile/data_split.h"
#include "engine/compile/elf_check.h"
#include "engine/compile/embedded_headers.h"
#include "engine/compile/progress_line.h"
#include "engine/wasm2c/shim_abi.h"
#include "testing/wait_for.h"

// Stand-in for the runtime's thread-local call-depth counter: bounds-check-mode modules bind to
// it when they are loaded (the executable is linked with ENABLE_EXPORTS). Functions the modules
// import (wasm_rt_*, theater_host_dispatch) are bound lazily and never called here.
thread_local uint32_t wasm_rt_call_stack_depth = 0;
// The same for the time-slice flag every module's checks read (all modes).
thread_local volatile uint32_t wasm_rt_preempt_flag = 0;

namespace theater::engine {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

Bytes ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

Bytes Sample() {
  Bytes wasm = ReadFile(fs::path(THEATER_TEST_ACTOR_DIR) / "compile_sample.wasm");
  EXPECT_GT(wasm.size(), 100u) << "compile_sample.wasm missing; build target wasm_compile_sample";
  return wasm;
}

// `wasm` plus a custom section with random contents: the same code under a fresh cache key.
Bytes WithNonce(Bytes wasm) {
  std::random_device rd;
  const std::string name = "theater-test-nonce";
  Bytes section = {static_cast<uint8_t>(name.size())};
  section.insert(section.end(), name.begin(), name.end());
  for (int i = 0; i < 16; ++i) section.push_back(static_cast<uint8_t>(rd()));
  wasm.push_back(0);
  wasm.push_back(static_cast<uint8_t>(section.size()));
  wasm.insert(wasm.end(), section.begin(), section.end());
  return wasm;
}

// (func (result i32)) with an empty body: decodes, but does not validate.
const Bytes kTypeError = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01,
                          0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, 0x03, 0x02, 0x01,
                          0x00, 0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b};

// (import "env" "memory" (memory 1))
// Imports env.t, an externref table (min 0, max 1).
const Bytes kImportsExternrefTable = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
                                      0x02, 0x0c, 0x01, 0x03, 'e',  'n',  'v',  0x01,
                                      't',  0x01, 0x6f, 0x01, 0x00, 0x01};

// Imports a'b"c\d<newline>.é??= (i32) -> i32, host.mv () -> (i32, i64) and host."" (f32, f64);
// exports memory "mem", table "tab", global "g", x'y<newline>??= (i64) -> (f32, f64) and "".
const Bytes kRichModule = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x19, 0x05, 0x60, 0x01, 0x7f, 0x01,
    0x7f, 0x60, 0x00, 0x02, 0x7f, 0x7e, 0x60, 0x02, 0x7d, 0x7c, 0x00, 0x60, 0x01, 0x7e, 0x02,
    0x7d, 0x7c, 0x60, 0x00, 0x00, 0x02, 0x24, 0x03, 0x08, 0x61, 0x27, 0x62, 0x22, 0x63, 0x5c,
    0x64, 0x0a, 0x05, 0xc3, 0xa9, 0x3f, 0x3f, 0x3d, 0x00, 0x00, 0x04, 0x68, 0x6f, 0x73, 0x74,
    0x02, 0x6d, 0x76, 0x00, 0x01, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x00, 0x00, 0x02, 0x03, 0x03,
    0x02, 0x03, 0x04, 0x04, 0x04, 0x01, 0x70, 0x00, 0x01, 0x05, 0x03, 0x01, 0x00, 0x01, 0x06,
    0x06, 0x01, 0x7f, 0x01, 0x41, 0x07, 0x0b, 0x07, 0x1e, 0x05, 0x03, 0x6d, 0x65, 0x6d, 0x02,
    0x00, 0x03, 0x74, 0x61, 0x62, 0x01, 0x00, 0x01, 0x67, 0x03, 0x00, 0x07, 0x78, 0x27, 0x79,
    0x0a, 0x3f, 0x3f, 0x3d, 0x00, 0x03, 0x00, 0x00, 0x04, 0x0a, 0x2e, 0x02, 0x29, 0x00, 0x43,
    0x00, 0x00, 0xc0, 0x3f, 0x44, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x40, 0x10, 0x02,
    0x41, 0x03, 0x10, 0x00, 0x1a, 0x10, 0x01, 0x1a, 0x1a, 0x43, 0x00, 0x00, 0x00, 0x3f, 0x44,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd0, 0x3f, 0x0b, 0x02, 0x00, 0x0b};

// A loaded module; dlclose()d on destruction.
struct Loaded {
  void* handle = nullptr;
  const theater_module_desc* desc = nullptr;
  Loaded(const Loaded&) = delete;
  Loaded& operator=(const Loaded&) = delete;
  Loaded() = default;
  ~Loaded() {
    if (handle) dlclose(handle);
  }
};

void Load(const fs::path& so, Loaded& out) {
  out.handle = dlopen(so.c_str(), RTLD_LAZY | RTLD_LOCAL);
  ASSERT_NE(out.handle, nullptr) << dlerror();
  auto fn = reinterpret_cast<theater_module_fn>(dlsym(out.handle, THEATER_MODULE_SYMBOL));
  ASSERT_NE(fn, nullptr) << dlerror();
  out.desc = fn();
  ASSERT_NE(out.desc, nullptr);
}

const theater_export_desc* FindExport(const theater_module_desc* d, std::string_view name) {
  for (uint32_t i = 0; i < d->n_exports; ++i) {
    if (name == d->exports[i].name) return &d->exports[i];
  }
  return nullptr;
}

class ModuleCompilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "theater-compile-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  CompileOptions Options() const {
    CompileOptions options;
    options.cache_dir = dir_ / "cache";
    options.progress = ProgressMode::kOff;
    return options;
  }

  std::unique_ptr<ModuleCompiler> Compiler(CompileOptions options) const {
    auto compiler = ModuleCompiler::Create(std::move(options));
    EXPECT_TRUE(compiler.ok()) << compiler.status().ToString();
    return compiler.ok() ? std::move(*compiler) : nullptr;
  }

  // Files under the cache other than lock files, relative to it.
  std::vector<std::string> CacheFiles() const {
    std::vector<std::string> out;
    for (const auto& entry : fs::recursive_directory_iterator(dir_ / "cache")) {
      if (entry.is_regular_file() && entry.path().extension() != ".lock") {
        out.push_back(fs::relative(entry.path(), dir_ / "cache").string());
      }
    }
    return out;
  }

  bool TempDirIsEmpty() const { return fs::is_empty(dir_ / "cache" / "tmp"); }

  // An executable shell script in the test directory.
  fs::path Script(const std::string& name, const std::string& body) const {
    const fs::path path = dir_ / name;
    std::ofstream(path) << "#!/bin/sh\n" << body;
    fs::permissions(path, fs::perms::owner_all);
    return path;
  }

  fs::path dir_;
};

TEST_F(ModuleCompilerTest, CompilesTheSampleIntoALoadableModule) {
  auto compiler = Compiler(Options());
  ASSERT_TRUE(compiler);
  auto compiled = compiler->Compile(Sample(), "sample.wasm");
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  EXPECT_FALSE(compiled->cache_hit);
  ASSERT_EQ(compiled->key.size(), 64u);
  EXPECT_EQ(compiled->key.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(compiled->so_path,
            dir_ / "cache" / compiled->key.substr(0, 2) / (compiled->key + ".so"));
  EXPECT_EQ(compiled->so_path, compiler->CachePath(compiled->key));
  EXPECT_TRUE(fs::is_regular_file(compiled->so_path));
  EXPECT_TRUE(VerifyCompiledModuleFile(compiled->so_path).ok());
  EXPECT_TRUE(TempDirIsEmpty());

  Loaded module;
  ASSERT_NO_FATAL_FAILURE(Load(compiled->so_path, module));
  const theater_module_desc* d = module.desc;
  EXPECT_EQ(d->abi_version, static_cast<uint32_t>(THEATER_SHIM_ABI_VERSION));
  EXPECT_EQ(d->memcheck_signal_handler, 1u);
  EXPECT_GT(d->instance_size, 0u);
  EXPECT_NE(d->init_module, nullptr);
  EXPECT_NE(d->instantiate, nullptr);
  EXPECT_NE(d->free_instance, nullptr);
  EXPECT_NE(d->memory, nullptr);

  struct Expected {
    std::string module, name, params, results;
  };
  const std::vector<Expected> imports = {{"host", "log", "ii", ""},
                                         {"host", "scale", "FfI", "f"},
                                         {"theater:simple/runtime", "log", "ii", ""}};
  ASSERT_EQ(d->n_imports, imports.size());
  for (const Expected& want : imports) {
    bool found = false;
    for (uint32_t i = 0; i < d->n_imports; ++i) {
      const theater_import_desc& imp = d->imports[i];
      if (want.module == imp.module && want.name == imp.name) {
        found = true;
        EXPECT_EQ(want.params, imp.params) << want.name;
        EXPECT_EQ(want.results, imp.results) << want.name;
      }
    }
    EXPECT_TRUE(found) << want.module << "." << want.name;
  }

  const std::vector<Expected> exports = {{"", "add", "ii", "i"},
                                         {"", "mix", "IfF", "F"},
                                         {"", "half", "f", "f"},
                                         {"", "theater:simple/actor#init", "", ""},
                                         {"", "_initialize", "", ""}};
  for (const Expected& want : exports) {
    const theater_export_desc* exp = FindExport(d, want.name);
    ASSERT_NE(exp, nullptr) << want.name;
    EXPECT_EQ(want.params, exp->params) << want.name;
    EXPECT_EQ(want.results, exp->results) << want.name;
    EXPECT_NE(exp->fn, nullptr);
  }
  EXPECT_EQ(d->n_exports, exports.size());  // the memory is not a function export

  // The module binds to the runtime and the host dispatcher only through these names.
  auto symbols = ReadDynamicSymbols(ReadFile(compiled->so_path));
  ASSERT_TRUE(symbols.ok());
  bool needs_dispatch = false;
  for (const ElfDynamicSymbol& sym : *symbols) {
    if (sym.defined && sym.binding == 1 /* STB_GLOBAL */) {
      EXPECT_EQ(sym.name, "theater_module") << "unexpected export " << sym.name;
    }
    if (sym.name == "theater_host_dispatch") needs_dispatch = !sym.defined;
  }
  EXPECT_TRUE(needs_dispatch);
}

// Everything written to `stream` (a tmpfile), which it then closes.
std::string ReadAll(std::FILE* stream) {
  std::rewind(stream);
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), stream)) > 0;) text.append(buf, n);
  std::fclose(stream);
  return text;
}

// The exports and imports of a loaded module, as "name(params)results" lines.
std::vector<std::string> Signatures(const theater_module_desc* d) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < d->n_imports; ++i) {
    const theater_import_desc& imp = d->imports[i];
    out.push_back(std::string("import ") + imp.module + "." + imp.name + "(" + imp.params + ")" +
                  imp.results);
  }
  for (uint32_t i = 0; i < d->n_exports; ++i) {
    const theater_export_desc& exp = d->exports[i];
    out.push_back(std::string("export ") + exp.name + "(" + exp.params + ")" + exp.results);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A module cut into units (unit_splitter.h), one function each, links into the same module as
// the one compiled whole, and still exports nothing but the descriptor.
TEST_F(ModuleCompilerTest, AModuleSplitIntoUnitsMatchesTheWholeCompile) {
  for (const Bytes& wasm : {Sample(), kRichModule}) {
    CompileOptions whole_options = Options();
    whole_options.unit_bytes = 0;
    CompileOptions split_options = Options();
    split_options.unit_bytes = 1;
    split_options.compile_jobs = 3;
    auto whole = Compiler(whole_options);
    auto split = Compiler(split_options);
    ASSERT_TRUE(whole && split);
    EXPECT_NE(whole->CacheKey(wasm), split->CacheKey(wasm));
    auto whole_compiled = whole->Compile(wasm, "whole.wasm");
    auto split_compiled = split->Compile(wasm, "split.wasm");
    ASSERT_TRUE(whole_compiled.ok()) << whole_compiled.status().ToString();
    ASSERT_TRUE(split_compiled.ok()) << split_compiled.status().ToString();
    EXPECT_EQ(whole_compiled->translation_units, 1u);
    EXPECT_GT(split_compiled->translation_units, 1u);
    EXPECT_TRUE(VerifyCompiledModuleFile(split_compiled->so_path).ok());
    EXPECT_TRUE(TempDirIsEmpty());

    Loaded a, b;
    ASSERT_NO_FATAL_FAILURE(Load(whole_compiled->so_path, a));
    ASSERT_NO_FATAL_FAILURE(Load(split_compiled->so_path, b));
    EXPECT_EQ(Signatures(a.desc), Signatures(b.desc));
    EXPECT_EQ(a.desc->instance_size, b.desc->instance_size);
    EXPECT_EQ(a.desc->memory == nullptr, b.desc->memory == nullptr);
    auto symbols = ReadDynamicSymbols(ReadFile(split_compiled->so_path));
    ASSERT_TRUE(symbols.ok());
    for (const ElfDynamicSymbol& sym : *symbols) {
      if (sym.defined && sym.binding == 1 /* STB_GLOBAL */) {
        EXPECT_EQ(sym.name, "theater_module") << "unexpected export " << sym.name;
      }
    }
  }
}

TEST_F(ModuleCompilerTest, AFailingUnitIsNamedAndLeavesNoTrace) {
  CompileOptions options = Options();
  options.unit_bytes = 1;
  options.c_compiler = Script("unit-cc",
                              "if [ \"$1\" = --version ]; then echo 'unit-cc 1.0'; exit 0; fi\n"
                              "case \"$*\" in *mod_1.c*) echo 'mod_1.c:9:9: error: no' >&2; "
                              "exit 1;; esac\nexec cc \"$@\"\n")
                           .string();
  options.progress = ProgressMode::kOn;
  std::FILE* progress = std::tmpfile();
  ASSERT_NE(progress, nullptr);
  options.progress_stream = progress;
  auto compiler = Compiler(options);
  ASSERT_TRUE(compiler);
  auto r = compiler->Compile(Sample(), "sample.wasm");
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_NE(r.status().message().find("unit-cc failed on unit 2 of "), std::string::npos)
      << r.status().ToString();
  EXPECT_NE(r.status().message().find("of the C translation of 'sample.wasm'"), std::string::npos);
  EXPECT_NE(r.status().message().find("mod_1.c:9:9: error: no"), std::string::npos);
  EXPECT_TRUE(CacheFiles().empty());
  EXPECT_TRUE(TempDirIsEmpty());
  const std::string lines = ReadAll(progress);
  EXPECT_NE(lines.find("unit-cc \u00d7"), std::string::npos) << lines;
}

TEST_F(ModuleCompilerTest, SecondCompileIsACacheHit) {
  const Bytes wasm = Sample();
  auto compiler = Compiler(Options());
  ASSERT_TRUE(compiler);
  auto first = compiler->Compile(wasm, "sample.wasm");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = compiler->Compile(wasm, "sample.wasm");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->cache_hit);
  EXPECT_EQ(second->key, first->key);
  EXPECT_EQ(second->so_path, first->so_path);
  // Faster than compiling: how much is a figure for the benchmarks, which a busy machine changes.
  EXPECT_LT(second->compile_time, first->compile_time);

  // A new compiler (as in another process) with the same options finds it too.
  auto other = Compiler(Options());
  ASSERT_TRUE(other);
  auto third = other->Compile(wasm, "renamed.wasm");
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(third->cache_hit);
  EXPECT_EQ(third->so_path, first->so_path);
  EXPECT_EQ(CacheFiles().size(), 1u);
}

// Modules that differ only in their data compile once (data_split.h): the key is the code
// module's, and the data comes back with the object.
TEST_F(ModuleCompilerTest, ModulesThatDifferOnlyInDataShareOneObject) {
  CompileOptions options = Options();
  options.data_split_min_code_bytes = 0;
  auto compiler = Compiler(options);
  ASSERT_TRUE(compiler);
  const Bytes a = ReadFile(fs::path(THEATER_TEST_ACTOR_DIR) / "data_a.wasm");
  const Bytes b = ReadFile(fs::path(THEATER_TEST_ACTOR_DIR) / "data_b.wasm");
  EXPECT_EQ(compiler->CacheKey(a), compiler->CacheKey(b));
  auto first = compiler->Compile(a, "data_a.wasm");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->cache_hit);
  ASSERT_NE(first->data, nullptr);
  EXPECT_EQ(first->data->initial_pages(), 1u);
  auto second = compiler->Compile(b, "data_b.wasm");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->cache_hit);
  EXPECT_EQ(second->so_path, first->so_path);
  ASSERT_NE(second->data, nullptr);
  EXPECT_EQ(second->data->initial_pages(), 3u);
  EXPECT_EQ(CacheFiles().size(), 1u);

  // Below the threshold (the default: a megabyte of code) each is compiled as it is.
  auto whole = Compiler(Options());
  ASSERT_TRUE(whole);
  EXPECT_NE(whole->CacheKey(a), whole->CacheKey(b));
  auto kept = whole->Compile(a, "data_a.wasm");
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(kept->data, nullptr);
  EXPECT_NE(kept->key, first->key);
}

TEST_F(ModuleCompilerTest, ACodeModuleThatNeedsItsSegmentsIsCompiledWhole) {
  CompileOptions options = Options();
  options.data_split_min_code_bytes = 0;
  auto compiler = Compiler(options);
  ASSERT_TRUE(compiler);
  const Bytes wasm = ReadFile(fs::path(THEATER_TEST_ACTOR_DIR) / "data_drop.wasm");
  auto compiled = compiler->Compile(wasm, "data_drop.wasm");
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  EXPECT_EQ(compiled->data, nullptr) << "compiled whole, with its segment";
  Loaded loaded;
  ASSERT_NO_FATAL_FAILURE(Load(compiled->so_path, loaded));
  EXPECT_NE(FindExport(loaded.desc, "drop"), nullptr);
  // Invalid modules still fail as themselves.
  Bytes broken = wasm;
  broken.resize(broken.size() - 1);
  EXPECT_FALSE(compiler->Compile(broken, "broken.wasm").ok());
}

TEST_F(ModuleCompilerTest, FlagsAndInputsChangeTheKey) {
  const Bytes wasm = Sample();
  auto base = Compiler(Options());
  ASSERT_TRUE(base);
  const std::string key = base->CacheKey(wasm);
  EXPECT_EQ(Compiler(Options())->CacheKey(wasm), key);

  CompileOptions o1 = Options();
  o1.opt_level = 1;
  CompileOptions bounds = Options();
  bounds.signal_memcheck = false;
  const std::string key_o1 = Compiler(o1)->CacheKey(wasm);
  auto bounds_compiler = Compiler(bounds);
  ASSERT_TRUE(bounds_compiler);
  const std::string key_bounds = bounds_compiler->CacheKey(wasm);
  EXPECT_NE(key_o1, key);
  EXPECT_NE(key_bounds, key);
  EXPECT_NE(key_bounds, key_o1);
  EXPECT_NE(base->CacheKey(WithNonce(wasm)), key);
  // Modules compiled with and without time-slice checks never share an entry.
  CompileOptions unchecked = Options();
  unchecked.preempt_checks = false;
  const std::string key_unchecked = Compiler(unchecked)->CacheKey(wasm);
  EXPECT_NE(key_unchecked, key);
  EXPECT_NE(key_unchecked, key_o1);

  // Bounds-check mode is recorded in the descriptor.
  auto compiled = bounds_compiler->Compile(wasm, "sample.wasm");
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  EXPECT_EQ(compiled->key, key_bounds);
  Loaded module;
  ASSERT_NO_FATAL_FAILURE(Load(compiled->so_path, module));
  EXPECT_EQ(module.desc->memcheck_signal_handler, 0u);
}

TEST_F(ModuleCompilerTest, HostileNamesAndMultiValueSurviveIntoTheDescriptor) {
  auto compiler = Compiler(Options());
  ASSERT_TRUE(compiler);
  auto compiled = compiler->Compile(kRichModule, "rich.wasm");
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  Loaded module;
  ASSERT_NO_FATAL_FAILURE(Load(compiled->so_path, module));
  const theater_module_desc* d = module.desc;
  EXPECT_EQ(d->memory, nullptr);  // the memory is exported as "mem"
  ASSERT_EQ(d->n_imports, 3u);
  bool weird = false, mv = false, empty = false;
  for (uint32_t i = 0; i < d->n_imports; ++i) {
    const theater_import_desc& imp = d->imports[i];
    if (std::string_view(imp.module) == "a'b\"c\\d\n") {
      weird = std::string_view(imp.name) == "\xc3\xa9?\?=" && std::string_view(imp.params) == "i" &&
              std::string_view(imp.results) == "i";
    }
    if (std::string_view(imp.name) == "mv") mv = std::string_view(imp.results) == "iI";
    if (std::string_view(imp.name).empty()) empty = std::string_view(imp.params) == "fF";
  }
  EXPECT_TRUE(weird);
  EXPECT_TRUE(mv);
  EXPECT_TRUE(empty);
  ASSERT_EQ(d->n_exports, 2u);
  const theater_export_desc* multi = FindExport(d, "x'y\n?\?=");
  ASSERT_NE(multi, nullptr);
  EXPECT_STREQ(multi->params, "I");
  EXPECT_STREQ(multi->results, "fF");
  EXPECT_NE(FindExport(d, ""), nullptr);
}

TEST_F(ModuleCompilerTest, BadInputsGiveClearErrorsAndLeaveNoTrace) {
  auto compiler = Compiler(Options());
  ASSERT_TRUE(compiler);
  Bytes sample = Sample();

  Bytes truncated(sample.begin(), sample.begin() + sample.size() / 2);
  auto r = compiler->Compile(truncated, "trunc.wasm");
  EXPECT_EQ(r.status().code(), StatusCode::kParseError);
  EXPECT_TRUE(r.status().ToString().starts_with("invalid wasm module 'trunc.wasm': "))
      << r.status().ToString();
  EXPECT_NE(r.status().ToString().find("truncated"), std::string::npos);

  const std::string text = "hello, world\n";
  r = compiler->Compile(Bytes(text.begin(), text.end()), "notes.txt");
  EXPECT_EQ(r.status().code(), StatusCode::kParseError);
  EXPECT_EQ(r.status().ToString(),
            "invalid wasm module 'notes.txt': not a WebAssembly binary: it does not start with the "
            "magic bytes \\0asm");

  r = compiler->Compile(Bytes{0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00}, "component.wasm");
  EXPECT_EQ(r.status().code(), StatusCode::kParseError);
  EXPECT_NE(r.status().ToString().find("this is a WebAssembly component, not a core module"),
            std::string::npos);

  r = compiler->Compile(kTypeError, "bad.wasm");
  EXPECT_EQ(r.status().code(), StatusCode::kValidationError);
  EXPECT_EQ(r.status().ToString(),
            "invalid wasm module 'bad.wasm': 0000017: error: type mismatch in implicit return, "
            "expected [i32] but got []");

  // Decodes as far as the framing goes, but the function body is malformed: wasm2c's binary
  // reader rejects it.
  Bytes bad_body = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00,
                    0x00, 0x03, 0x02, 0x01, 0x00, 0x0a, 0x05, 0x01, 0x03, 0x00, 0xff, 0x0b};
  r = compiler->Compile(bad_body, "body.wasm");
  EXPECT_EQ(r.status().code(), StatusCode::kParseError) << r.status().ToString();
  EXPECT_TRUE(r.status().ToString().starts_with("invalid wasm module 'body.wasm': 00000"))
      << r.status().ToString();

  r = compiler->Compile(kImportsExternrefTable, "table.wasm");
  EXPECT_EQ(r.status().code(), StatusCode::kValidationError);
  EXPECT_EQ(r.status().ToString(),
            "cannot compile wasm module 'table.wasm': imports of tags and externref tables are not "
            "supported: env.t (externref table)");

  EXPECT_TRUE(CacheFiles().empty());
  EXPECT_TRUE(TempDirIsEmpty());
}

TEST_F(ModuleCompilerTest, CorruptCacheEntriesAreRebuilt) {
  const Bytes wasm = Sample();
  auto compiler = Compiler(Options());
  ASSERT_TRUE(compiler);
  auto first = compiler->Compile(wasm, "sample.wasm");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const auto size = fs::file_size(first->so_path);

  for (uintmax_t bad_size : {size / 2, uintmax_t{0}}) {
    fs::resize_file(first->so_path, bad_size);
    auto again = compiler->Compile(wasm, "sample.wasm");
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_FALSE(again->cache_hit) << bad_size;
    EXPECT_EQ(again->so_path, first->so_path);
    EXPECT_EQ(fs::file_size(again->so_path), size);
    EXPECT_TRUE(VerifyCompiledModuleFile(again->so_path).ok());
  }
  Loaded module;
  ASSERT_NO_FATAL_FAILURE(Load(first->so_path, module));
}

TEST_F(ModuleCompilerTest, TwoProcessesCompileOnce) {
  const Bytes wasm = WithNonce(Sample());
  const CompileOptions options = Options();
  ASSERT_TRUE(Compiler(options));  // creates the cache directory
  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  constexpr int kCompiled = 10, kHit = 11, kFailed = 12;
  pid_t children[2];
  for (pid_t& child : children) {
    child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(gate[1]);
      char c;
      while (::read(gate[0], &c, 1) < 0 && errno == EINTR) {
      }
      auto compiler = ModuleCompiler::Create(options);
      if (!compiler.ok()) ::_exit(kFailed);
      auto compiled = (*compiler)->Compile(wasm, "race.wasm");
      ::_exit(!compiled.ok() ? kFailed : compiled->cache_hit ? kHit : kCompiled);
    }
  }
  ::close(gate[0]);
  ::close(gate[1]);  // both children start now
  std::vector<int> codes;
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    codes.push_back(WEXITSTATUS(status));
  }
  std::sort(codes.begin(), codes.end());
  EXPECT_EQ(codes, (std::vector<int>{kCompiled, kHit}));

  auto compiler = Compiler(options);
  auto compiled = compiler->Compile(wasm, "race.wasm");
  ASSERT_TRUE(compiled.ok());
  EXPECT_TRUE(compiled->cache_hit);
  EXPECT_TRUE(VerifyCompiledModuleFile(compiled->so_path).ok());
  EXPECT_EQ(CacheFiles().size(), 1u);
  EXPECT_TRUE(TempDirIsEmpty());
}

TEST_F(ModuleCompilerTest, TwoThreadsCompileOnce) {
  const Bytes wasm = WithNonce(Sample());
  auto compiler = Compiler(Options());
  ASSERT_TRUE(compiler);
  Result<CompiledModuleFile> results[2] = {InternalError("not run"), InternalError("not run")};
  std::thread a([&] { results[0] = compiler->Compile(wasm, "a.wasm"); });
  std::thread b([&] { results[1] = compiler->Compile(wasm, "b.wasm"); });
  a.join();
  b.join();
  ASSERT_TRUE(results[0].ok()) << results[0].status().ToString();
  ASSERT_TRUE(results[1].ok()) << results[1].status().ToString();
  EXPECT_NE(results[0]->cache_hit, results[1]->cache_hit);
  EXPECT_EQ(results[0]->so_path, results[1]->so_path);
}

TEST_F(ModuleCompilerTest, MissingToolsAreUnavailable) {
  CompileOptions no_wasm2c = Options();
  no_wasm2c.wasm2c = "/nonexistent/wasm2c";
  auto r = ModuleCompiler::Create(no_wasm2c);
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("/nonexistent/wasm2c"), std::string::npos);
  EXPECT_NE(r.status().message().find("apt-get install wabt"), std::string::npos);

  CompileOptions no_cc = Options();
  no_cc.c_compiler = "theater-no-such-cc";
  r = ModuleCompiler::Create(no_cc);
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("theater-no-such-cc"), std::string::npos);
  EXPECT_NE(r.status().message().find("THEATER_CC"), std::string::npos);

  CompileOptions bad_version = Options();
  bad_version.c_compiler = Script("broken-cc", "exit 1\n").string();
  EXPECT_EQ(ModuleCompiler::Create(bad_version).status().code(), StatusCode::kUnavailable);
}

TEST_F(ModuleCompilerTest, InvalidOptionsAreRejected) {
  CompileOptions o = Options();
  o.opt_level = 7;
  EXPECT_EQ(ModuleCompiler::Create(o).status().code(), StatusCode::kInvalidArgument);
  o = Options();
  o.cache_dir.clear();
  EXPECT_EQ(ModuleCompiler::Create(o).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ModuleCompilerTest, CompilerFailureReportsItsOutput) {
  CompileOptions options = Options();
  options.c_compiler = Script("failing-cc",
                              "if [ \"$1\" = --version ]; then echo 'failing-cc 1.0'; exit 0; fi\n"
                              "echo 'mod.c:1:1: error: the sky fell' >&2\nexit 1\n")
                           .string();
  auto compiler = Compiler(options);
  ASSERT_TRUE(compiler);
  auto r = compiler->Compile(Sample(), "sample.wasm");
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_NE(r.status().message().find("failing-cc failed on the C translation of 'sample.wasm'"),
            std::string::npos)
      << r.status().ToString();
  EXPECT_NE(r.status().message().find("mod.c:1:1: error: the sky fell"), std::string::npos);
  EXPECT_TRUE(CacheFiles().empty());
  EXPECT_TRUE(TempDirIsEmpty());
}

TEST_F(ModuleCompilerTest, Wasm2cFailuresAreClassified) {
  struct Case {
    std::string script;
    StatusCode code;
    std::string message;
  };
  const std::string version = "if [ \"$1\" = --version ]; then echo 1.0.32; exit 0; fi\n";
  const std::vector<Case> cases = {
      // A warning before the validator's error does not hide that it is a validation error.
      {"echo 'warning: duplicate import declaration' >&2\n"
       "echo 'module.wasm:0000030: error: type mismatch in call' >&2; exit 1\n",
       StatusCode::kValidationError,
       "invalid wasm module 'x.wasm': warning: duplicate import declaration\n"
       "0000030: error: type mismatch in call"},
      {"echo '000000a: error: invalid section size: extends past end' >&2; exit 1\n",
       StatusCode::kParseError,
       "invalid wasm module 'x.wasm': 000000a: error: invalid section size: extends past end"},
      // Not the module's fault.
      {"echo 'unable to open mod.c: No space left on device' >&2; exit 1\n", StatusCode::kInternal,
       "wasm2c failed on 'x.wasm':\nunable to open mod.c: No space left on device"},
      {"kill -SEGV $$\n", StatusCode::kInternal,
       "wasm2c failed on 'x.wasm':\n(terminated by signal 11)"},
  };
  int n = 0;
  for (const Case& c : cases) {
    CompileOptions options = Options();
    options.wasm2c = Script("fake-wasm2c-" + std::to_string(n++), version + c.script).string();
    auto compiler = Compiler(options);
    ASSERT_TRUE(compiler);
    auto r = compiler->Compile(Sample(), "x.wasm");
    EXPECT_EQ(r.status().code(), c.code) << c.script;
    EXPECT_EQ(r.status().ToString(), c.message);
    EXPECT_TRUE(TempDirIsEmpty());
  }
}

TEST_F(ModuleCompilerTest, RelativeToolPathsWork) {
  Script("relative-cc", "exec cc \"$@\"\n");
  const fs::path cwd = fs::current_path();
  fs::current_path(dir_);
  CompileOptions options = Options();
  options.c_compiler = "./relative-cc";
  auto compiler = ModuleCompiler::Create(options);
  fs::current_path(cwd);
  ASSERT_TRUE(compiler.ok()) << compiler.status().ToString();
  auto compiled = (*compiler)->Compile(Sample(), "sample.wasm");
  EXPECT_TRUE(compiled.ok()) << compiled.status().ToString();
}

TEST_F(ModuleCompilerTest, ModulesUsingGeneralDynamicTlsAreNotCached) {
  // A "compiler" that overrides the TLS model, as a misconfigured toolchain might. Bounds-check
  // mode makes the module use the runtime's thread-local depth counter.
  auto cc = Script("gd-cc", "exec cc \"$@\" -ftls-model=global-dynamic\n");
  CompileOptions options = Options();
  options.c_compiler = cc.string();
  options.signal_memcheck = false;
  auto compiler = Compiler(options);
  ASSERT_TRUE(compiler);
  auto r = compiler->Compile(Sample(), "sample.wasm");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().ToString().find("__tls_get_addr"), std::string::npos)
      << r.status().ToString();
  EXPECT_TRUE(CacheFiles().empty());
  EXPECT_TRUE(TempDirIsEmpty());
}

TEST_F(ModuleCompilerTest, ProgressLinesWhenOnAndNotATerminal) {
  std::FILE* stream = std::tmpfile();
  ASSERT_NE(stream, nullptr);
  CompileOptions options = Options();
  options.progress = ProgressMode::kOn;
  options.progress_stream = stream;
  auto compiler = Compiler(options);
  ASSERT_TRUE(compiler);
  auto compiled = compiler->Compile(Sample(), "sample.wasm");
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  ASSERT_TRUE(compiler->Compile(Sample(), "sample.wasm").ok());  // a hit prints nothing
  const std::string text = ReadAll(stream);
  // Whole lines, no '\r': a line as each stage begins, then the times of each stage.
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
  EXPECT_TRUE(text.starts_with("compiling sample.wasm (")) << text;
  EXPECT_NE(text.find("): wasm2c\u2026"), std::string::npos) << text;
  // wasm2c, then the C compiler: a line each.
  size_t stage_lines = 0;
  for (size_t at = 0; (at = text.find("compiling sample.wasm (", at)) != std::string::npos; ++at) {
    ++stage_lines;
  }
  EXPECT_GE(stage_lines, 2u) << text;
  const std::string last = text.substr(text.rfind('\n', text.size() - 2) + 1);
  EXPECT_TRUE(last.starts_with("compiled sample.wasm (")) << last;
  EXPECT_NE(last.find(" s (wasm2c "), std::string::npos) << last;
  EXPECT_TRUE(last.ends_with(" s)\n")) << last;
}

// Stages that begin before the line's thread first runs (a fast compile on a fast machine)
// each still get their line, in order.
TEST_F(ModuleCompilerTest, PlainProgressNamesStagesThatBeganTogether) {
  std::FILE* stream = std::tmpfile();
  ASSERT_NE(stream, nullptr);
  auto written = [path = "/proc/self/fd/" + std::to_string(fileno(stream))] {
    return ReadFileText(path).value_or("");
  };
  {
    ProgressLine line(stream, "sample.wasm", 2048, std::chrono::milliseconds(0),
                      ProgressStyle::kPlain);
    line.Stage("wasm2c");
    line.Stage("gcc");
    EXPECT_TRUE(testing_util::WaitFor([&] {
      return written().find("gcc\u2026") != std::string::npos;
    })) << written();
    line.Finish(true);
  }
  const std::string text = ReadAll(stream);
  const size_t wasm2c = text.find("compiling sample.wasm (2.0 KiB): wasm2c\u2026");
  const size_t gcc = text.find("compiling sample.wasm (2.0 KiB): gcc\u2026");
  ASSERT_NE(wasm2c, std::string::npos) << text;
  ASSERT_NE(gcc, std::string::npos) << text;
  EXPECT_LT(wasm2c, gcc) << text;
  EXPECT_NE(text.find("compiled sample.wasm (2.0 KiB) in "), std::string::npos) << text;
}

TEST_F(ModuleCompilerTest, LiveProgressLineIsRewrittenInPlace) {
  std::FILE* stream = std::tmpfile();
  ASSERT_NE(stream, nullptr);
  {
    ProgressLine line(stream, "sample.wasm", 2048, std::chrono::milliseconds(0),
                      ProgressStyle::kLive);
    line.Stage("wasm2c");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    line.Stage("gcc");
    line.Finish(true);
  }
  const std::string text = ReadAll(stream);
  EXPECT_TRUE(text.starts_with("\rcompiling sample.wasm (2.0 KiB):")) << text;
  EXPECT_TRUE(text.ends_with(" s\n")) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
  // The final line names every stage.
  const std::string last = text.substr(text.rfind('\r'));
  EXPECT_NE(last.find(": wasm2c\u2026 gcc\u2026 "), std::string::npos) << last;
}

// A stage that reports its units shows how many are done and, past 5% of the work, the time
// it has left; a shorter line than the last is padded over it.
TEST_F(ModuleCompilerTest, ProgressShowsUnitsDoneAndAnEstimate) {
  std::FILE* stream = std::tmpfile();
  ASSERT_NE(stream, nullptr);
  // What the line's thread has written so far, read through a file description of our own (the
  // stream's position is the writer's).
  auto written = [path = "/proc/self/fd/" + std::to_string(fileno(stream))] {
    return ReadFileText(path).value_or("");
  };
  // `text` holds `prefix` followed by a number of seconds ("0.3", "12.0"), then `suffix`.
  auto shows = [](const std::string& text, const std::string& prefix, const std::string& suffix) {
    for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
      size_t end = at + prefix.size();
      while (end < text.size() &&
             (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.')) {
        ++end;
      }
      if (end > at + prefix.size() && text.compare(end, suffix.size(), suffix) == 0) return true;
    }
    return false;
  };
  {
    ProgressLine line(stream, "engine.wasm", 9 << 20, std::chrono::milliseconds(0),
                      ProgressStyle::kLive);
    line.Stage("gcc \u00d764");
    line.StageProgress(1, 64, 0.01);
    // The line is redrawn every 250 ms: each state is waited for, not slept through.
    EXPECT_TRUE(testing_util::WaitFor([&] {
      return shows(written(), "gcc \u00d764\u2026 1/64 units, ", " s");
    })) << written();
    line.StageProgress(32, 64, 0.5);
    EXPECT_TRUE(testing_util::WaitFor([&] {
      return shows(written(), "gcc \u00d764\u2026 32/64 units, about ", " s left, ");
    })) << written();
    line.Finish(true);
  }
  const std::string text = ReadAll(stream);
  EXPECT_EQ(text.find("1/64 units, about"), std::string::npos) << "no estimate from 1%";
}

// Watchers of the engine's compiles (a server's clients) hear each compile from its first stage,
// each stage as it begins, and how it ended, whatever the progress stream does; a watch that
// ended hears nothing more, and a compile with no watcher tells nobody.
TEST_F(ModuleCompilerTest, WatchersHearEachStageAndTheEndOfACompile) {
  auto watchers = std::make_shared<CompileWatchers>();
  std::mutex mutex;
  std::vector<CompileProgress> heard;
  auto lines = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    std::string all;
    for (const CompileProgress& p : heard) all += p.line + "\n";
    return all;
  };
  {
    ProgressLine untold(nullptr, "sample.wasm", 2048, std::chrono::milliseconds(0),
                        ProgressStyle::kPlain, watchers);
    untold.Stage("wasm2c");
    untold.Finish(true);
  }
  CompileWatch watch = watchers->Add([&](const CompileProgress& progress) {
    std::lock_guard<std::mutex> lock(mutex);
    heard.push_back(progress);
  });
  {
    ProgressLine line(nullptr, "sample.wasm", 2048, std::chrono::milliseconds(0),
                      ProgressStyle::kPlain, watchers);
    line.Stage("wasm2c");
    EXPECT_TRUE(testing_util::WaitFor([&] {
      return lines().find("compiling sample.wasm (2.0 KiB): wasm2c\u2026 ") != std::string::npos;
    })) << lines();
    line.Stage("gcc");
    EXPECT_TRUE(testing_util::WaitFor([&] {
      return lines().find(": wasm2c\u2026 gcc\u2026 ") != std::string::npos;
    })) << lines();
    line.Finish(true);
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    ASSERT_GE(heard.size(), 3u);
    const CompileProgress& last = heard.back();
    EXPECT_TRUE(last.finished);
    EXPECT_TRUE(last.ok);
    EXPECT_TRUE(last.line.starts_with("compiled sample.wasm (2.0 KiB) in ")) << last.line;
    EXPECT_NE(last.line.find("(wasm2c "), std::string::npos) << last.line;
    EXPECT_EQ(last.module, "sample.wasm (2.0 KiB)");
    for (const CompileProgress& p : heard) {
      EXPECT_EQ(p.compile_id, last.compile_id) << "one compile, one id";
      if (&p != &last) EXPECT_FALSE(p.finished) << p.line;
    }
  }
  {
    ProgressLine failing(nullptr, "other.wasm", 2048, std::chrono::milliseconds(0),
                         ProgressStyle::kPlain, watchers);
    failing.Stage("wasm2c");
    EXPECT_TRUE(testing_util::WaitFor(
        [&] { return lines().find("compiling other.wasm") != std::string::npos; }));
  }  // destroyed unfinished: a failure
  {
    std::lock_guard<std::mutex> lock(mutex);
    const CompileProgress& last = heard.back();
    EXPECT_TRUE(last.finished);
    EXPECT_FALSE(last.ok);
    EXPECT_TRUE(last.line.starts_with("compiling other.wasm (2.0 KiB) failed after ")) << last.line;
    EXPECT_NE(last.compile_id, heard.front().compile_id);
  }
  watch.Reset();
  const size_t before = heard.size();
  {
    ProgressLine line(nullptr, "sample.wasm", 2048, std::chrono::milliseconds(0),
                      ProgressStyle::kPlain, watchers);
    line.Stage("wasm2c");
    line.Finish(true);
  }
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(heard.size(), before) << "a watch that ended hears nothing";
}

// A compile through the compiler tells the watchers in its options; a quiet one (a background
// compile) and a cache hit tell nothing.
TEST_F(ModuleCompilerTest, ACompileTellsItsWatchersButAQuietOneDoesNot) {
  CompileOptions options = Options();
  options.progress = ProgressMode::kOff;
  options.watchers = std::make_shared<CompileWatchers>();
  std::mutex mutex;
  std::vector<CompileProgress> heard;
  CompileWatch watch = options.watchers->Add([&](const CompileProgress& progress) {
    std::lock_guard<std::mutex> lock(mutex);
    heard.push_back(progress);
  });
  auto compiler = Compiler(options);
  ASSERT_TRUE(compiler);
  CompileControl quiet;
  quiet.quiet = true;
  ASSERT_TRUE(compiler->Compile(Sample(), "sample.wasm", quiet).ok());
  {
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_TRUE(heard.empty());
  }
  fs::remove_all(dir_ / "cache");
  auto again = Compiler(options);
  ASSERT_TRUE(again);
  ASSERT_TRUE(again->Compile(Sample(), "sample.wasm").ok());
  ASSERT_TRUE(again->Compile(Sample(), "sample.wasm").ok());  // a hit
  std::lock_guard<std::mutex> lock(mutex);
  ASSERT_FALSE(heard.empty());
  EXPECT_TRUE(heard.front().line.starts_with("compiling sample.wasm")) << heard.front().line;
  EXPECT_TRUE(heard.back().finished);
  EXPECT_TRUE(heard.back().line.starts_with("compiled sample.wasm")) << heard.back().line;
  size_t finished = 0;
  for (const CompileProgress& p : heard) finished += p.finished ? 1 : 0;
  EXPECT_EQ(finished, 1u) << "the hit told nothing";
}

TEST_F(ModuleCompilerTest, NoProgressWhenOffOrNotATerminal) {
  for (ProgressMode mode : {ProgressMode::kOff, ProgressMode::kAuto}) {
    std::FILE* stream = std::tmpfile();
    ASSERT_NE(stream, nullptr);
    CompileOptions options = Options();
    options.progress = mode;
    options.progress_stream = stream;
    options.progress_delay = std::chrono::milliseconds(0);
    auto compiler = Compiler(options);
    ASSERT_TRUE(compiler);
    ASSERT_TRUE(compiler->Compile(WithNonce(Sample()), "sample.wasm").ok());
    EXPECT_EQ(std::ftell(stream), 0L);
    std::fclose(stream);
  }
}

TEST_F(ModuleCompilerTest, SharedOrForeignCacheDirectoriesAreRefused) {
  const fs::path cache = dir_ / "cache";
  fs::create_directories(cache);
  ASSERT_EQ(::chmod(cache.c_str(), 0777), 0);
  auto r = ModuleCompiler::Create(Options());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("writable by other users"), std::string::npos);
  ASSERT_EQ(::chmod(cache.c_str(), 0700), 0);
  EXPECT_TRUE(ModuleCompiler::Create(Options()).ok());
}

TEST_F(ModuleCompilerTest, CreatesThePrivateCacheDirectory) {
  CompileOptions options = Options();
  options.cache_dir = dir_ / "home" / ".theater" / "cache";
  ASSERT_TRUE(Compiler(options));
  struct stat st;
  ASSERT_EQ(::stat(options.cache_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(ModuleCompilerTest, StaleBuildDirectoriesAreSwept) {
  ASSERT_TRUE(Compiler(Options()));
  const fs::path stale = dir_ / "cache" / "tmp" / "0123456789abcdef-XXXXXX";
  const fs::path fresh = dir_ / "cache" / "tmp" / "fedcba9876543210-YYYYYY";
  fs::create_directories(stale);
  fs::create_directories(fresh);
  std::ofstream(stale / "mod.c") << "left behind by a killed compile";
  fs::last_write_time(stale, fs::file_time_type::clock::now() - std::chrono::hours(49));
  ASSERT_TRUE(Compiler(Options()));
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(fresh));
}

TEST(EmbeddedHeadersTest, MatchTheRuntimeHeadersByteForByte) {
  const auto files = EmbeddedRuntimeHeaders();
  ASSERT_EQ(files.size(), 2u);
  for (const EmbeddedFile& file : files) {
    const Bytes source =
        ReadFile(fs::path(THEATER_SOURCE_DIR) / "src/engine/wasm2c" / std::string(file.name));
    ASSERT_FALSE(source.empty()) << file.name;
    EXPECT_EQ(std::string(source.begin(), source.end()), file.contents) << file.name;
  }
}

// Sets environment variables for one test and restores them afterwards.
class ScopedEnv {
 public:
  void Set(const char* name, const char* value) {
    const char* old = std::getenv(name);
    saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second) {
        ::setenv(it->first.c_str(), it->second->c_str(), 1);
      } else {
        ::unsetenv(it->first.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(DefaultCacheDirTest, FollowsTheaterHomeThenHome) {
  ScopedEnv env;
  env.Set("THEATER_HOME", "/srv/theater");
  auto dir = DefaultCacheDir();
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(*dir, fs::path("/srv/theater/cache"));

  env.Set("THEATER_HOME", nullptr);
  env.Set("HOME", "/home/someone");
  dir = DefaultCacheDir();
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(*dir, fs::path("/home/someone/.theater/cache"));

  env.Set("HOME", nullptr);
  dir = DefaultCacheDir();  // falls back to the password database
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(dir->filename(), "cache");
  EXPECT_EQ(dir->parent_path().filename(), ".theater");
}

TEST(DefaultCacheDirTest, CompilerComesFromTheaterCc) {
  ScopedEnv env;
  env.Set("THEATER_HOME", "/srv/theater");
  env.Set("THEATER_CC", "clang-14");
  auto options = DefaultCompileOptions();
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->c_compiler, "clang-14");
  EXPECT_EQ(options->cache_dir, fs::path("/srv/theater/cache"));
  env.Set("THEATER_CC", nullptr);
  options = DefaultCompileOptions();
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->c_compiler, "cc");
}

}  // namespace
}  // namespace theater::engine
