// Theater: a WebAssembly actor runtime.
//
// How a host joins a lattice: several `theater server` processes, on one machine or many, that
// find each other through a running NATS server with JetStream on (docs/distribution.md).
// ClusterOptions is what `theater server --cluster nats://HOST:PORT` and its companion flags
// fill in; an embedder fills it in the same way. A host without ClusterOptions is a single host,
// exactly as before: nothing of NATS is loaded, started or paid for.
//
// Thread-safety: plain values.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "theater/status.h"

namespace theater {

struct ClusterOptions {
  // The NATS server(s): "nats://127.0.0.1:4222", or several separated by commas (the client
  // tries each, and reconnects to whichever answers). "tls://" asks for TLS.
  std::string url;
  // The lattice's name: its subjects, key-value buckets and streams all carry it, so that two
  // lattices on one NATS never see each other. Letters, digits, '-' and '_', at most 64.
  std::string lattice = "default";
  // This host's name in the lattice (the same characters, at most 64). Empty: the machine's
  // host name and the process id. Two live hosts may not share one; a host that restarts
  // under its name takes it back once its old process is gone.
  std::string host_id;

  // NATS credentials: at most one of a token, a user and password, or a credentials file (an
  // operator's JWT and NKey seed, as `nsc` writes it).
  std::optional<std::string> token;
  std::optional<std::string> user;
  std::optional<std::string> password;
  std::optional<std::filesystem::path> creds_file;
  // TLS: the authorities to trust (PEM), and a client certificate and its key when the server
  // asks for one. Any of them turns TLS on.
  std::optional<std::filesystem::path> tls_ca;
  std::optional<std::filesystem::path> tls_cert;
  std::optional<std::filesystem::path> tls_key;

  // Each host announces itself this often (its heartbeat: actors, load, management address).
  std::chrono::milliseconds heartbeat_interval{1000};
  // How often each other host's ping subject is probed: a host whose process has gone has no
  // responder there, and NATS says so at once; confirmed half a second later (not a host that is
  // reconnecting), it is declared lost within about that and this long.
  std::chrono::milliseconds probe_interval{250};
  // A host not heard from for this long (frozen, or cut off from NATS) is declared lost.
  std::chrono::milliseconds lost_after{5000};
  // This host's lease: when it has not heard its own heartbeat come back through NATS for this
  // long (cut off, or NATS down), it pauses its actors, and resumes them once it hears it again
  // (docs/distribution.md, "The lease"). Shorter than lost_after, so that a cut-off host has
  // stopped its actors before any other host may declare it lost and act on that. Zero: never.
  std::chrono::milliseconds lease{3000};
  // How long joining may take (connecting, JetStream's answer) before it fails.
  std::chrono::milliseconds connect_timeout{5000};
  // How many copies JetStream keeps of the lattice's buckets and chains stream (1 to 5), when
  // this host is the one that creates them: 3 on a NATS cluster of three or more servers lets
  // the lattice (its directory, its replicated actors' chains) survive the loss of one NATS
  // server. A single server takes 1 only.
  int jetstream_replicas = 1;
};

// A host of the lattice as this host last heard of it.
struct LatticeHost {
  std::string host_id;
  std::string incarnation;         // a UUID drawn at each start of the host's process
  std::string management_address;  // where its management server listens ("" if none)
  uint64_t actors = 0;             // actors running there, by its last heartbeat
  double load = 0;                 // its machine's one-minute load average
  std::chrono::milliseconds heartbeat_age{0};  // since its last heartbeat reached this host
  bool self = false;                           // this host
};

// What one other host answered when asked for its actors (ListActors across the lattice).
struct LatticeActorList {
  std::string host_id;
  // Its actors as JSON (an array of objects, as the management protocol's ActorList details),
  // or why there is none (it did not answer in time).
  Result<std::string> actors = std::string("[]");
};

}  // namespace theater
