// Theater: a WebAssembly actor runtime.
//
// StoppedActors: what a runtime that has stopped left in its home's database, for tests of how
// it stopped (the runtime's Shutdown, `theater server` on SIGTERM): each registry row's status
// and the message of each stored chain's last actor-stopped event, every chain checked to
// verify. Read with the runtime gone (the database is opened directly).
//
// Thread-safety: a plain function over its own ChainStore; reports failures through gtest.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <variant>

#include "theater/chain.h"
#include "theater/chain_store.h"

namespace theater::testing_util {

struct StoppedActors {
  std::map<std::string, std::string> stopped_because;  // actor id -> last actor-stopped message
  std::map<std::string, std::string> status;           // actor id -> registry status
};

inline StoppedActors WhatTheHomeHolds(const std::filesystem::path& home) {
  StoppedActors left;
  auto store = chain::ChainStore::Open(home);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return left;
  auto rows = (*store)->ListActors();
  EXPECT_TRUE(rows.ok());
  if (!rows.ok()) return left;
  for (const chain::ActorRecord& row : *rows) {
    left.status[row.actor_id] = row.status;
    auto events = (*store)->LoadChain(row.actor_id);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    if (!events.ok()) continue;
    EXPECT_TRUE(chain::VerifyEvents(*events).ok()) << row.actor_id;
    for (const chain::Event& event : *events) {
      auto payload = chain::DecodePayload(event.payload);
      const auto* step = payload.ok() ? std::get_if<chain::Lifecycle>(&*payload) : nullptr;
      if (step && step->kind == "actor-stopped") left.stopped_because[row.actor_id] = step->message;
    }
  }
  return left;
}

}  // namespace theater::testing_util
