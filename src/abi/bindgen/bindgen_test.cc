// Theater: a WebAssembly actor runtime.
//
// The generator's output for small worlds: identifiers, canonical layouts of tricky types (the
// numbers below are worked out by hand from CanonicalABI.md, not taken from abi::SizeOf), core
// import/export names and signatures, resource conventions, and errors.
#include "abi/bindgen/bindgen.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace theater::bindgen {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kWit = R"(package test:gen@1.2.3;

interface types {
    record padded { a: u8, b: u64, c: u16 }
    variant mixed { small(u8), wide(u64), text(string), none }
    enum level { low, high }
    flags bits { one, two, three, four, five, six, seven, eight, nine }
    type name = string;
    record keywords { default: u32, new: bool, class: string }
}

interface api {
    use types.{padded, mixed, name, bits};

    resource blob {
        constructor(size: u32);
        read: func(n: u32) -> list<u8>;
        merge: static func(a: blob, b: borrow<blob>) -> blob;
    }

    scalar: func(a: u32, b: f32) -> u64;
    fetch: func(id: name) -> result<list<padded>, string>;
    opt: func(x: option<u64>) -> option<u64>;
    flagged: func(b: bits) -> bits;
    note: func(text: string);
    say: func(text: string);
    sayf: func(n: u32);
    spill: func(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64, g: u64, h: u64,
                i: u64, j: u64, k: u64, l: u64, m: u64, n: u64, o: u64, p: u64, q: u8) -> mixed;
}

interface guest {
    use types.{mixed, level as grade};
    resource counter {
        constructor(start: u64);
        increment: func(by: u64) -> u64;
    }
    handle: func(m: mixed) -> result<_, string>;
    rate: func(g: grade) -> grade;
}

world demo {
    import api;
    export guest;
    import ping: func() -> u32;
    export run: func(args: list<string>);
}

world other {
    import api;
}
)";

class BindgenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<wit::Package> package = wit::ParseWitText(kWit, "gen.wit");
    ASSERT_TRUE(package.ok()) << package.status().ToString();
    package_ = std::move(package).value();
  }

  // The contents of the generated file named `name`.
  std::string File(Language language, const std::string& name) {
    Result<std::vector<GeneratedFile>> files = Generate(package_, "demo", language);
    EXPECT_TRUE(files.ok()) << files.status().ToString();
    if (!files.ok()) return "";
    for (const GeneratedFile& f : *files) {
      if (f.name == name) return f.contents;
    }
    ADD_FAILURE() << "no generated file " << name;
    return "";
  }

  wit::Package package_;
};

TEST_F(BindgenTest, WritesOneHeaderAndOneSourcePerLanguage) {
  Result<std::vector<GeneratedFile>> c = Generate(package_, "demo", Language::kC);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->size(), 2u);
  EXPECT_EQ((*c)[0].name, "demo.h");
  EXPECT_EQ((*c)[1].name, "demo.c");
  Result<std::vector<GeneratedFile>> cpp = Generate(package_, "demo", Language::kCpp);
  ASSERT_TRUE(cpp.ok()) << cpp.status().ToString();
  ASSERT_EQ(cpp->size(), 2u);
  EXPECT_EQ((*cpp)[0].name, "demo.hpp");
  EXPECT_EQ((*cpp)[1].name, "demo.cpp");
}

