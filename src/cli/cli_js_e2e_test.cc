// Theater: a WebAssembly actor runtime.
//
// Actors in JavaScript and TypeScript, end to end, the way a user meets them: `theater create
// --lang js|ts` for every template, `theater build` (npm ci, esbuild, tsc, componentize-js: the
// real tools from the npm registry), then each actor run by the real `theater` binary, in-process
// or on a real `theater server`, exchanging messages with the CLI and with a C actor.
//
// Costs, and how they are kept down:
//   - npm ci installs about 400 MB per language; the projects of one language share one
//     node_modules (a link to a project built once per build directory, under a file lock since
//     ctest runs tests in parallel).
//   - Each world's JavaScript engine is compiled once, ahead, from a stub actor of the world
//     (`theater compile --engine js`), into one cache (kTestHome) that the JavaScript and
//     TypeScript actors of a world (and later runs, and the other build of a CI run) share; it
//     is compiled by the fast tier only ($THEATER_TIER=fast, docs/compile-cache.md "Tiers"):
//     about 10 s for the first world (8 of them wasm2c's), a few for each other world, which
//     links the engine's units from the first ("Unit objects"). What these tests check does not
//     depend on how the engine is optimised; the tiers' agreement is tier_test's.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "cli/cli_test_child.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

using namespace theater::cli_testing;  // the children, fixtures and checks of cli_test_child.h

// The home (compile cache, shared npm packages): $THEATER_JS_TEST_HOME when set, so that the
// release and sanitizer builds of one CI run share one compile of each engine (scripts/test.sh),
// else the build's own test home.
const fs::path kTestHome = [] {
  const char* shared = std::getenv("THEATER_JS_TEST_HOME");
  return shared != nullptr && *shared != '\0' ? fs::path(shared)
                                              : fs::path(THEATER_BUILD_DIR) / "test-home";
}();

class CliJsTest : public theater::cli_testing::ServerFixture {
 protected:
  CliJsTest() : ServerFixture("theater-cli-js") {}

  std::map<std::string, std::string> Env() const override {
    auto env = BaseEnv(dir_, address_);
    env["THEATER_HOME"] = kTestHome.string();
    // The fast tier, and no optimized compile behind it (see the file comment).
    env["THEATER_TIER"] = "fast";
    return env;
  }

