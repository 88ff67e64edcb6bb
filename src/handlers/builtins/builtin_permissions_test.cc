// Theater: a WebAssembly actor runtime.
//
// The built-in handlers' permissions through the generic machinery (theater/permissions.h):
// `[permission_policy]` parsing against the registered handlers, inheritance, each handler's
// narrowing rule and its checks. The tests read and write permissions in a flat view
// (testing/builtin_permissions_view.h), so each expectation states the rule plainly.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "testing/builtin_permissions_view.h"
#include "theater/builtins.h"
#include "theater/manifest.h"
#include "theater/permissions.h"

namespace theater::handlers {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

using Strings = std::vector<std::string>;

using namespace permissions_view;

Policy MustParse(const json& policy) {
  Result<PermissionPolicy> p = ParsePermissionPolicy(policy, BuiltinRegistry().PolicyHandlers());
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return MakePolicy(p.ok() ? *p : PermissionPolicy{});
}

std::string ParseErrorOf(const json& policy) {
  Result<PermissionPolicy> p = ParsePermissionPolicy(policy, BuiltinRegistry().PolicyHandlers());
  EXPECT_FALSE(p.ok()) << policy.dump();
  if (p.ok()) return "";
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  return p.status().message();
}

json Restrict(json config) {
  return {{"type", "restrict"}, {"config", std::move(config)}};
}

void ExpectDenied(const Status& s, const std::string& message) {
  EXPECT_FALSE(s.ok()) << "expected a denial: " << message;
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), message);
}

// --- Parsing. ---

TEST(PermissionPolicyTest, EmptyPolicyInheritsEverything) {
  Policy p = MustParse(json::object());
  EXPECT_EQ(p.file_system.kind, InheritanceKind::kInherit);
  EXPECT_EQ(p.random.kind, InheritanceKind::kInherit);
  EXPECT_EQ(ComputeEffectivePermissions(RootPermissions(), p), RootPermissions());
}

TEST(PermissionPolicyTest, ParsesEveryHandlerAndField) {
  Policy p = MustParse({
      {"message_server", {{"type", "disallow"}}},
      {"runtime", {{"type", "inherit"}}},
      {"store", {{"type", "restrict"}}},
      {"file_system", Restrict({{"read", true},
                                {"write", false},
                                {"execute", false},
                                {"new_dir", false},
                                {"allowed_commands", {"ls"}},
                                {"allowed_paths", {"/tmp/test"}},
                                {"denied_paths", {"/tmp/test/keys"}}})},
      {"http_client", Restrict({{"allowed_methods", {"get", "Post"}},
                                {"allowed_hosts", {"API.example.com"}},
                                {"max_redirects", 3},
                                {"timeout", 1000}})},
      {"http_framework",
       Restrict(
           {{"allowed_routes", {"/a"}}, {"allowed_methods", {"get"}}, {"max_request_size", 1024}})},
      {"supervisor", Restrict({{"max_children", 2}, {"allowed_manifests", {"c.toml"}}})},
      {"timing", Restrict({{"max_sleep_duration", 500}, {"min_sleep_duration", 10}})},
      {"process", Restrict({{"max_processes", 2},
                            {"max_output_buffer", 4096},
                            {"allowed_programs", {"echo"}},
                            {"allowed_paths", {"/work"}},
                            {"allowed_env", {"APP_*", "TZ"}}})},
      {"environment", Restrict({{"allowed_vars", {"HOME"}},
                                {"denied_vars", {"SECRET", "SECRET"}},
                                {"allowed_prefixes", {"APP_"}},
                                {"allow_list_all", false}})},
      {"random", Restrict({{"max_bytes", 64}, {"max_int", 100}, {"allow_crypto_secure", false}})},
  });
  EXPECT_EQ(p.message_server.kind, InheritanceKind::kDisallow);
  EXPECT_EQ(p.runtime.kind, InheritanceKind::kInherit);
  EXPECT_EQ(p.store.kind, InheritanceKind::kRestrict);
  EXPECT_EQ(p.file_system.kind, InheritanceKind::kRestrict);
  EXPECT_EQ(
      p.file_system.restriction,
      (FileSystemPermissions{true, false, false, false, Strings{"ls"}, Strings{"/tmp/test"},
                             {"/tmp/test/keys"}}));
  EXPECT_EQ(p.http_client.restriction,
            (HttpClientPermissions{Strings{"GET", "POST"}, Strings{"api.example.com"}, 3, 1000}));
  EXPECT_EQ(p.http_framework.restriction,
            (HttpFrameworkPermissions{Strings{"/a"}, Strings{"GET"}, 1024}));
  EXPECT_EQ(p.supervisor.restriction, (SupervisorPermissions{2, Strings{"c.toml"}}));
  EXPECT_EQ(p.timing.restriction, (TimingPermissions{500, 10}));
  EXPECT_EQ(p.process.restriction, (ProcessPermissions{2, 4096, Strings{"echo"}, Strings{"/work"},
                                                       Strings{"APP_*", "TZ"}}));
  EXPECT_EQ(p.environment.restriction,
            (EnvironmentPermissions{Strings{"HOME"}, {"SECRET"}, Strings{"APP_"}, false}));
  EXPECT_EQ(p.random.restriction, (RandomPermissions{64, 100, false}));
}