TEST_F(BindgenTest, NamesTypesByWorldAndInterface) {
  const std::string h = File(Language::kC, "demo.h");
  EXPECT_THAT(h, HasSubstr("typedef struct demo_types_padded_t {"));
  EXPECT_THAT(h, HasSubstr("typedef demo_string_t demo_types_name_t;"));  // an alias
  EXPECT_THAT(h, HasSubstr("typedef uint8_t demo_types_level_t;"));
  EXPECT_THAT(h, HasSubstr("#define DEMO_TYPES_LEVEL_HIGH ((demo_types_level_t)1)"));
  EXPECT_THAT(h, HasSubstr("typedef uint16_t demo_types_bits_t;"));  // 9 flags: two bytes
  EXPECT_THAT(h, HasSubstr("#define DEMO_TYPES_BITS_NINE ((demo_types_bits_t)(1u << 8))"));
  EXPECT_THAT(h, HasSubstr("#define DEMO_TYPES_MIXED_TEXT 2"));
  // Anonymous types are named by their shape.
  EXPECT_THAT(h, HasSubstr("typedef struct demo_result_list_types_padded_string_t {"));
  EXPECT_THAT(h, HasSubstr("typedef struct demo_option_u64_t {"));
  // Keywords of C and C++ are escaped in fields.
  EXPECT_THAT(h, HasSubstr("uint32_t default_;"));
  EXPECT_THAT(h, HasSubstr("bool new_;"));
  EXPECT_THAT(h, HasSubstr("demo_string_t class_;"));
  // Free helpers exist for what owns memory, not for plain data.
  EXPECT_THAT(h, HasSubstr("void demo_result_list_types_padded_string_free("));
  EXPECT_THAT(h, HasSubstr("void demo_types_keywords_free(demo_types_keywords_t* v);"));
  EXPECT_THAT(h, HasSubstr("void demo_types_name_free(demo_types_name_t* v);"));
  EXPECT_THAT(h, Not(HasSubstr("demo_types_padded_free")));
  // `use types.{level as grade}` declares `grade` in the using interface.
  EXPECT_THAT(h, HasSubstr("typedef uint8_t demo_guest_grade_t;"));
  EXPECT_THAT(h, HasSubstr("#define DEMO_GUEST_GRADE_HIGH ((demo_guest_grade_t)1)"));
  EXPECT_THAT(h, HasSubstr("demo_guest_grade_t demo_exports_guest_rate(demo_guest_grade_t g);"));
}

TEST_F(BindgenTest, AddsPrintfStyleHelpersInTheHeaderOnly) {
  const std::string h = File(Language::kC, "demo.h");
  EXPECT_THAT(h,
              HasSubstr("static inline demo_string_t demo_string_format(const char* fmt, ...) {"));
  EXPECT_THAT(h, HasSubstr("demo_string_vformat(const char* fmt, va_list ap) {"));
  // The world uses list<u8> (blob.read), so bytes can be formatted too.
  EXPECT_THAT(h,
              HasSubstr("static inline demo_list_u8_t demo_list_u8_format(const char* fmt, ...)"));
  // An import taking one string and returning nothing gets a printf-style companion...
  EXPECT_THAT(h, HasSubstr("static inline void demo_api_notef(const char* fmt, ...) {"));
  EXPECT_THAT(h, HasSubstr("  demo_api_note(text);\n  demo_string_free(&text);\n"));
  // ...unless the world already has a function of that name, or the import takes more.
  EXPECT_THAT(h, HasSubstr("void demo_api_sayf(uint32_t n);"));
  EXPECT_THAT(h, Not(HasSubstr("void demo_api_sayf(const char* fmt")));
  EXPECT_THAT(h, Not(HasSubstr("demo_api_fetchf")));
  // Nothing in the source: a module that never formats links no stdio (and no WASI for it).
  EXPECT_THAT(File(Language::kC, "demo.c"), Not(HasSubstr("vsnprintf")));
  // The C++ header carries the same C layer.
  EXPECT_THAT(File(Language::kCpp, "demo.hpp"), HasSubstr("demo_api_notef(const char* fmt, ...)"));
}

TEST_F(BindgenTest, ChecksCanonicalLayoutsOfTrickyTypes) {
  const std::string h = File(Language::kC, "demo.h");
  // record { u8, u64, u16 }: b aligned to 8, c after it, size rounded up to 8.
  EXPECT_THAT(h, HasSubstr("DEMO_ABI_CHECK(demo_types_padded_t, 24, 8);"));
  EXPECT_THAT(h, HasSubstr("DEMO_ABI_CHECK_OFFSET(demo_types_padded_t, b, 8);"));
  EXPECT_THAT(h, HasSubstr("DEMO_ABI_CHECK_OFFSET(demo_types_padded_t, c, 16);"));
  // variant { u8, u64, string, none }: u8 tag, payload at 8 (u64), size 16.
  EXPECT_THAT(h, HasSubstr("DEMO_ABI_CHECK(demo_types_mixed_t, 16, 8);"));
  EXPECT_THAT(h, HasSubstr("DEMO_ABI_CHECK_OFFSET(demo_types_mixed_t, val, 8);"));
  // option<u64>: 16/8, payload at 8.
  EXPECT_THAT(h, HasSubstr("DEMO_ABI_CHECK(demo_option_u64_t, 16, 8);"));
  // result<list<padded>, string>: bool, then a union of two 8/4 lists at 4.
  EXPECT_THAT(h, HasSubstr("DEMO_ABI_CHECK(demo_result_list_types_padded_string_t, 12, 4);"));
  EXPECT_THAT(h,
              HasSubstr("DEMO_ABI_CHECK_OFFSET(demo_result_list_types_padded_string_t, val, 4);"));
  // Flags of 9 labels are 2 bytes; handles are i32.
  EXPECT_THAT(h, HasSubstr("DEMO_ABI_CHECK(demo_api_blob_own_t, 4, 4);"));
  EXPECT_THAT(h, HasSubstr("DEMO_ABI_CHECK(demo_string_t, 8, 4);"));
}