  // The node_modules every project of `lang` links to: installed by building a project of that
  // language (npm ci), under a lock against parallel tests, and installed again when the
  // templates' package-lock.json is no longer the one it was installed from (the home may be
  // kept between runs, scripts/test.sh: a changed lock must not meet old packages).
  static fs::path SharedNodeModules(const std::string& lang) {
    const fs::path root = kTestHome / "js-packages";
    const fs::path project = root / ("install-" + lang);
    static std::set<std::string> checked;  // by this process (a test binary's tests run in turn)
    if (checked.count(lang) != 0) return project / "node_modules";
    checked.insert(lang);
    fs::create_directories(root);
    const int lock = ::open((root / (lang + ".lock")).c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    EXPECT_GE(lock, 0);
    ::flock(lock, LOCK_EX);
    auto env = BaseEnv(root, "");
    env["THEATER_HOME"] = kTestHome.string();
    auto create = [&](const fs::path& project) {
      fs::remove_all(project);
      Finished created =
          Child({"create", project.filename().string(), "--lang", lang, "-o", root.string()}, env,
                "")
              .Finish();
      EXPECT_EQ(created.code, 0) << created.err;
    };
    // The lock file this build's templates write (a project is created in a moment).
    const fs::path current = root / ("current-" + lang);
    create(current);
    const fs::path installed = project / "node_modules" / ".theater-lock";
    if (!fs::exists(installed) ||
        ReadFileText(installed) != ReadFileText(current / "package-lock.json")) {
      create(project);
      Finished built = Child({"build", project.string()}, env, "").Finish(15min);
      EXPECT_EQ(built.code, 0) << built.err;
      // A project without node_modules links the packages every project with its lock file
      // shares ($THEATER_HOME/js-packages/<digest>/), installed by the first build that needed
      // them: then npm ci's line says how many packages it took and how long.
      EXPECT_THAT(built.err, HasSubstr("  node_modules: the packages shared by projects with "
                                       "this lock file, in " +
                                       (kTestHome / "js-packages").string()));
      EXPECT_TRUE(fs::is_symlink(project / "node_modules"));
      if (built.err.find("  npm ci (") != std::string::npos) {
        EXPECT_THAT(built.err, HasSubstr(" packages in ")) << built.err;
      }
    }
    ::close(lock);
    return project / "node_modules";
  }

  // Creates and builds `name` from `tmpl` in `lang`; returns its directory.
  fs::path CreateAndBuild(const std::string& name, const std::string& tmpl,
                          const std::string& lang) {
    Finished created =
        Run({"create", name, "--template", tmpl, "--lang", lang, "-o", dir_.string()});
    EXPECT_EQ(created.code, 0) << created.err;
    // What the first run will cost, and how to prepare it, said before it happens.
    EXPECT_THAT(created.out, HasSubstr("compiles the JavaScript engine: about 10 s"));
    EXPECT_THAT(created.out, HasSubstr("theater compile --engine js --world "));
    const fs::path project = dir_ / name;
    fs::create_directory_symlink(SharedNodeModules(lang), project / "node_modules");
    Finished built = Run({"build", project.string()});
    EXPECT_EQ(built.code, 0) << name << ": " << built.err;
    EXPECT_THAT(built.out, HasSubstr(name + ".wasm"));
    EXPECT_THAT(built.err, Not(HasSubstr("npm ci"))) << "the shared packages are installed";
    // The driver's stages, each with its time; its markers are not shown as they are.
    EXPECT_THAT(built.err, HasSubstr("  bundle (esbuild) in ")) << built.err;
    // (From nothing, or with the spliced engine an earlier build kept: each timed apart.)
    EXPECT_THAT(built.err, ::testing::AnyOf(HasSubstr("  componentize-js in "),
                                            HasSubstr("  componentize-js (the spliced engine "
                                                      "kept) in ")))
        << built.err;
    EXPECT_THAT(built.err, Not(HasSubstr("theater-build-stage:"))) << built.err;
    if (lang == "ts") EXPECT_THAT(built.err, HasSubstr("  type check (tsc) in ")) << built.err;
    EXPECT_TRUE(fs::exists(project / (name + ".wasm"))) << name;
    ExpectLeanBindings(project / (name + ".wasm"), built.err);
    // The world's engine compiled ahead, as a server's user would (a `theater start` does not
    // wait minutes for a compile): from a stub actor of the world, which shares its code with
    // every actor of the world (`theater compile --engine js`).
    PrepareEngine(project);
    return project;
  }

  // The build removed componentize-js's call tracing from the glue (templates/js/build.mjs,
  // leanBindings). The glue's source stays in the component's snapshot, so a trace statement
  // left in it would show there.
  static void ExpectLeanBindings(const fs::path& component, const std::string& build_err) {
    EXPECT_THAT(build_err, Not(HasSubstr("call tracing was not removed")));
    EXPECT_THAT(ReadFileText(component), Not(HasSubstr("_debugLog('[Instruction::")))
        << component;
  }

  // `theater compile --engine js --world <the project's world> --wit <its wit/>`, its stub
  // linked to the shared npm packages.
  void PrepareEngine(const fs::path& project) {
    const std::string package = ReadFileText(project / "package.json");
    const std::string key = "\"world\": \"";
    const size_t at = package.find(key);
    ASSERT_NE(at, std::string::npos) << package;
    const std::string world =
        package.substr(at + key.size(), package.find('"', at + key.size()) - at - key.size());
    const fs::path stub = kTestHome / "js-engine" / world;
    std::error_code ec;
    fs::create_directories(stub, ec);
    fs::create_directory_symlink(SharedNodeModules("js"), stub / "node_modules", ec);  // once
    Finished compiled =
        Run({"compile", "--engine", "js", "--world", world, "--wit", (project / "wit").string(),
             "--tier", "fast"});
    EXPECT_EQ(compiled.code, 0) << world << ": " << compiled.err;
    EXPECT_THAT(compiled.out, HasSubstr("compiled component " + (stub / "engine.wasm").string()));
    EXPECT_THAT(compiled.err, Not(HasSubstr("npm ci"))) << "the shared packages are linked";
  }

  // The compile cache is the shared one, so that a world's engine is compiled once per run.
  void StartServer(std::vector<std::string> more_args = {}) {
    more_args.insert(more_args.begin(), {"--cache-dir", (kTestHome / "cache").string()});
    ServerFixture::StartServer(more_args);
  }
};

TEST_F(CliJsTest, BasicTemplateRunsInJavaScriptAndTypeScript) {
  for (const std::string lang : {"js", "ts"}) {
    const fs::path project = CreateAndBuild("basic-" + lang, "basic", lang);
    Finished ran = Run({"run", (project / "manifest.toml").string()});
    EXPECT_EQ(ran.code, 0) << ran.out << ran.err;
    EXPECT_THAT(ran.out, HasSubstr("Hello from basic-" + lang));
    EXPECT_THAT(ran.out, HasSubstr("started 1 time(s)"));
    EXPECT_THAT(ran.out, HasSubstr("chain verified"));
    EXPECT_THAT(ran.out, HasSubstr("\"starts\": 1"));
    // Neither actor compiles anything: they share the engine compiled from the world's stub.
    EXPECT_THAT(ran.err, Not(HasSubstr("compiling"))) << ran.err;
  }
  // A user's first run, tiered: the actor runs from the fast tier at once, the optimized compile
  // starts behind it, and stops (saying so) when the run ends.
  std::map<std::string, std::string> env = Env();
  env["THEATER_TIER"] = "tiered";
  Finished tiered =
      Child({"run", (dir_ / "basic-js" / "manifest.toml").string()}, env, "").Finish(10min);
  EXPECT_EQ(tiered.code, 0) << tiered.out << tiered.err;
  EXPECT_THAT(tiered.out, HasSubstr("Hello from basic-js"));
  EXPECT_THAT(tiered.err, HasSubstr("runs from the fast tier; its optimized compile goes on in "
                                    "the background"));
  EXPECT_THAT(tiered.err, HasSubstr("the optimized compile of basic-js.wasm core module 0 stopped "
                                    "with this process"));
  // A rebuild after an edit reuses what does not depend on the actor's code (the spliced engine,
  // and the component the snapshot goes into: templates/js/build.mjs, withBuildCache), and the
  // actor it makes runs the edit, still without compiling.
  const fs::path edited = dir_ / "basic-js";
  std::string source = ReadFileText(edited / "src" / "actor.js");
  const size_t hello = source.find("Hello from");
  ASSERT_NE(hello, std::string::npos) << source;
  source.replace(hello, 10, "Edited hello from");
  std::ofstream(edited / "src" / "actor.js", std::ios::trunc) << source;
  std::map<std::string, std::string> report = Env();
  report["THEATER_JS_BUILD_CACHE_REPORT"] = "1";
  Finished rebuilt = Child({"build", edited.string()}, report, "").Finish(10min);
  ASSERT_EQ(rebuilt.code, 0) << rebuilt.err;
  EXPECT_THAT(rebuilt.err, HasSubstr("theater-build-cache: splice kept, component kept"));
  // Its stage is timed apart from a build from nothing, for the next one's estimate.
  EXPECT_THAT(rebuilt.err, HasSubstr("  componentize-js (the spliced engine kept) in "))
      << rebuilt.err;
  EXPECT_THAT(rebuilt.err, Not(HasSubstr("theater-build-stage-is:"))) << rebuilt.err;
  EXPECT_THAT(ReadFileText(kTestHome / "js-stage-times"),
              HasSubstr("componentize-js (the spliced engine kept)\t"));
  ExpectLeanBindings(edited / "basic-js.wasm", rebuilt.err);
  Finished edited_run = Run({"run", (edited / "manifest.toml").string()});
  EXPECT_EQ(edited_run.code, 0) << edited_run.out << edited_run.err;
  EXPECT_THAT(edited_run.out, HasSubstr("Edited hello from basic-js"));
  EXPECT_THAT(edited_run.out, HasSubstr("chain verified"));
  EXPECT_THAT(edited_run.err, Not(HasSubstr("compiling"))) << edited_run.err;
  // --debug builds, saying that a JavaScript actor has no other build.
  Finished debug = Run({"build", "--debug", edited.string()});
  ASSERT_EQ(debug.code, 0) << debug.err;
  EXPECT_THAT(debug.err, HasSubstr("--debug builds the same: the bundle is never minified"));
}

TEST_F(CliJsTest, MessageServerTemplateAnswersTheCliAndACActor) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::map<std::string, std::string> ids;
  for (const std::string lang : {"js", "ts"}) {
    const fs::path project = CreateAndBuild("echo-" + lang, "message-server", lang);
    const std::string id = Start(project / "manifest.toml");
    ASSERT_FALSE(id.empty());
    ids[lang] = id;
    EXPECT_EQ(Request(id, "ping"), "pong") << lang;
    Finished sent = Run({"message", id, "hello"});
    EXPECT_EQ(sent.code, 0) << sent.err;
    // ping, hello and this request itself
    EXPECT_EQ(Request(id, "count"), "3") << lang;
    EXPECT_EQ(Request(id, "what"), "you said: what") << lang;
    // Channels: the JavaScript actor sends on the channel from its handler.
    Finished channel = Child({"channel", "open", id}, Env(), "one\ntwo\n").Finish(60s);
    EXPECT_EQ(channel.code, 0) << channel.err;
    EXPECT_THAT(channel.out, HasSubstr("echo: one"));
    EXPECT_THAT(channel.out, HasSubstr("echo: two"));
    Finished events = Run({"events", id});
    EXPECT_EQ(events.code, 0) << events.err;
    EXPECT_THAT(events.out, HasSubstr("send-on-channel"));
  }
  // A C actor (tests/actors/messenger.c) requests from the JavaScript one and relays its reply.
  const std::string c_actor = StartMessenger();
  ASSERT_FALSE(c_actor.empty());
  EXPECT_EQ(Request(c_actor, "request:" + ids["ts"] + ":ping"), "pong");
  // Four requests, a message and two channel messages before this request.
  EXPECT_EQ(Request(c_actor, "request:" + ids["js"] + ":count"), "7");