TEST(PermissionPolicyTest, UnsetRestrictFieldsDoNotNarrow) {
  Policy p = MustParse({{"file_system", Restrict({{"write", false}})}});
  FileSystemPermissions expected;
  expected.write = false;
  EXPECT_EQ(p.file_system.restriction, expected);
}

TEST(PermissionPolicyTest, InvalidDocumentsNameTheField) {
  EXPECT_EQ(ParseErrorOf(json(3)), "permission_policy: must be a table, not an integer");
  EXPECT_THAT(ParseErrorOf({{"filesystem", {{"type", "inherit"}}}}),
              HasSubstr("permission_policy.filesystem: unknown handler"));
  EXPECT_EQ(ParseErrorOf({{"timing", "inherit"}}),
            "permission_policy.timing: must be a table with a 'type', not a string");
  EXPECT_THAT(ParseErrorOf({{"timing", json::object()}}),
              HasSubstr("permission_policy.timing.type: missing"));
  EXPECT_EQ(ParseErrorOf({{"timing", {{"type", 1}}}}),
            "permission_policy.timing.type: must be a string, not an integer");
  EXPECT_THAT(ParseErrorOf({{"timing", {{"type", "widen"}}}}),
              HasSubstr("permission_policy.timing.type: unknown policy 'widen'"));
  EXPECT_EQ(ParseErrorOf({{"timing", {{"type", "inherit"}, {"config", json::object()}}}}),
            "permission_policy.timing.config: only allowed with type = \"restrict\"");
  EXPECT_THAT(ParseErrorOf({{"timing", {{"type", "inherit"}, {"extra", 1}}}}),
              HasSubstr("permission_policy.timing.extra: unknown key"));
  EXPECT_EQ(ParseErrorOf({{"timing", {{"type", "restrict"}, {"config", {1}}}}}),
            "permission_policy.timing.config: must be a table, not an array");
  EXPECT_EQ(ParseErrorOf({{"file_system", Restrict({{"read", "yes"}})}}),
            "permission_policy.file_system.config.read: must be a boolean, not a string");
  EXPECT_EQ(ParseErrorOf({{"file_system", Restrict({{"allowed_paths", "/tmp"}})}}),
            "permission_policy.file_system.config.allowed_paths: must be an array of strings, "
            "not a string");
  EXPECT_EQ(ParseErrorOf({{"file_system", Restrict({{"allowed_paths", {"/tmp", 3}}})}}),
            "permission_policy.file_system.config.allowed_paths[1]: must be a string, not an "
            "integer");
  EXPECT_EQ(ParseErrorOf({{"random", Restrict({{"max_bytes", -1}})}}),
            "permission_policy.random.config.max_bytes: must not be negative, got -1");
  EXPECT_EQ(ParseErrorOf({{"random", Restrict({{"max_bytes", 1.5}})}}),
            "permission_policy.random.config.max_bytes: must be a non-negative integer, not a "
            "float");
  EXPECT_EQ(ParseErrorOf({{"random", Restrict({{"seed", 1}})}}),
            "permission_policy.random.config.seed: unknown permission field");
  EXPECT_EQ(ParseErrorOf({{"store", Restrict({{"anything", 1}})}}),
            "permission_policy.store.config.anything: unknown permission field");
}