TEST_F(BindgenTest, ImportsUseUnversionedModulesAndCoreSignatures) {
  const std::string h = File(Language::kC, "demo.h");
  const std::string c = File(Language::kC, "demo.c");
  EXPECT_THAT(h, HasSubstr("uint64_t demo_api_scalar(uint32_t a, float b);"));
  EXPECT_THAT(h, HasSubstr("void demo_api_fetch(demo_types_name_t id, "
                           "demo_result_list_types_padded_string_t* ret);"));
  // Flat: (i32, f32) -> i64.
  EXPECT_THAT(c,
              HasSubstr("__attribute__((import_module(\"test:gen/api\"), import_name(\"scalar\"))) "
                        "extern int64_t demo_api_scalar_wasm_import(int32_t p0, float p1);"));
  // option<u64> is (i32, i64) in, and a return pointer out.
  EXPECT_THAT(
      c, HasSubstr("extern void demo_api_opt_wasm_import(int32_t p0, int64_t p1, int32_t p2);"));
  // 17 flat parameters travel in memory: one pointer, plus the return pointer.
  EXPECT_THAT(c, HasSubstr("extern void demo_api_spill_wasm_import(int32_t p0, int32_t p1);"));
  EXPECT_THAT(c, HasSubstr("uint8_t area_[136] __attribute__((aligned(8)));"));
  EXPECT_THAT(c, HasSubstr("memcpy(area_ + 128, &q, sizeof(uint8_t));"));
  // Flags lower to one i32.
  EXPECT_THAT(c, HasSubstr("extern int32_t demo_api_flagged_wasm_import(int32_t p0);"));
  // The world's own imports come from "$root".
  EXPECT_THAT(c, HasSubstr("import_module(\"$root\"), import_name(\"ping\")"));
}

TEST_F(BindgenTest, ExportsFollowTheCoreModuleNamingConvention) {
  const std::string h = File(Language::kC, "demo.h");
  const std::string c = File(Language::kC, "demo.c");
  EXPECT_THAT(h, HasSubstr("void demo_exports_guest_handle(demo_types_mixed_t* m, "
                           "demo_result_void_string_t* ret);"));
  EXPECT_THAT(h, HasSubstr("void demo_exports_run(demo_list_string_t* args);"));
  EXPECT_THAT(c, HasSubstr("export_name(\"test:gen/guest#handle\")"));
  EXPECT_THAT(c, HasSubstr("export_name(\"cabi_post_test:gen/guest#handle\")"));
  EXPECT_THAT(c, HasSubstr("export_name(\"run\")"));
  // A variant of u8/u64/string joins to (i32 tag, i64, i32): the u8 widens into the i64 slot.
  EXPECT_THAT(c, HasSubstr("demo_exports_guest_handle_wasm_export(int32_t c0_, int64_t c1_, "
                           "int32_t c2_)"));
  EXPECT_THAT(c, HasSubstr("(a0_).val.small = (uint8_t)(int32_t)c1_;"));
  EXPECT_THAT(c, HasSubstr("__attribute__((weak, export_name(\"cabi_realloc\")))"));
}