  // The other way: a JavaScript actor requests from the C one. `request` suspends the
  // JavaScript call until the reply comes (the worker serves others meanwhile); a failed one
  // throws, with the host's error.
  Finished created = Run({"create", "asker", "--template", "message-server", "--lang", "js",
                          "-o", dir_.string()});
  ASSERT_EQ(created.code, 0) << created.err;
  const fs::path asker = dir_ / "asker";
  std::ofstream(asker / "src" / "actor.js")
      << "import { request } from 'theater:simple/message-server-host';\n"
         "const encoder = new TextEncoder();\n"
         "const decoder = new TextDecoder();\n"
         "export const actor = { init: (state) => [state] };\n"
         "export const messageServerClient = {\n"
         "  handleSend: (state) => [state],\n"
         "  handleRequest(state, [_id, message]) {\n"
         "    const [target, ...rest] = decoder.decode(message).split(':');\n"
         "    let reply;\n"
         "    try {\n"
         "      reply = 'c said: ' + decoder.decode(request(target, encoder.encode(rest.join(':'))));\n"
         "    } catch (e) {\n"
         "      reply = 'failed: ' + (e.payload ?? e.message);\n"
         "    }\n"
         "    return [state, [encoder.encode(reply)]];\n"
         "  },\n"
         "  handleChannelOpen: (state) => [state, [{ accepted: false }]],\n"
         "  handleChannelMessage: (state) => [state],\n"
         "  handleChannelClose: (state) => [state],\n"
         "};\n";
  fs::create_directory_symlink(SharedNodeModules("js"), asker / "node_modules");
  Finished built = Run({"build", asker.string()});
  ASSERT_EQ(built.code, 0) << built.err;
  const std::string js_asker = Start(asker / "manifest.toml");
  ASSERT_FALSE(js_asker.empty());
  EXPECT_EQ(Request(js_asker, c_actor + ":echo:from javascript"), "c said: from javascript");
  EXPECT_THAT(Request(js_asker, "no-such-actor:echo:x"), HasSubstr("failed: "));
}