TEST(PermissionPolicyTest, ParsesTheManifestsTomlForm) {
  Result<Manifest> m = ParseManifest(R"(name = "x"
version = "1"
component = "a.wasm"
[permission_policy.file_system]
type = "restrict"
[permission_policy.file_system.config]
read = true
write = true
execute = false
allowed_paths = ["/tmp/test"]
[permission_policy.process]
type = "disallow"
)",
                                     "/a", "m.toml");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  Policy p = MustParse(m->permission_policy);
  Perms e = ComputeEffectivePermissions(RootPermissions(), p);
  ASSERT_TRUE(e.file_system);
  EXPECT_FALSE(e.file_system->execute);
  EXPECT_EQ(e.file_system->allowed_paths, Strings{"/tmp/test"});
  EXPECT_FALSE(e.process);
  EXPECT_TRUE(e.random);
}

// --- Inheritance. ---

TEST(PermissionInheritanceTest, RootAllowsEverything) {
  Perms root = RootPermissions();
  for (const char* type :
       {"message-server", "filesystem", "http-client", "http-framework", "runtime", "supervisor",
        "store", "timing", "process", "environment", "random"}) {
    EXPECT_TRUE(CheckHandlerPermitted(root, type).ok()) << type;
  }
  EXPECT_TRUE(CheckFileRead(root, "/etc/passwd").ok());
  EXPECT_TRUE(CheckFileWrite(root, "relative/x").ok());
  EXPECT_TRUE(CheckFileCreateDir(root, "/x").ok());
  EXPECT_TRUE(CheckFileCommand(root, "rm").ok());
  EXPECT_TRUE(CheckHttp(root, "DELETE", "anything.example").ok());
  EXPECT_TRUE(CheckHttpRoute(root, "GET", "/any").ok());
  EXPECT_TRUE(CheckEnvVar(root, "PATH").ok());
  EXPECT_TRUE(CheckEnvListAll(root).ok());
  EXPECT_TRUE(CheckProgram(root, "sh", 1000, "/").ok());
  EXPECT_TRUE(CheckProcessOutputBuffer(root, kUnlimited).ok());
  EXPECT_TRUE(CheckRandomBytes(root, 1 << 30).ok());
  EXPECT_TRUE(CheckRandomInt(root, kUnlimited).ok());
  EXPECT_TRUE(CheckRandomCryptoSecure(root).ok());
  EXPECT_TRUE(CheckSleep(root, 0).ok());
  EXPECT_TRUE(CheckSleep(root, kUnlimited).ok());
  EXPECT_TRUE(CheckSpawnChild(root, "any.toml", 10000).ok());
}

TEST(PermissionInheritanceTest, InheritDisallowRestrictPerHandler) {
  Perms parent = RootPermissions();
  parent.timing = TimingPermissions{1000, 5};
  Policy policy = MustParse({
      {"timing", {{"type", "inherit"}}},
      {"random", {{"type", "disallow"}}},
      {"runtime", {{"type", "restrict"}}},
      {"process", Restrict({{"max_processes", 3}})},
  });
  Perms child = ComputeEffectivePermissions(parent, policy);
  EXPECT_EQ(child.timing, parent.timing);
  EXPECT_FALSE(child.random);
  EXPECT_EQ(child.runtime, RuntimePermissions{});
  ASSERT_TRUE(child.process);
  EXPECT_EQ(child.process->max_processes, 3u);
  EXPECT_EQ(child.process->max_output_buffer, kUnlimited);
  // Untouched handlers inherit.
  EXPECT_EQ(child.file_system, parent.file_system);
  ExpectDenied(CheckHandlerPermitted(child, "random"),
               "Handler type 'random' not permitted by effective permissions");
}