TEST_F(BindgenTest, ResourcesUseComponentModelNames) {
  const std::string h = File(Language::kC, "demo.h");
  const std::string c = File(Language::kC, "demo.c");
  // Imported: handle types, drop, methods, constructor, static.
  EXPECT_THAT(c,
              HasSubstr("import_module(\"test:gen/api\"), import_name(\"[resource-drop]blob\")"));
  EXPECT_THAT(c, HasSubstr("import_name(\"[method]blob.read\")"));
  EXPECT_THAT(c, HasSubstr("import_name(\"[constructor]blob\")"));
  EXPECT_THAT(c, HasSubstr("import_name(\"[static]blob.merge\")"));
  EXPECT_THAT(h, HasSubstr("void demo_api_method_blob_read(demo_api_blob_borrow_t self, "
                           "uint32_t n, demo_list_u8_t* ret);"));
  EXPECT_THAT(h, HasSubstr("demo_api_blob_own_t demo_api_constructor_blob(uint32_t size);"));
  // Exported: the [export] intrinsics, the destructor export and the method exports.
  EXPECT_THAT(c, HasSubstr("import_module(\"[export]test:gen/guest\"), "
                           "import_name(\"[resource-new]counter\")"));
  EXPECT_THAT(c, HasSubstr("import_name(\"[resource-rep]counter\")"));
  EXPECT_THAT(c, HasSubstr("export_name(\"test:gen/guest#[dtor]counter\")"));
  EXPECT_THAT(c, HasSubstr("export_name(\"test:gen/guest#[method]counter.increment\")"));
  EXPECT_THAT(h, HasSubstr("typedef demo_guest_counter_t* demo_guest_counter_borrow_t;"));
  EXPECT_THAT(h, HasSubstr("uint64_t demo_exports_guest_method_counter_increment("
                           "demo_guest_counter_borrow_t self, uint64_t by);"));
  EXPECT_THAT(h, HasSubstr("void demo_guest_counter_destructor(demo_guest_counter_t* rep);"));
}

TEST_F(BindgenTest, CppBindingsUseOwningAndBorrowedTypes) {
  const std::string h = File(Language::kCpp, "demo.hpp");
  EXPECT_THAT(h, HasSubstr("::theater_bindgen::Result<std::vector<::demo::types::Padded>, "
                           "std::string> Fetch(std::string_view id);"));
  EXPECT_THAT(h, HasSubstr("std::optional<uint64_t> Opt(const std::optional<uint64_t>& x);"));
  EXPECT_THAT(h, HasSubstr("enum class Level : uint8_t { kLow, kHigh };"));
  EXPECT_THAT(h, HasSubstr("class Blob {"));
  EXPECT_THAT(h, HasSubstr("static ::demo::api::Blob Create(uint32_t size);"));
  EXPECT_THAT(h, HasSubstr("std::vector<uint8_t> Read(uint32_t n) const;"));
  // Owned handles are moved in; borrowed ones are passed as the C borrow.
  EXPECT_THAT(h, HasSubstr("static ::demo::api::Blob Merge(::demo::api::Blob a, "
                           "demo_api_blob_borrow_t b);"));
  EXPECT_THAT(h, HasSubstr("namespace demo::exports::guest {"));
  EXPECT_THAT(h, HasSubstr("::theater_bindgen::Result<std::monostate, std::string> "
                           "Handle(::demo::types::Mixed m);"));
  EXPECT_THAT(h, HasSubstr("void Run(std::vector<std::string> args);"));
}

TEST_F(BindgenTest, CppExportsGetShortNamesBesideTheSpelledOutOnes) {
  const std::string h = File(Language::kCpp, "demo.hpp");
  // <Function>Result, and <Function><Param> for anonymous tuples, options, lists and results.
  EXPECT_THAT(h, HasSubstr("namespace demo::exports::guest {\n"
                           "using HandleResult = ::theater_bindgen::Result<std::monostate, "
                           "std::string>;\n"));
  EXPECT_THAT(h, HasSubstr("using RunArgs = std::vector<std::string>;"));
  EXPECT_THAT(h, Not(HasSubstr("using HandleM ")));  // a named type needs no second name
  EXPECT_THAT(h, HasSubstr("using CounterIncrementResult = uint64_t;"));
  // A parameter every export spells alike is also named once for the world's exports.
  EXPECT_THAT(h, HasSubstr("namespace demo::exports {\n// Parameters every export spells "
                           "alike.\nusing Args = std::vector<std::string>;\n"));
  // The declarations keep their spelled-out types, so definitions written either way match.
  EXPECT_THAT(h, HasSubstr("::theater_bindgen::Result<std::monostate, std::string> "
                           "Handle(::demo::types::Mixed m);"));
  // A stable name for the world's namespace, defined once per translation unit.
  EXPECT_THAT(h, HasSubstr("#ifndef THEATER_BINDGEN_WORLD_\n#define THEATER_BINDGEN_WORLD_ demo\n"
                           "namespace theater {\nnamespace world = ::demo;\n"));
  // Results are built from their parts.
  EXPECT_THAT(h, HasSubstr("requires kBuilds<T, A...>\n  static Result Ok(A&&... parts)"));
  // Nothing of test:gen has a default.
  EXPECT_THAT(File(Language::kCpp, "demo.cpp"), Not(HasSubstr("__attribute__((weak)) ::")));
}