TEST_F(CliJsTest, SupervisorTemplateSpawnsListsAndStopsAJavaScriptChild) {
  ASSERT_NO_FATAL_FAILURE(StartServer({"--spawn-root", dir_.string()}));
  // The child is a project of its own beside the supervisor's, so the operator lets actors
  // start what lies there (--spawn-root): an actor's spawn reads only its own grant otherwise.
  const fs::path child = CreateAndBuild("child-js", "basic", "js");
  for (const std::string lang : {"js", "ts"}) {
    const fs::path project = CreateAndBuild("boss-" + lang, "supervisor", lang);
    const std::string id = Start(project / "manifest.toml");
    ASSERT_FALSE(id.empty());
    const std::string spawned = Request(id, "spawn:" + (child / "manifest.toml").string());
    ASSERT_EQ(spawned.size(), 36u) << lang << ": " << spawned;  // a UUID
    EXPECT_EQ(Request(id, "list"), spawned) << lang;
    EXPECT_EQ(Request(id, "stop:" + spawned), "ok") << lang;
    EXPECT_EQ(Request(id, "list"), "") << lang;
    // A host error comes back to JavaScript as an exception, which the actor reports.
    EXPECT_THAT(Request(id, "stop:no-such-child"), HasSubstr("error: ")) << lang;
    Finished tree = Run({"events", id});
    EXPECT_THAT(tree.out, HasSubstr("spawned child " + spawned)) << lang;
    ExpectSupervisorRestartsAFailedChild(id, lang);
  }
}