TEST(PermissionInheritanceTest, ChildOfParentWithoutHandlerGetsNothing) {
  Perms parent = RootPermissions();
  parent.file_system.reset();
  parent.store.reset();
  for (const char* kind : {"inherit", "restrict"}) {
    Policy policy =
        MustParse({{"file_system", {{"type", kind}}}, {"store", {{"type", kind}}}});
    Perms child = ComputeEffectivePermissions(parent, policy);
    EXPECT_FALSE(child.file_system) << kind;
    EXPECT_FALSE(child.store) << kind;
  }
  // A grandchild of a disallowing child cannot get it back either.
  Policy disallow = MustParse({{"random", {{"type", "disallow"}}}});
  Perms child = ComputeEffectivePermissions(RootPermissions(), disallow);
  Perms grandchild =
      ComputeEffectivePermissions(child, MustParse({{"random", Restrict({{"max_bytes", 1}})}}));
  EXPECT_FALSE(grandchild.random);
  ExpectDenied(CheckRandomBytes(grandchild, 1),
               "Operation denied: random-bytes not permitted by random permissions");
}

// --- Narrowing: a child never gains what its parent lacks. ---

TEST(PermissionNarrowTest, BoolsAreAnded) {
  FileSystemPermissions parent;
  parent.write = false;
  FileSystemPermissions r;
  r.read = false;
  r.write = true;  // asks for write: cannot get it
  FileSystemPermissions out = Narrow(parent, r);
  EXPECT_FALSE(out.read);
  EXPECT_FALSE(out.write);
  EXPECT_TRUE(out.execute);
  RandomPermissions rp;
  rp.allow_crypto_secure = false;
  EXPECT_FALSE(Narrow(rp, RandomPermissions{}).allow_crypto_secure);
  EnvironmentPermissions ep;
  ep.allow_list_all = false;
  EXPECT_FALSE(Narrow(ep, EnvironmentPermissions{}).allow_list_all);
}

TEST(PermissionNarrowTest, NumbersTakeTheMinimum) {
  EXPECT_EQ(Narrow(RandomPermissions{100, 50, true}, RandomPermissions{200, 10, true}),
            (RandomPermissions{100, 10, true}));
  EXPECT_EQ(Narrow(ProcessPermissions{2, 100, {}, {}}, ProcessPermissions{5, 10, {}, {}}),
            (ProcessPermissions{2, 10, {}, {}}));
  // Timing: the longest sleep takes the min, the shortest sleep the max.
  EXPECT_EQ(Narrow(TimingPermissions{1000, 5}, TimingPermissions{5000, 1}),
            (TimingPermissions{1000, 5}));
  EXPECT_EQ(Narrow(TimingPermissions{1000, 5}, TimingPermissions{100, 50}),
            (TimingPermissions{100, 50}));
  // Optional limits: unset is unlimited.
  HttpClientPermissions parent{std::nullopt, std::nullopt, 5, std::nullopt};
  HttpClientPermissions r{std::nullopt, std::nullopt, 10, 2000};
  HttpClientPermissions out = Narrow(parent, r);
  EXPECT_EQ(out.max_redirects, 5u);
  EXPECT_EQ(out.timeout_ms, 2000u);
  EXPECT_EQ(Narrow(SupervisorPermissions{3, {}}, SupervisorPermissions{}).max_children, 3u);
  EXPECT_EQ(Narrow(HttpFrameworkPermissions{{}, {}, 10}, HttpFrameworkPermissions{{}, {}, 20})
                .max_request_size,
            10u);
}

TEST(PermissionNarrowTest, ListsIntersect) {
  HttpClientPermissions parent;
  parent.allowed_hosts = Strings{"a.com", "b.com"};
  HttpClientPermissions r;
  r.allowed_hosts = Strings{"b.com", "evil.com"};
  r.allowed_methods = Strings{"GET"};
  HttpClientPermissions out = Narrow(parent, r);
  EXPECT_EQ(out.allowed_hosts, Strings{"b.com"});
  // An unrestricted parent list takes the child's list (the original left it unrestricted).
  EXPECT_EQ(out.allowed_methods, Strings{"GET"});
  // An unset restriction keeps the parent's list.
  EXPECT_EQ(Narrow(parent, HttpClientPermissions{}).allowed_hosts, parent.allowed_hosts);
  // Disjoint lists leave nothing allowed (not "unrestricted").
  ProcessPermissions pp;
  pp.allowed_programs = Strings{"ls"};
  ProcessPermissions pr;
  pr.allowed_programs = Strings{"rm"};
  EXPECT_EQ(Narrow(pp, pr).allowed_programs, Strings{});
}