TEST_F(BindgenTest, CppAliasesNeverHideAFunction) {
  Result<wit::Package> package = wit::ParseWitText(R"(package a:b;
interface i {
    f: func(x: list<u8>) -> list<u8>;
    f-result: func() -> u32;
}
world w { export i; }
)",
                                                   "clash.wit");
  ASSERT_TRUE(package.ok()) << package.status().ToString();
  Result<std::vector<GeneratedFile>> files = Generate(*package, "w", Language::kCpp);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  const std::string& h = (*files)[0].contents;
  EXPECT_THAT(h, HasSubstr("uint32_t FResult();"));
  EXPECT_THAT(h, Not(HasSubstr("using FResult =")));
  EXPECT_THAT(h, HasSubstr("using FX = std::vector<uint8_t>;"));
}

// The exports of Theater's handler interfaces, from the repository's own WIT.
class TheaterWitTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<wit::Package> package = LoadWit(std::string(THEATER_SOURCE_DIR) + "/wit");
    ASSERT_TRUE(package.ok()) << package.status().ToString();
    package_ = new wit::Package(std::move(package).value());
  }
  static void TearDownTestSuite() {
    delete package_;
    package_ = nullptr;
  }
  static std::string File(const std::string& world, size_t index) {
    Result<std::vector<GeneratedFile>> files = Generate(*package_, world, Language::kCpp);
    EXPECT_TRUE(files.ok()) << files.status().ToString();
    return files.ok() ? (*files)[index].contents : "";
  }
  static inline wit::Package* package_ = nullptr;
};

TEST_F(TheaterWitTest, HandlerExportsHaveShortNames) {
  const std::string h = File("http-actor", 0);
  EXPECT_THAT(h, HasSubstr("using HandleRequestResult = ::theater_bindgen::Result<std::tuple<std::"
                           "optional<std::vector<uint8_t>>, std::tuple<::http_actor::http_types::"
                           "HttpResponse>>, std::string>;"));
  EXPECT_THAT(h, HasSubstr("using HandleRequestParams = std::tuple<uint64_t, "
                           "::http_actor::http_types::HttpRequest>;"));
  EXPECT_THAT(h, HasSubstr("using InitResult = ::theater_bindgen::Result<std::tuple<std::optional<"
                           "std::vector<uint8_t>>>, std::string>;"));
  EXPECT_THAT(h, HasSubstr("using InitParams = std::tuple<std::string>;"));
  // Every handler takes `state: option<list<u8>>`; `params` differs, so it has no world name.
  EXPECT_THAT(h, HasSubstr("namespace http_actor::exports {\n// Parameters every export spells "
                           "alike.\nusing State = std::optional<std::vector<uint8_t>>;\n}"));
  EXPECT_THAT(h, HasSubstr("namespace world = ::http_actor;"));
}

