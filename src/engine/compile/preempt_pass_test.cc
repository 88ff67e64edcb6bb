// Theater: a WebAssembly actor runtime.
//
// The preemption pass over hand-written wasm2c-style C (exact output, lines it must leave alone:
// block labels, switch cases, comments and literals that look like labels) and over what the real
// wasm2c writes for a test actor.
#include "engine/compile/preempt_pass.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/compile/subprocess.h"
#include "engine/compile/wasm_inspect.h"

namespace theater::engine {
namespace {

namespace fs = std::filesystem;

TEST(PreemptPassTest, ChecksEveryFunctionEntryAndLoopHead) {
  // Jumps, switch cases and block labels: the pass leaves them as they are.
  const std::string kRest =
      "      if (w2c_i0) {goto w2c_L1;}\n"
      "    if (w2c_i0) {goto w2c_L0;}\n"
      "  switch (w2c_i0) {\n"
      "    case 0: goto w2c_B1;\n"
      "    default: goto w2c_B1;\n"
      "  }\n"
      "  w2c_B1:;\n"
      "  FUNC_EPILOGUE;\n"
      "  return w2c_i0;\n"
      "}\n";
  const std::string in =
      "static u32 w2c_f(Z_mod_instance_t* instance, u32 w2c_p0) {\n"
      "  u32 w2c_l1 = 0;\n"
      "  FUNC_PROLOGUE;\n"
      "  u32 w2c_i0;\n"
      "  w2c_L0: \n"
      "    w2c_i0 = w2c_p0;\n"
      "    w2c_L1: \n" +
      kRest;
  const std::string expected =
      "static u32 w2c_f(Z_mod_instance_t* instance, u32 w2c_p0) {\n"
      "  u32 w2c_l1 = 0;\n"
      "  FUNC_PROLOGUE; WASM_RT_PREEMPT_CHECK();\n"
      "  u32 w2c_i0;\n"
      "  w2c_L0: WASM_RT_PREEMPT_CHECK();\n"
      "    w2c_i0 = w2c_p0;\n"
      "    w2c_L1: WASM_RT_PREEMPT_CHECK();\n" +
      kRest;
  auto out = InsertPreemptChecks(in, 1);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->source, expected);
  EXPECT_EQ(out->function_checks, 1u);
  EXPECT_EQ(out->loop_checks, 2u);
}

TEST(PreemptPassTest, LeavesCommentsAndLiteralsAlone) {
  // wasm2c copies export names, newlines included, into comments: a name can make a line that
  // looks like a label or a prologue. Such lines are not code and must stay as they are.
  const std::string in =
      "/* export: 'a\n"
      "  evil: \n"
      "  FUNC_PROLOGUE;\n"
      "' */\n"
      "#define X \"/* not a comment\"\n"
      "  w2c_L7: \n"
      "// a line comment \\\n"
      "  continued: \n"
      "static const char* s = \"a\\\n"
      "  in_string: \n"
      "\";\n"
      "  w2c_L8: \n"
      "  FUNC_PROLOGUE;\n";
  auto out = InsertPreemptChecks(in, 1);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->loop_checks, 2u);  // w2c_L7 and w2c_L8 only
  EXPECT_EQ(out->function_checks, 1u);
  EXPECT_NE(out->source.find("  evil: \n"), std::string::npos);
  EXPECT_NE(out->source.find("'a\n  evil: \n  FUNC_PROLOGUE;\n'"), std::string::npos);
  EXPECT_NE(out->source.find("  continued: \n"), std::string::npos);
  EXPECT_NE(out->source.find("  in_string: \n"), std::string::npos);
  EXPECT_NE(out->source.find("  w2c_L7: WASM_RT_PREEMPT_CHECK();\n"), std::string::npos);
  EXPECT_NE(out->source.find("  w2c_L8: WASM_RT_PREEMPT_CHECK();\n"), std::string::npos);
}

TEST(PreemptPassTest, OnlyExactLinesMatch) {
  const std::string in =
      "FUNC_PROLOGUE;\n"     // not indented as wasm2c writes it
      "  FUNC_PROLOGUE; \n"  // trailing space
      "w2c_L0: \n"           // a label at column 0 is not one of a function body's loops
      "  w2c_L1:\n"          // no space after the colon
      "  w2c_L2: x = 1;\n"   // a statement on the same line
      "  default: \n"        // never a loop label
      "  9abc: \n"           // not an identifier
      "  w2c_L3: ";          // the last line, without a newline
  auto out = InsertPreemptChecks(in, 0);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->function_checks, 0u);
  EXPECT_EQ(out->loop_checks, 1u);
  EXPECT_EQ(out->source, in + "WASM_RT_PREEMPT_CHECK();");
}

TEST(PreemptPassTest, RefusesOutputWithTheWrongNumberOfFunctions) {
  auto out = InsertPreemptChecks("  FUNC_PROLOGUE;\n", 2);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInternal);
  EXPECT_NE(out.status().message().find("found 1 function prologues"), std::string::npos)
      << out.status().message();
  EXPECT_NE(out.status().message().find("defines 2 functions"), std::string::npos);
}

TEST(PreemptPassTest, InstrumentsWhatWasm2cWrites) {
  // The fiber test guest has loops (wait-loop, wait-then-spin) and recursion (deep).
  const fs::path wasm = fs::path(THEATER_TEST_ACTOR_DIR) / "fiber_guest.wasm";
  std::ifstream file(wasm, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)), {});
  ASSERT_GT(bytes.size(), 100u) << wasm << " missing; build target wasm_fiber_guest";
  auto info = InspectWasmModule(bytes);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_GT(info->defined_functions, 5u);

  std::string templ = (fs::temp_directory_path() / "theater-preempt-test-XXXXXX").string();
  ASSERT_NE(::mkdtemp(templ.data()), nullptr);
  const fs::path dir = templ;
  auto wasm2c = FindExecutable("wasm2c");
  ASSERT_TRUE(wasm2c.ok()) << wasm2c.status().ToString();
  auto run = RunSubprocess({wasm2c->string(), wasm.string(), "-n", "mod", "-o", "mod.c"}, dir,
                           std::chrono::milliseconds(60000));
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_TRUE(run->ok()) << run->output;
  std::ifstream c_file(dir / "mod.c");
  const std::string c((std::istreambuf_iterator<char>(c_file)), {});
  fs::remove_all(dir);

  auto out = InsertPreemptChecks(c, info->defined_functions);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->function_checks, info->defined_functions);
  // Every loop wasm2c opened got a check, and nothing else changed.
  size_t loops = 0;
  for (size_t at = 0; (at = c.find(": \n", at)) != std::string::npos; ++at) ++loops;
  EXPECT_GE(out->loop_checks, 2u);
  EXPECT_EQ(out->loop_checks, loops);
  std::string stripped = out->source;
  const std::string prologue_check = "FUNC_PROLOGUE; WASM_RT_PREEMPT_CHECK();";
  for (size_t at; (at = stripped.find(prologue_check)) != std::string::npos;) {
    stripped.replace(at, prologue_check.size(), "FUNC_PROLOGUE;");
  }
  const std::string loop_check = "WASM_RT_PREEMPT_CHECK();";
  for (size_t at; (at = stripped.find(loop_check)) != std::string::npos;) {
    stripped.erase(at, loop_check.size());
  }
  EXPECT_TRUE(stripped == c) << "the pass changed more than it inserted";
}

}  // namespace
}  // namespace theater::engine