TEST(PermissionNarrowTest, PathsIntersectByComponent) {
  FileSystemPermissions parent;
  parent.allowed_paths = Strings{"/tmp/app", "/data"};
  FileSystemPermissions r;
  r.allowed_paths = Strings{"/tmp/app/cache", "/tmp/application", "/", "/etc"};
  FileSystemPermissions out = Narrow(parent, r);
  // "/tmp/app/cache" lies within "/tmp/app"; "/tmp/application" does not (component-wise);
  // "/" is wider than the parent, so it narrows to the parent's own paths; "/etc" is outside.
  EXPECT_EQ(out.allowed_paths, (Strings{"/tmp/app/cache", "/tmp/app", "/data"}));
}

TEST(PermissionNarrowTest, DeniedPathsUnite) {
  FileSystemPermissions parent;
  parent.denied_paths = {"data/keys", "/etc"};
  FileSystemPermissions r;
  r.denied_paths = {"/etc", "data/cache"};
  EXPECT_EQ(Narrow(parent, r).denied_paths, (Strings{"data/keys", "/etc", "data/cache"}));
  // A restriction that says nothing keeps the parent's denials.
  EXPECT_EQ(Narrow(parent, FileSystemPermissions{}).denied_paths, parent.denied_paths);
}

TEST(PermissionNarrowTest, EnvironmentDeniedVarsUniteAndPrefixesNarrow) {
  EnvironmentPermissions parent;
  parent.denied_vars = {"A", "B"};
  parent.allowed_prefixes = Strings{"APP_"};
  EnvironmentPermissions r;
  r.denied_vars = {"B", "C", "A"};
  r.allowed_prefixes = Strings{"APP_DB_", "OTHER_", "AP"};
  EnvironmentPermissions out = Narrow(parent, r);
  EXPECT_EQ(out.denied_vars, (Strings{"A", "B", "C"}));
  EXPECT_EQ(out.allowed_prefixes, (Strings{"APP_DB_", "APP_"}));
}

TEST(PermissionNarrowTest, ProcessAllowedEnvNarrowsByPattern) {
  ProcessPermissions parent;
  parent.allowed_env = Strings{"APP_*", "TZ"};
  ProcessPermissions r;
  r.allowed_env = Strings{"APP_DEBUG", "OPENSSL_CONF", "A*"};
  // A name within a parent's prefix, and the parent's prefix within a wider child one; never
  // OPENSSL_CONF, which the parent does not allow.
  EXPECT_EQ(Narrow(parent, r).allowed_env, (Strings{"APP_DEBUG", "APP_*"}));
  EXPECT_EQ(Narrow(parent, ProcessPermissions{}).allowed_env, parent.allowed_env);
  EXPECT_EQ(Narrow(ProcessPermissions{}, r).allowed_env, r.allowed_env);
}

