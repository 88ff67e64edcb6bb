// Theater: a WebAssembly actor runtime.
//
// What a spawn may read (docs/security.md, "What a spawn may read"), path by path, against a
// real runtime with the probe actor and real files: an actor's spawn of a child reads a local
// file (manifest, init_state, component) only within the actor's filesystem grant, the
// directory of its own manifest and the host's spawn roots; a spawn that carries read_roots (a
// client beyond loopback's) is bound to them, and so are its restarts and its descendants; the
// operator's own spawn reads anything. Nothing read outside comes back in an error or a name.
// (The recovery path is in recovery_test.cc; the management server's in server_paging_test.cc.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/uuid.h"
#include "testing/runtime_test_fixture.h"

namespace theater {
namespace {

namespace fs = std::filesystem;
using namespace testing_util;
using ::testing::HasSubstr;
using ::testing::Not;

class SpawnReadScopeTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    secret_ = home_ / "secret";
    package_ = home_ / "package";
    fs::create_directories(secret_);
    fs::create_directories(package_ / "children");
    std::ofstream(secret_ / "secret.json") << R"({"pw": "hunter2"})";
    std::ofstream(secret_ / "manifest.toml") << ProbeManifest("", "in-secret");
    // A copy of the probe outside every root (the build's actors directory is a spawn root).
    fs::copy_file(kProbe, secret_ / "probe.wasm");
    // A package: a parent's manifest, its component, and a child shipped beside it.
    fs::copy_file(kProbe, package_ / "probe.wasm");
    std::ofstream(package_ / "parent.toml") << PackageManifest("", "parent");
    std::ofstream(package_ / "children" / "state.json") << R"({"pw": "fine"})";
    std::ofstream(package_ / "children" / "child.toml")
        << PackageManifest("init_state = \"state.json\"\n", "child-{{pw}}");
  }

  // ProbeManifest() with the package's copy of the probe.
  std::string PackageManifest(const std::string& extra, const std::string& name) const {
    return "name = \"" + name + "\"\nversion = \"0.1.0\"\ncomponent = \"" +
           (package_ / "probe.wasm").string() + "\"\nauto_handlers = true\n" + extra;
  }

  // The probe's reply to "spawn:<manifest>": a child id, or "error: ...".
  std::string SpawnFrom(const std::string& parent, const std::string& manifest) {
    return Response(Request(parent, "spawn:" + manifest));
  }

  // A refusal by the rule, which tells nothing of what was refused.
  static void ExpectRefused(const std::string& reply, const std::string& what) {
    EXPECT_THAT(reply, HasSubstr("error:")) << what;
    EXPECT_THAT(reply, HasSubstr("is outside what this spawn may read")) << what;
    EXPECT_THAT(reply, Not(HasSubstr("hunter2"))) << what;
  }

  std::string NameOf(const std::string& id) {
    Result<ActorSummary> summary = runtime_->Summary(id);
    return summary.ok() ? summary->name : "error: " + summary.status().ToString();
  }

  fs::path secret_;
  fs::path package_;
};

// The issue's reproduction: an actor with no file permission at all names a secret file as its
// child's init_state and the secret in the child's name.
TEST_F(SpawnReadScopeTest, AnActorWithoutAFileGrantReadsNoFileForItsChild) {
  const std::string parent =
      Spawn(ProbeManifest("[permission_policy.file_system]\ntype = \"disallow\"\n"
                          "[permission_policy.store]\ntype = \"disallow\"\n"
                          "[permission_policy.process]\ntype = \"disallow\"\n"));
  ASSERT_TRUE(IsUuid(parent));
  const std::string state = (secret_ / "secret.json").string();
  ExpectRefused(SpawnFrom(parent, ProbeManifest("init_state = \"" + state + "\"\n", "leak-{{pw}}")),
                "init_state");
  ExpectRefused(SpawnFrom(parent, (secret_ / "manifest.toml").string()), "manifest");
  ExpectRefused(
      SpawnFrom(parent, "name = \"x\"\nversion = \"0.1.0\"\ncomponent = \"" +
                            (secret_ / "probe.wasm").string() + "\"\nauto_handlers = true\n"),
      "component");
  ExpectRefused(SpawnFrom(parent, "/etc/passwd"), "a system file");
  // Nothing leaked into a listing either: no child was started.
  Result<std::vector<std::string>> children = runtime_->Children(parent);
  ASSERT_TRUE(children.ok());
  EXPECT_TRUE(children->empty());
  // The operator's own spawn reads what it likes.
  const std::string operators =
      Spawn(ProbeManifest("init_state = \"" + state + "\"\n", "op-{{pw}}"));
  EXPECT_EQ(NameOf(operators), "op-hunter2");
}