TEST_F(TheaterWitTest, NotificationCallbacksHaveWeakDefaults) {
  const std::string h = File("http-actor", 0);
  const std::string s = File("http-actor", 1);
  EXPECT_THAT(h, HasSubstr("#handle-middleware\").\n// Optional: without it, the default in "
                           "http_actor.cpp (weak) lets every request through unchanged.\n"));
  EXPECT_THAT(s, HasSubstr("__attribute__((weak)) ::theater_bindgen::Result<std::tuple<std::"
                           "optional<std::vector<uint8_t>>, std::tuple<::http_actor::http_types::"
                           "MiddlewareResult>>, std::string> HandleMiddleware("));
  EXPECT_THAT(s, HasSubstr("  decision.proceed = true;\n"
                           "  decision.request = std::move(std::get<1>(params));\n"));
  for (const char* fn :
       {"HandleWebsocketConnect(", "HandleWebsocketMessage(", "HandleWebsocketDisconnect("}) {
    EXPECT_THAT(s, HasSubstr(std::string("std::string> ") + fn)) << fn;
  }
  EXPECT_THAT(s, HasSubstr("std::string> HandleWebsocketConnect(std::optional<std::vector<"
                           "uint8_t>> state, std::tuple<uint64_t, uint64_t, std::string, "
                           "std::optional<std::string>> /*params*/) {\n"));
  // What must answer has no default: init and handle-request stay the actor's to write.
  EXPECT_THAT(s, Not(HasSubstr("std::string> HandleRequest(")));
  EXPECT_THAT(s, Not(HasSubstr("std::string> Init(")));

  const std::string messages = File("message-server-actor", 1);
  for (const char* fn :
       {"HandleSend(", "HandleChannelOpen(", "HandleChannelMessage(", "HandleChannelClose("}) {
    EXPECT_THAT(messages, HasSubstr(std::string("std::string> ") + fn)) << fn;
  }
  EXPECT_THAT(messages, Not(HasSubstr("std::string> HandleRequest(")));
}

TEST(BindgenDefaults, OnlyTheShapeTheyWereWrittenForGetsADefault) {
  // A handle-middleware of another shape is the actor's to write.
  Result<wit::Package> package = wit::ParseWitText(R"(package theater:simple;
interface http-handlers {
    handle-middleware: func(state: option<list<u8>>, params: tuple<u64>) -> result<tuple<option<list<u8>>, tuple<u32>>, string>;
    handle-websocket-connect: func(state: option<list<u8>>, params: tuple<u64>) -> result<tuple<option<list<u8>>>, string>;
}
world w { export http-handlers; }
)",
                                                   "shape.wit");
  ASSERT_TRUE(package.ok()) << package.status().ToString();
  Result<std::vector<GeneratedFile>> files = Generate(*package, "w", Language::kCpp);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  const std::string& s = (*files)[1].contents;
  EXPECT_THAT(s, Not(HasSubstr("std::string> HandleMiddleware(")));
  EXPECT_THAT(s, HasSubstr("std::string> HandleWebsocketConnect("));
}

// TypeScript declarations follow componentize-js's value mapping (ts_generator.h); `tsc` checks
// the ones of Theater's worlds in the JavaScript template tests (cli_js_e2e_test.cc).
TEST_F(BindgenTest, TypeScriptDeclaresImportedModulesAndExportedInterfaces) {
  const std::string ts = File(Language::kTypeScript, "demo.d.ts");
  EXPECT_THAT(ts, HasSubstr("// Generated by `theater bindgen --lang ts` from WIT world "
                            "test:gen/demo@1.2.3."));
  // Imports: a module per interface, by its full name; functions in lowerCamelCase.
  EXPECT_THAT(ts, HasSubstr("declare module 'test:gen/api@1.2.3' {"));
  EXPECT_THAT(ts, HasSubstr("  export function scalar(a: number, b: number): bigint;"));
  // result<T, E> returned is T (an err is thrown); a used type is the declaring module's.
  EXPECT_THAT(ts, HasSubstr("  export function fetch(id: import('test:gen/types@1.2.3').Name): "
                            "Array<import('test:gen/types@1.2.3').Padded>;"));
  EXPECT_THAT(ts, HasSubstr("  export function opt(x: bigint | undefined): bigint | undefined;"));
  // Types: records and flags as interfaces, variants as tagged unions, enums as string unions.
  EXPECT_THAT(ts, HasSubstr("declare module 'test:gen/types@1.2.3' {"));
  EXPECT_THAT(ts, HasSubstr("  export interface Padded {\n    a: number;\n    b: bigint;\n"
                            "    c: number;\n  }"));
  EXPECT_THAT(ts, HasSubstr("  export type Mixed = { tag: 'small', val: number } | { tag: 'wide', "
                            "val: bigint } | { tag: 'text', val: string } | { tag: 'none' };"));
  EXPECT_THAT(ts, HasSubstr("  export type Level = 'low' | 'high';"));
  EXPECT_THAT(ts, HasSubstr("    one?: boolean;"));
  EXPECT_THAT(ts, HasSubstr("  export interface Keywords {\n    default: number;\n    new: "
                            "boolean;\n    class: string;\n  }"));
  // Exports: interfaces in the world's namespace, which the actor's exported objects implement.
  EXPECT_THAT(ts, HasSubstr("declare namespace Demo {"));
  EXPECT_THAT(ts, HasSubstr("  export type Grade = 'low' | 'high';\n  export interface Guest {\n"
                            "    handle(m: import('test:gen/types@1.2.3').Mixed): void;\n"
                            "    rate(g: Grade): Grade;\n  }"));
  // The world's own exported function is a function type; its own imports are not declared.
  EXPECT_THAT(ts, HasSubstr("  export type Run = (args: Array<string>) => void;"));
  EXPECT_THAT(ts, Not(HasSubstr("ping")));
  // Resources are not modelled.
  EXPECT_THAT(ts, Not(HasSubstr("class Blob")));
}