TEST(PermissionNarrowTest, ChildCannotWiden) {
  // Restricting with the most permissive config (every field at its allow-all default) gives
  // back exactly the parent, for every handler.
  Perms parent;
  parent.file_system =
      FileSystemPermissions{true, false, true, false, Strings{"ls"}, Strings{"/a"}, {}};
  parent.http_client = HttpClientPermissions{Strings{"GET"}, Strings{"h"}, 1, 10};
  parent.http_framework = HttpFrameworkPermissions{Strings{"/r"}, Strings{"GET"}, 5};
  parent.supervisor = SupervisorPermissions{1, Strings{"m"}};
  parent.timing = TimingPermissions{10, 2};
  parent.process = ProcessPermissions{1, 2, Strings{"p"}, Strings{"/w"}};
  parent.environment = EnvironmentPermissions{Strings{"V"}, {"D"}, Strings{"P_"}, false};
  parent.random = RandomPermissions{1, 2, false};
  Policy widen = MustParse({
      {"file_system", Restrict({{"read", true},
                                {"write", true},
                                {"execute", true},
                                {"new_dir", true},
                                {"allowed_commands", {"ls", "rm"}},
                                {"allowed_paths", {"/"}}})},
      {"http_client", Restrict({{"allowed_methods", {"GET", "POST"}},
                                {"allowed_hosts", {"h", "x"}},
                                {"max_redirects", 100},
                                {"timeout", 100000}})},
      {"http_framework", Restrict({{"allowed_routes", {"/r", "/s"}},
                                   {"allowed_methods", {"GET", "PUT"}},
                                   {"max_request_size", 500}})},
      {"supervisor", Restrict({{"max_children", 9}, {"allowed_manifests", {"m", "n"}}})},
      {"timing", Restrict({{"max_sleep_duration", 1000}, {"min_sleep_duration", 0}})},
      {"process", Restrict({{"max_processes", 9},
                            {"max_output_buffer", 9},
                            {"allowed_programs", {"p", "q"}},
                            {"allowed_paths", {"/"}}})},
      {"environment", Restrict({{"allowed_vars", {"V", "W"}},
                                {"denied_vars", json::array()},
                                {"allowed_prefixes", {""}},
                                {"allow_list_all", true}})},
      {"random", Restrict({{"max_bytes", 99}, {"max_int", 99}, {"allow_crypto_secure", true}})},
  });
  Perms child = ComputeEffectivePermissions(parent, widen);
  EXPECT_EQ(child, parent);
}

// --- Checks. ---

TEST(PermissionCheckTest, EverythingFailsClosedWithoutPermissions) {
  Perms none;
  ExpectDenied(CheckFileRead(none, "/a"),
               "Operation denied: read not permitted by filesystem permissions");
  ExpectDenied(CheckFileWrite(none, "/a"),
               "Operation denied: write not permitted by filesystem permissions");
  ExpectDenied(CheckFileCreateDir(none, "/a"),
               "Operation denied: create-dir not permitted by filesystem permissions");
  ExpectDenied(CheckFileCommand(none, "ls"),
               "Operation denied: execute not permitted by filesystem permissions");
  ExpectDenied(CheckHttp(none, "GET", "h"),
               "Operation denied: http-request not permitted by http-client permissions");
  ExpectDenied(CheckHttpRoute(none, "GET", "/"),
               "Operation denied: add-route not permitted by http-framework permissions");
  ExpectDenied(CheckEnvVar(none, "HOME"),
               "Operation denied: get-var not permitted by environment permissions");
  ExpectDenied(CheckEnvListAll(none),
               "Operation denied: list-vars not permitted by environment permissions");
  ExpectDenied(CheckProgram(none, "ls", 0),
               "Operation denied: spawn not permitted by process permissions");
  ExpectDenied(CheckProcessOutputBuffer(none, 1),
               "Operation denied: spawn not permitted by process permissions");
  ExpectDenied(CheckRandomBytes(none, 1),
               "Operation denied: random-bytes not permitted by random permissions");
  ExpectDenied(CheckRandomInt(none, 1),
               "Operation denied: random-range not permitted by random permissions");
  ExpectDenied(CheckRandomCryptoSecure(none),
               "Operation denied: crypto-secure not permitted by random permissions");
  ExpectDenied(CheckSleep(none, 1), "Operation denied: sleep not permitted by timing permissions");
  ExpectDenied(CheckSpawnChild(none, "m", 0),
               "Operation denied: spawn not permitted by supervisor permissions");
  ExpectDenied(CheckHandlerPermitted(none, "store"),
               "Handler type 'store' not permitted by effective permissions");
  ExpectDenied(CheckHandlerPermitted(RootPermissions(), "websocket"),
               "Handler type 'websocket' not permitted by effective permissions");
}