TEST_F(SpawnReadScopeTest, AnActorStartsTheChildrenShippedBesideItsManifest) {
  const std::string parent = Spawn((package_ / "parent.toml").string());
  ASSERT_TRUE(IsUuid(parent));
  const std::string child = SpawnFrom(parent, (package_ / "children" / "child.toml").string());
  ASSERT_TRUE(IsUuid(child)) << child;
  EXPECT_EQ(NameOf(child), "child-fine");
  // Its own files, not the rest of the machine.
  ExpectRefused(SpawnFrom(parent, (secret_ / "manifest.toml").string()), "manifest");
  // A link in the package that leads out is followed only to be refused.
  fs::create_symlink(secret_ / "secret.json", package_ / "children" / "link.json");
  ExpectRefused(
      SpawnFrom(parent, ProbeManifest("init_state = \"" +
                                          (package_ / "children" / "link.json").string() + "\"\n",
                                      "leak-{{pw}}")),
      "a link out of the package");
  // ".." climbs out of it just the same.
  ExpectRefused(SpawnFrom(parent, (package_ / ".." / "secret" / "manifest.toml").string()), "..");
  // A missing file inside says so.
  EXPECT_THAT(SpawnFrom(parent, (package_ / "children" / "missing.toml").string()),
              HasSubstr("not found"));
}

TEST_F(SpawnReadScopeTest, AnActorsFilesystemGrantIsWhatItsChildrenMayReadToo) {
  const std::string parent = Spawn(
      ProbeManifest("[[handler]]\ntype = \"filesystem\"\npath = \"" + secret_.string() + "\"\n"));
  ASSERT_TRUE(IsUuid(parent));
  const std::string child = SpawnFrom(
      parent, ProbeManifest("init_state = \"" + (secret_ / "secret.json").string() + "\"\n",
                            "granted-{{pw}}"));
  ASSERT_TRUE(IsUuid(child)) << child;
  EXPECT_EQ(NameOf(child), "granted-hunter2");  // it could read the file itself
  // A grant the actor's policy takes read access from does not count.
  const std::string blind =
      Spawn(ProbeManifest("[[handler]]\ntype = \"filesystem\"\npath = \"" + secret_.string() +
                          "\"\n[permission_policy.file_system]\ntype = \"restrict\"\n"
                          "[permission_policy.file_system.config]\nread = false\n"));
  ASSERT_TRUE(IsUuid(blind));
  ExpectRefused(SpawnFrom(blind, (secret_ / "manifest.toml").string()), "no read right");
}

TEST_F(SpawnReadScopeTest, AChildsRestartIsBoundAsItsSpawnWas) {
  const std::string parent = Spawn((package_ / "parent.toml").string());
  const std::string child = SpawnFrom(parent, (package_ / "children" / "child.toml").string());
  ASSERT_TRUE(IsUuid(child)) << child;
  const std::string sibling = SpawnFrom(parent, (package_ / "children" / "child.toml").string());
  ASSERT_TRUE(IsUuid(sibling)) << sibling;
  // Its manifest now names a file outside the parent's reach: a restart reads it again, whoever
  // asks for it (the parent, or the operator for the sibling).
  std::ofstream(package_ / "children" / "child.toml") << PackageManifest(
      "init_state = \"" + (secret_ / "secret.json").string() + "\"\n", "child-{{pw}}");
  const std::string restarted = Response(Request(parent, "restart-child:" + child));
  ExpectRefused(restarted, "restart by the parent");
  Status by_operator = runtime_->Restart(sibling);
  EXPECT_FALSE(by_operator.ok());
  EXPECT_THAT(by_operator.ToString(), HasSubstr("is outside what this spawn may read"));
  EXPECT_THAT(by_operator.ToString(), Not(HasSubstr("hunter2")));
}

TEST_F(SpawnReadScopeTest, ReadRootsBindASpawnItsRestartsAndItsDescendants) {
  SpawnRequest request;
  request.manifest = (package_ / "parent.toml").string();
  request.read_roots = LocalReadRoots{{package_}, "the test's roots"};
  Result<std::string> parent = runtime_->Spawn(request);
  ASSERT_TRUE(parent.ok()) << parent.status().ToString();
  // Its own files under the roots; nothing else, not even the component of another manifest.
  SpawnRequest outside = request;
  outside.manifest =
      ProbeManifest("init_state = \"" + (secret_ / "secret.json").string() + "\"\n", "leak-{{pw}}");
  Result<std::string> refused = runtime_->Spawn(outside);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().ToString(), HasSubstr("the test's roots"));
  EXPECT_THAT(refused.status().ToString(), Not(HasSubstr("hunter2")));
  // The component under the build's actors directory is not under the roots.
  outside.manifest = ProbeManifest("", "component-outside");
  refused = runtime_->Spawn(outside);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().ToString(), HasSubstr("the component"));

  // A child reads under its parent's package (which is under the roots), and its own children
  // are bound by the roots its origin carried.
  const std::string child = SpawnFrom(*parent, (package_ / "children" / "child.toml").string());
  ASSERT_TRUE(IsUuid(child)) << child;
  ExpectRefused(SpawnFrom(child, (secret_ / "manifest.toml").string()), "a grandchild's read");

  // The roots stay with the actor: a restart reads under them only.
  std::ofstream(package_ / "parent.toml") << PackageManifest(
      "init_state = \"" + (secret_ / "secret.json").string() + "\"\n", "parent-{{pw}}");
  Status restarted = runtime_->Restart(*parent);
  EXPECT_FALSE(restarted.ok());
  EXPECT_THAT(restarted.ToString(), HasSubstr("the test's roots"));
  EXPECT_THAT(restarted.ToString(), Not(HasSubstr("hunter2")));
}

}  // namespace
}  // namespace theater
