// Theater: a WebAssembly actor runtime.
#include "cluster/nats_connection.h"

#include <array>

namespace theater::cluster {
namespace {

// libnats's options, freed when they go out of scope.
struct OptionsHolder {
  natsOptions* options = nullptr;
  ~OptionsHolder() {
    if (options != nullptr) natsOptions_Destroy(options);
  }
};

}  // namespace

Status FromNats(natsStatus status, std::string_view what, jsErrCode js_code) {
  if (status == NATS_OK) return Status::Ok();
  std::string message = std::string(what) + ": " + natsStatus_GetText(status);
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  bool electing = js_code == JSClusterNotAvailErr || js_code == JSClusterNotLeaderErr;
  if (detail != nullptr && *detail != '\0' && last == status &&
      std::string_view(detail) != natsStatus_GetText(status)) {
    message += " (" + std::string(detail) + ")";
    electing = electing ||
               std::string_view(detail).find("temporarily unavailable") != std::string_view::npos;
  }
  if (electing) return Unavailable(message);
  switch (status) {
    case NATS_TIMEOUT:
      return DeadlineExceeded(message);
    case NATS_NOT_FOUND:
      return NotFound(message);
    case NATS_NO_SERVER:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NO_RESPONDERS:
    case NATS_IO_ERROR:
      return Unavailable(message);
    case NATS_NOT_PERMITTED:
    case NATS_CONNECTION_AUTH_FAILED:
      return PermissionDenied(message);
    case NATS_INVALID_ARG:
      return InvalidArgument(message);
    default:
      return InternalError(message);
  }
}

Result<std::unique_ptr<NatsConnection>> NatsConnection::Open(const ClusterOptions& options,
                                                             const std::string& name) {
  const int credentials = (options.token ? 1 : 0) + (options.user ? 1 : 0) +
                          (options.creds_file ? 1 : 0);
  if (credentials > 1) {
    return InvalidArgument(
        "NATS credentials: give one of a token, a user and password, or a credentials file");
  }
  if (options.password && !options.user) {
    return InvalidArgument("NATS credentials: a password needs a user");
  }
  if (options.tls_cert.has_value() != options.tls_key.has_value()) {
    return InvalidArgument("NATS TLS: a client certificate and its key go together");
  }
  if (options.jetstream_replicas < 1 || options.jetstream_replicas > 5) {
    return InvalidArgument("JetStream replicas: " + std::to_string(options.jetstream_replicas) +
                           " is not between 1 and 5");
  }
  OptionsHolder holder;
  THEATER_RETURN_IF_ERROR(FromNats(natsOptions_Create(&holder.options), "NATS options"));
  natsOptions* o = holder.options;
  // One server, or several separated by commas (a NATS cluster): the client connects to one and
  // moves to another when it goes.
  std::vector<std::string> urls;
  for (size_t at = 0; at <= options.url.size();) {
    size_t comma = options.url.find(',', at);
    if (comma == std::string::npos) comma = options.url.size();
    if (comma > at) urls.push_back(options.url.substr(at, comma - at));
    at = comma + 1;
  }
  if (urls.empty()) return InvalidArgument("the NATS address is empty");
  std::vector<const char*> servers;
  for (const std::string& url : urls) servers.push_back(url.c_str());
  THEATER_RETURN_IF_ERROR(
      FromNats(natsOptions_SetServers(o, servers.data(), static_cast<int>(servers.size())),
               "the NATS address '" + options.url + "'"));
  THEATER_RETURN_IF_ERROR(FromNats(natsOptions_SetName(o, name.c_str()), "NATS options"));
  THEATER_RETURN_IF_ERROR(
      FromNats(natsOptions_SetTimeout(o, options.connect_timeout.count()), "NATS options"));
  THEATER_RETURN_IF_ERROR(FromNats(natsOptions_SetSendAsap(o, true), "NATS options"));
  THEATER_RETURN_IF_ERROR(FromNats(natsOptions_SetAllowReconnect(o, true), "NATS options"));
  THEATER_RETURN_IF_ERROR(FromNats(natsOptions_SetMaxReconnect(o, -1), "NATS options"));
  THEATER_RETURN_IF_ERROR(FromNats(natsOptions_SetReconnectWait(o, 250), "NATS options"));
  if (options.token) {
    THEATER_RETURN_IF_ERROR(
        FromNats(natsOptions_SetToken(o, options.token->c_str()), "the NATS token"));
  }
  if (options.user) {
    THEATER_RETURN_IF_ERROR(FromNats(
        natsOptions_SetUserInfo(o, options.user->c_str(),
                                options.password ? options.password->c_str() : nullptr),
        "the NATS user"));
  }
  if (options.creds_file) {
    THEATER_RETURN_IF_ERROR(FromNats(
        natsOptions_SetUserCredentialsFromFiles(o, options.creds_file->c_str(), nullptr),
        "the NATS credentials file " + options.creds_file->string()));
  }
  if (options.tls_ca || options.tls_cert || options.url.starts_with("tls://")) {
    THEATER_RETURN_IF_ERROR(FromNats(natsOptions_SetSecure(o, true), "NATS TLS"));
  }
  if (options.tls_ca) {
    THEATER_RETURN_IF_ERROR(FromNats(natsOptions_LoadCATrustedCertificates(o, options.tls_ca->c_str()),
                                     "the NATS TLS authorities " + options.tls_ca->string()));
  }
  if (options.tls_cert) {
    THEATER_RETURN_IF_ERROR(FromNats(
        natsOptions_LoadCertificatesChain(o, options.tls_cert->c_str(), options.tls_key->c_str()),
        "the NATS TLS certificate " + options.tls_cert->string()));
  }
  std::unique_ptr<NatsConnection> connection(new NatsConnection());
  connection->replicas_ = options.jetstream_replicas;
  THEATER_RETURN_IF_ERROR(FromNats(
      natsOptions_SetReconnectedCB(o, &NatsConnection::OnReconnected, connection.get()),
      "NATS options"));
  OnReconnected(nullptr, connection.get());
  natsStatus connected = natsConnection_Connect(&connection->connection_, o);
  if (connected != NATS_OK) {
    return FromNats(connected, "connecting to NATS at " + options.url);
  }
  THEATER_RETURN_IF_ERROR(FromNats(
      natsConnection_JetStream(&connection->jetstream_, connection->connection_, nullptr),
      "NATS JetStream"));
  return connection;
}

void NatsConnection::OnReconnected(natsConnection*, void* self) {
  static_cast<NatsConnection*>(self)->connected_at_.store(
      std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_release);
}

NatsConnection::~NatsConnection() {
  if (jetstream_ != nullptr) jsCtx_Destroy(jetstream_);
  if (connection_ != nullptr) {
    natsConnection_Close(connection_);
    natsConnection_Destroy(connection_);
  }
}

std::string NatsConnection::connected_url() const {
  std::array<char, 512> url{};
  if (natsConnection_GetConnectedUrl(connection_, url.data(), url.size()) != NATS_OK) return "";
  return url.data();
}

namespace {

// How long a teardown waits for the server's answer to its flush.
constexpr int64_t kTeardownFlushMs = 5000;

}  // namespace

void DestroySubscriptionSafely(natsConnection* nc, natsSubscription** sub) {
  if (*sub == nullptr) return;
  natsSubscription_Unsubscribe(*sub);  // out of the connection's table (a second time is a no-op)
  if (natsConnection_FlushTimeout(nc, kTeardownFlushMs) == NATS_OK) {
    natsSubscription_Destroy(*sub);
  }
  *sub = nullptr;
}

void StopSubscription(natsConnection* nc, natsSubscription** sub) {
  if (*sub == nullptr) return;
  // A drain delivers what is pending and completes only after the last callback has returned;
  // an unsubscribe alone would leave a callback in flight on the client's thread.
  if (natsSubscription_Drain(*sub) == NATS_OK) {
    natsSubscription_WaitForDrainCompletion(*sub, 5000);
  }
  // The reader thread may still hold it between its table and its lock: DestroySubscriptionSafely.
  DestroySubscriptionSafely(nc, sub);
}

Status OpenBucket(NatsConnection& nats, const std::string& name, const char* description,
                  kvStore** bucket) {
  natsStatus bound = js_KeyValue(bucket, nats.jetstream(), name.c_str());
  if (bound == NATS_NOT_FOUND) {
    kvConfig config;
    kvConfig_Init(&config);
    config.Bucket = name.c_str();
    config.Description = description;
    config.History = 1;
    config.Replicas = nats.replicas();
    bound = js_CreateKeyValue(bucket, nats.jetstream(), &config);
    // Another host created it at the same moment.
    if (bound != NATS_OK && bound != NATS_NO_RESPONDERS && bound != NATS_TIMEOUT) {
      bound = js_KeyValue(bucket, nats.jetstream(), name.c_str());
    }
  }
  if (bound == NATS_OK) return Status::Ok();
  // JetStream's API has no responders when the server runs without it.
  if (bound == NATS_NO_RESPONDERS || bound == NATS_TIMEOUT) {
    return FailedPrecondition("the NATS server at " + nats.connected_url() +
                              " has no JetStream: start it with JetStream on (nats-server -js)");
  }
  return FromNats(bound, "the key-value bucket " + name);
}

}  // namespace theater::cluster