// The Rust bindings are compiled by rustc and run in the tests of tests/bindgen (the
// kitchen-sink world, and an actor the runtime spawns); these check their shape.
TEST_F(BindgenTest, RustBindingsAreOneModuleWithTraitsToImplement) {
  const std::string rs = File(Language::kRust, "demo.rs");
  EXPECT_THAT(rs,
              HasSubstr("// Generated by `theater bindgen` from WIT world test:gen/demo@1.2.3"));
  // Types: structs, enums and flags with Canon layouts computed from the WIT.
  EXPECT_THAT(rs, HasSubstr("pub struct Padded {\n        pub a: u8,\n        pub b: u64,\n"
                            "        pub c: u16,\n    }"));
  EXPECT_THAT(rs, HasSubstr("impl __rt::Canon for Padded {\n        const SIZE: usize = 24;\n"
                            "        const ALIGN: usize = 8;"));
  EXPECT_THAT(rs, HasSubstr("pub enum Mixed {\n        Small(u8),\n        Wide(u64),\n"
                            "        Text(String),\n        None_,\n    }"));  // not std's None
  EXPECT_THAT(rs, HasSubstr("pub const NINE: Bits = Bits { bits: 1 << 8 };"));
  EXPECT_THAT(rs, HasSubstr("pub default: u32,"));  // no Rust keyword
  EXPECT_THAT(rs, HasSubstr("pub type Name = String;"));
  // Imports: plain functions with borrowed parameters, by their unversioned module.
  EXPECT_THAT(rs, HasSubstr("pub fn scalar(a: u32, b: f32) -> u64 {"));
  EXPECT_THAT(rs, HasSubstr("pub fn fetch(id: &str) -> Result<Vec<super::types::Padded>, String>"));
  EXPECT_THAT(rs, HasSubstr("pub fn opt(x: Option<u64>) -> Option<u64> {"));
  EXPECT_THAT(rs, HasSubstr("#[link(wasm_import_module = \"test:gen/api\")]"));
  // Imported resources are handle types with methods; a constructor is `new`.
  EXPECT_THAT(rs, HasSubstr("pub fn new(size: u32) -> Blob {"));
  EXPECT_THAT(rs, HasSubstr("pub fn read(&self, n: u32) -> Vec<u8> {"));
  EXPECT_THAT(rs, HasSubstr("pub fn merge(a: Blob, b: &Blob) -> Blob {"));
  // Exports: a Guest trait per interface, one per exported resource, one for the world.
  EXPECT_THAT(rs, HasSubstr("pub trait GuestCounter: 'static {\n            fn new(start: u64) "
                            "-> Self;\n            fn increment(&self, by: u64) -> u64;"));
  EXPECT_THAT(rs, HasSubstr("type Counter: GuestCounter;"));
  // `use types.{level as grade}` declares the renamed copy where it is used, named without a path.
  EXPECT_THAT(rs, HasSubstr("fn rate(g: Grade) -> Grade;"));
  EXPECT_THAT(rs, HasSubstr("fn handle(m: super::super::types::Mixed) -> Result<(), String>;"));
  EXPECT_THAT(rs, HasSubstr("pub trait Guest {\n    fn run(args: Vec<String>);\n}"));
  // The macro exports every core function by the component model's names.
  EXPECT_THAT(rs, HasSubstr("macro_rules! export_demo {"));
  EXPECT_THAT(rs, HasSubstr("#[export_name = \"test:gen/guest#handle\"]"));
  EXPECT_THAT(rs, HasSubstr("#[export_name = \"test:gen/guest#[dtor]counter\"]"));
  EXPECT_THAT(rs, HasSubstr("#[export_name = \"run\"]"));
}