TEST(PermissionCheckTest, FileSystem) {
  Perms p;
  p.file_system =
      FileSystemPermissions{true, true, false, false, Strings{"ls"}, Strings{"/tmp/app/"}, {}};
  EXPECT_TRUE(CheckFileRead(p, "/tmp/app").ok());
  EXPECT_TRUE(CheckFileRead(p, "/tmp/app/sub/file.txt").ok());
  EXPECT_TRUE(CheckFileWrite(p, "/tmp/app/./x").ok());
  ExpectDenied(CheckFileRead(p, "/tmp/application/x"),
               "Path '/tmp/application/x' not in allowed paths: [\"/tmp/app/\"]");
  ExpectDenied(CheckFileRead(p, "/tmp/app/../../etc/passwd"),
               "Path '/tmp/app/../../etc/passwd' not in allowed paths: [\"/tmp/app/\"]");
  ExpectDenied(CheckFileRead(p, "tmp/app/x"),
               "Path 'tmp/app/x' not in allowed paths: [\"/tmp/app/\"]");
  ExpectDenied(CheckFileCreateDir(p, "/tmp/app/d"),
               "Operation denied: create-dir not permitted by filesystem permissions");
  ExpectDenied(CheckFileCommand(p, "ls"),
               "Operation denied: execute not permitted by filesystem permissions");
  p.file_system->execute = true;
  p.file_system->read = false;
  EXPECT_TRUE(CheckFileCommand(p, "ls").ok());
  ExpectDenied(CheckFileCommand(p, "rm"), "Command 'rm' not in allowed commands: [\"ls\"]");
  ExpectDenied(CheckFileRead(p, "/tmp/app/x"),
               "Operation denied: read not permitted by filesystem permissions");
  p.file_system->new_dir = true;
  EXPECT_TRUE(CheckFileCreateDir(p, "/tmp/app/d").ok());
  p.file_system->allowed_paths = Strings{};
  ExpectDenied(CheckFileWrite(p, "/tmp/app/x"), "Path '/tmp/app/x' not in allowed paths: []");
}

TEST(PermissionCheckTest, HttpClientAndFramework) {
  Perms p = ComputeEffectivePermissions(
      RootPermissions(),
      MustParse({{"http_client",
                  Restrict({{"allowed_methods", {"get"}}, {"allowed_hosts", {"API.example.com"}}})},
                 {"http_framework",
                  Restrict({{"allowed_routes", {"/hello"}}, {"allowed_methods", {"POST"}}})}}));
  EXPECT_TRUE(CheckHttp(p, "GET", "api.example.com").ok());
  EXPECT_TRUE(CheckHttp(p, "get", "Api.Example.com").ok());
  ExpectDenied(CheckHttp(p, "POST", "api.example.com"),
               "Method 'POST' not in allowed methods: [\"GET\"]");
  ExpectDenied(CheckHttp(p, "GET", "evil.com"),
               "Host 'evil.com' not in allowed hosts: [\"api.example.com\"]");
  EXPECT_TRUE(CheckHttpRoute(p, "post", "/hello").ok());
  ExpectDenied(CheckHttpRoute(p, "POST", "/other"),
               "Route '/other' not in allowed routes: [\"/hello\"]");
  ExpectDenied(CheckHttpRoute(p, "GET", "/hello"),
               "Method 'GET' not in allowed methods: [\"POST\"]");
}

TEST(PermissionCheckTest, Environment) {
  Perms p;
  p.environment = EnvironmentPermissions{std::nullopt, {"APP_SECRET"}, Strings{"APP_"}, false};
  EXPECT_TRUE(CheckEnvVar(p, "APP_NAME").ok());
  ExpectDenied(CheckEnvVar(p, "APP_SECRET"), "Environment variable 'APP_SECRET' access denied");
  ExpectDenied(CheckEnvVar(p, "HOME"), "Environment variable 'HOME' access denied");
  ExpectDenied(CheckEnvListAll(p),
               "Operation denied: list-vars not permitted by environment permissions");
  p.environment->allowed_vars = Strings{"APP_NAME", "HOME"};
  EXPECT_TRUE(CheckEnvVar(p, "APP_NAME").ok());
  // Both constraints apply: HOME is listed but does not match the prefixes.
  ExpectDenied(CheckEnvVar(p, "HOME"), "Environment variable 'HOME' access denied");
  ExpectDenied(CheckEnvVar(p, "APP_OTHER"), "Environment variable 'APP_OTHER' access denied");
}