TEST_F(CliJsTest, HttpServerTemplateServesRequests) {
  for (const std::string lang : {"js", "ts"}) {
    const std::string name = "web-" + lang;
    const fs::path project = CreateAndBuild(name, "http-server", lang);
    Child run({"run", "--wait", "-i", R"({"port": 0, "served": 0})",
               (project / "manifest.toml").string()},
              Env(), "");
    ExpectHttpServerTemplateServes(run, name, 15min);
  }
}

// A JavaScript actor that throws, loops forever, or allocates without bound: each fails its
// init with an error that says what happened (the JavaScript stack, or the limit), and the host
// goes on.
TEST_F(CliJsTest, ThrowingLoopingAndHoardingActorsGetCleanErrors) {
  const std::map<std::string, std::string> sources = {
      {"throws",
       "import { log } from 'theater:simple/runtime';\n"
       "function check(n) {\n"
       "  if (n === 0) throw new RangeError('the count ran out');\n"
       "  return check(n - 1);\n"
       "}\n"
       "export const actor = { init(state) { log('checking'); check(2); return [state]; } };\n"},
      {"loops", "export const actor = { init(state) { for (;;) {} } };\n"},
      // Not a failure: u64 results, lifted from a core i64 and from memory, arrive as BigInts
      // of the right value (the build's leaner lifting of them; templates/js/build.mjs).
      {"clock",
       "import { log, getCurrentTime, getSystemInfo } from 'theater:simple/runtime';\n"
       "export const actor = { init(state) {\n"
       "  const now = getCurrentTime();\n"
       "  const info = getSystemInfo();\n"
       "  log(`now ${typeof now} ${String(now).length} ${now > 1700000000000n}`);\n"
       "  log(`memory ${typeof info.memoryTotal} ${info.memoryTotal > 0n}`);\n"
       "  return [state];\n"
       "} };\n"},
      {"hoards",
       "export const actor = { init(state) {\n"
       "  const kept = [];\n"
       "  for (;;) kept.push(new Array(100000).fill(kept.length));\n"
       "} };\n"},
  };
  const std::map<std::string, std::string> limits = {
      {"throws", ""},
      {"clock", ""},
      {"loops", "\n[limits]\ninit_deadline_ms = 2000\n"},
      {"hoards", "\n[limits]\nmemory_limit_mb = 48\n"},
  };
  std::map<std::string, Finished> runs;
  for (const auto& [name, source] : sources) {
    Finished created = Run({"create", name, "--lang", "js", "-o", dir_.string()});
    ASSERT_EQ(created.code, 0) << created.err;
    const fs::path project = dir_ / name;
    std::ofstream(project / "src" / "actor.js") << source;
    std::ofstream(project / "manifest.toml", std::ios::app) << limits.at(name);
    fs::create_directory_symlink(SharedNodeModules("js"), project / "node_modules");
    Finished built = Run({"build", project.string()});
    ASSERT_EQ(built.code, 0) << name << ": " << built.err;
    ExpectLeanBindings(project / (name + ".wasm"), built.err);
    runs[name] = Run({"run", (project / "manifest.toml").string()});
  }
  EXPECT_EQ(runs["throws"].code, 1);
  EXPECT_THAT(runs["throws"].err, HasSubstr("RangeError: the count ran out"));
  EXPECT_THAT(runs["throws"].err, HasSubstr("check@"));  // the stack, frame by frame
  EXPECT_THAT(runs["throws"].out, HasSubstr("checking"));
  EXPECT_EQ(runs["clock"].code, 0) << runs["clock"].err;
  EXPECT_THAT(runs["clock"].out, HasSubstr("now bigint 13 true"));
  EXPECT_THAT(runs["clock"].out, HasSubstr("memory bigint true"));
  EXPECT_EQ(runs["loops"].code, 1);
  EXPECT_THAT(runs["loops"].err, HasSubstr("deadline exceeded"));
  EXPECT_EQ(runs["hoards"].code, 1);
  EXPECT_THAT(runs["hoards"].err, HasSubstr("out of memory"));
  EXPECT_THAT(runs["hoards"].err, HasSubstr("of its 48 MiB limit, [limits] memory_limit_mb)"));
  for (auto& [name, run] : runs) EXPECT_THAT(run.out, HasSubstr("chain verified")) << name;
}

}  // namespace