TEST(BindgenErrors, RustRejectsBorrowsInsideOtherTypes) {
  Result<wit::Package> package = wit::ParseWitText(R"(package a:b;
interface i {
    resource r;
    f: func(x: list<borrow<r>>);
}
world w { import i; }
)",
                                                   "borrows.wit");
  ASSERT_TRUE(package.ok()) << package.status().ToString();
  Result<std::vector<GeneratedFile>> rust = Generate(*package, "w", Language::kRust);
  ASSERT_FALSE(rust.ok());
  EXPECT_EQ(rust.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(rust.status().message(), HasSubstr("borrow<r> inside another type"));
  EXPECT_TRUE(Generate(*package, "w", Language::kC).ok());  // C has a representation
}

TEST_F(BindgenTest, ChoosesTheOnlyWorldOrAsksForOne) {
  Result<std::vector<GeneratedFile>> ambiguous = Generate(package_, "", Language::kC);
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_EQ(ambiguous.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(ambiguous.status().message(), HasSubstr("choose one with --world (demo, other)"));

  Result<std::vector<GeneratedFile>> unknown = Generate(package_, "nope", Language::kC);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), HasSubstr("has no world 'nope' (it has: demo, other)"));

  Result<wit::Package> single =
      wit::ParseWitText("package a:b;\nworld only { import f: func(); }\n", "single.wit");
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  Result<std::vector<GeneratedFile>> files = Generate(*single, "", Language::kC);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ((*files)[0].name, "only.h");
}

TEST(BindgenErrors, RejectsWitWithoutACRepresentation) {
  Result<wit::Package> package =
      wit::ParseWitText("package a:b;\nworld w { import f: func(x: tuple<>); }\n", "empty.wit");
  if (package.ok()) {  // the parser accepts the empty tuple; bindgen cannot represent it
    Result<std::vector<GeneratedFile>> files = Generate(*package, "w", Language::kC);
    ASSERT_FALSE(files.ok());
    EXPECT_EQ(files.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(files.status().message(), HasSubstr("empty tuple"));
  } else {  // or the parser rejects it first
    EXPECT_THAT(package.status().code(),
                ::testing::AnyOf(StatusCode::kParseError, StatusCode::kValidationError));
  }
}

TEST(BindgenErrors, InterfacesOfUnloadedPackagesAreNamed) {
  Result<wit::Package> package =
      wit::ParseWitText("package a:b;\nworld w { import wasi:io/streams@0.2.0; }\n", "foreign.wit");
  ASSERT_TRUE(package.ok()) << package.status().ToString();
  Result<std::vector<GeneratedFile>> files = Generate(*package, "w", Language::kC);
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(files.status().message(), HasSubstr("wasi:io/streams@0.2.0"));
}

TEST(BindgenErrors, LoadWitReportsPathsAndPositions) {
  Result<wit::Package> missing = LoadWit("/nonexistent/dir/x.wit");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/dir/x.wit"));

  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("bindgen-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path bad = dir / "bad.wit";
  std::ofstream(bad) << "package a:b;\n\ninterface i {\n  f: func(x: nosuchtype);\n}\n";
  Result<wit::Package> parsed = LoadWit(bad);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().ToString(), HasSubstr("bad.wit:4:"));
  // A directory is parsed as one package.
  std::ofstream(dir / "bad.wit") << "package a:b;\nworld w { import f: func(); }\n";
  Result<wit::Package> from_dir = LoadWit(dir);
  EXPECT_TRUE(from_dir.ok()) << from_dir.status().ToString();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace theater::bindgen