TEST(PermissionCheckTest, Process) {
  Perms p;
  p.process = ProcessPermissions{2, 1024, Strings{"echo"}, Strings{"/work"}};
  EXPECT_TRUE(CheckProgram(p, "echo", 1, "/work/sub").ok());
  EXPECT_TRUE(CheckProgram(p, "echo", 0).ok());
  ExpectDenied(CheckProgram(p, "echo", 2), "Resource limit exceeded: process_count = 3 > 2");
  ExpectDenied(CheckProgram(p, "sh", 0), "Command 'sh' not in allowed commands: [\"echo\"]");
  ExpectDenied(CheckProgram(p, "echo", 0, "/etc"), "Path '/etc' not in allowed paths: [\"/work\"]");
  EXPECT_TRUE(CheckProcessOutputBuffer(p, 1024).ok());
  ExpectDenied(CheckProcessOutputBuffer(p, 1025),
               "Resource limit exceeded: output_buffer = 1025 > 1024");
}

TEST(PermissionCheckTest, RandomAndTiming) {
  Perms p;
  p.random = RandomPermissions{16, 100, false};
  p.timing = TimingPermissions{1000, 10};
  EXPECT_TRUE(CheckRandomBytes(p, 16).ok());
  ExpectDenied(CheckRandomBytes(p, 17), "Resource limit exceeded: random_bytes = 17 > 16");
  EXPECT_TRUE(CheckRandomInt(p, 100).ok());
  ExpectDenied(CheckRandomInt(p, 101), "Resource limit exceeded: random_max_int = 101 > 100");
  ExpectDenied(CheckRandomCryptoSecure(p),
               "Operation denied: crypto-secure not permitted by random permissions");
  EXPECT_TRUE(CheckSleep(p, 10).ok());
  EXPECT_TRUE(CheckSleep(p, 1000).ok());
  ExpectDenied(CheckSleep(p, 1001), "Resource limit exceeded: sleep_duration = 1001 > 1000");
  ExpectDenied(CheckSleep(p, 9), "Resource limit exceeded: min_sleep_duration = 9 < 10");
}

TEST(PermissionCheckTest, Supervisor) {
  Perms p;
  p.supervisor = SupervisorPermissions{2, Strings{"child.toml"}};
  EXPECT_TRUE(CheckSpawnChild(p, "child.toml", 1).ok());
  ExpectDenied(CheckSpawnChild(p, "child.toml", 2), "Resource limit exceeded: child_count = 3 > 2");
  ExpectDenied(CheckSpawnChild(p, "other.toml", 0),
               "Manifest 'other.toml' not in allowed manifests: [\"child.toml\"]");
}

TEST(PermissionCheckTest, Store) {
  Perms none;
  ExpectDenied(CheckStoreAccess(none, "s"),
               "Operation denied: store not permitted by store permissions");
  ExpectDenied(CheckStoreCreate(none), "Operation denied: new not permitted by store permissions");
  Perms p = RootPermissions();
  EXPECT_TRUE(CheckStoreAccess(p, "any").ok());
  EXPECT_TRUE(CheckStoreCreate(p).ok());
  // A child restricted to one store, without creating: narrowing only removes.
  Policy policy = MustParse(nlohmann::json::parse(
      R"({"store": {"type": "restrict", "config": {"allowed_stores": ["s1"], "create": false}}})"));
  Perms child = ComputeEffectivePermissions(p, policy);
  EXPECT_TRUE(CheckStoreAccess(child, "s1").ok());
  ExpectDenied(CheckStoreAccess(child, "s2"), "Store 's2' not in allowed stores: [\"s1\"]");
  ExpectDenied(CheckStoreCreate(child), "Creating stores is not permitted");
  // Its own child cannot widen it back.
  Policy widen = MustParse(nlohmann::json::parse(
      R"({"store": {"type": "restrict", "config": {"allowed_stores": ["s1", "s2"], "create": true}}})"));
  Perms grandchild = ComputeEffectivePermissions(child, widen);
  ExpectDenied(CheckStoreAccess(grandchild, "s2"), "Store 's2' not in allowed stores: [\"s1\"]");
  ExpectDenied(CheckStoreCreate(grandchild), "Creating stores is not permitted");
}

}  // namespace
}  // namespace theater::handlers
