// Theater: a WebAssembly actor runtime.
//
// The command table against the protocol's documentation: every command docs/protocol.md lists
// is in the table, every row of the table is documented, and a command whose first documented
// field is `id` is one the table treats as about one actor (its id is checked before it runs).
#include "server/command_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "server/server_impl.h"

namespace theater::server {
namespace {

// Command name -> its documented fields column, from the rows "| `Name` ... | fields | reply |".
std::map<std::string, std::string> DocumentedCommands() {
  std::ifstream file(std::string(THEATER_SOURCE_DIR) + "/docs/protocol.md");
  std::map<std::string, std::string> commands;
  std::string line;
  bool in_commands = false;
  while (std::getline(file, line)) {
    if (line.rfind("## ", 0) == 0) in_commands = line.find("Commands") != std::string::npos;
    if (!in_commands || line.rfind("| `", 0) != 0) continue;
    const size_t name_end = line.find('`', 3);
    const size_t fields_start = line.find('|', name_end);
    const size_t fields_end = line.find('|', fields_start + 1);
    if (name_end == std::string::npos || fields_end == std::string::npos) continue;
    std::string fields = line.substr(fields_start + 1, fields_end - fields_start - 1);
    fields.erase(0, fields.find_first_not_of(' '));
    commands[line.substr(3, name_end - 3)] = fields;
  }
  return commands;
}

TEST(CommandTableTest, EveryDocumentedCommandIsARowAndEveryRowIsDocumented) {
  const std::map<std::string, std::string> documented = DocumentedCommands();
  ASSERT_GE(documented.size(), 30u) << "docs/protocol.md's command table was not found";
  for (const auto& [name, fields] : documented) {
    // Authentication is the connection's, before any command runs (connection.cc).
    if (name == "Authenticate") continue;
    const CommandSpec* spec = FindCommand(name);
    ASSERT_NE(spec, nullptr) << name << " is documented but not in the table";
    EXPECT_EQ(spec->name, name);
    const bool names_actor = fields.rfind("`id`", 0) == 0 || fields.rfind("`id,", 0) == 0;
    EXPECT_EQ(spec->scope == CommandScope::kActor, names_actor) << name << ": " << fields;
  }
  for (const CommandSpec& spec : ServerImpl::Commands()) {
    EXPECT_TRUE(documented.count(std::string(spec.name)) != 0)
        << spec.name << " is in the table but not in docs/protocol.md";
  }
}

TEST(CommandTableTest, UnknownNamesAreNotFoundAndLargeRepliesAreTheChainAndContentReads) {
  EXPECT_EQ(FindCommand("NoSuchCommand"), nullptr);
  EXPECT_EQ(FindCommand(""), nullptr);
  EXPECT_EQ(FindCommand("listactors"), nullptr);  // names are exact
  for (const char* large : {"GetActorEvents", "GetActorState", "VerifyChain", "GetStoreContent"}) {
    EXPECT_TRUE(HasLargeReply(Variant{large, nlohmann::json::object()})) << large;
  }
  EXPECT_FALSE(HasLargeReply(Variant{"ListActors", nlohmann::json::object()}));
  EXPECT_FALSE(HasLargeReply(Variant{"NoSuchCommand", nlohmann::json::object()}));
}

}  // namespace
}  // namespace theater::server
