// Theater: a WebAssembly actor runtime.
#include "server/client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace theater::server {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

Status WriteAll(int fd, std::span<const uint8_t> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, 1000);
        continue;
      }
      return ErrnoError("sending to the server", errno);
    }
    done += static_cast<size_t>(n);
  }
  return Status();
}

}  // namespace

Result<std::pair<std::string, uint16_t>> SplitAddress(const std::string& address) {
  std::string host;
  std::string port;
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return InvalidArgument("address '" + address + "' is not [host]:port");
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string::npos) return InvalidArgument("address '" + address + "' has no port");
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  if (host.empty()) return InvalidArgument("address '" + address + "' has no host");
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument("address '" + address + "' has an invalid port");
  }
  unsigned long value = std::stoul(port);
  if (value > 65535) return InvalidArgument("address '" + address + "' has an invalid port");
  return std::make_pair(host, static_cast<uint16_t>(value));
}

Result<std::unique_ptr<ManagementClient>> ManagementClient::Connect(Options options) {
  THEATER_ASSIGN_OR_RETURN(auto host_port, SplitAddress(options.address));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(host_port.second);
  if (int rc = ::getaddrinfo(host_port.first.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return Unavailable("cannot resolve '" + host_port.first + "': " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, ::freeaddrinfo);
  Status last = Unavailable("no address for " + options.address);
  for (addrinfo* a = found; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      last = ErrnoError("creating a socket", errno);
      continue;
    }
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc < 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, static_cast<int>(options.connect_timeout.count()));
      if (rc == 0) {
        ::close(fd);
        last = Unavailable("connecting to " + options.address + " timed out");
        continue;
      }
      int error = 0;
      socklen_t len = sizeof(error);
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
      rc = error ? -1 : 0;
      errno = error;
    }
    if (rc < 0) {
      int error = errno;
      ::close(fd);
      if (error == ECONNREFUSED) {
        last = Unavailable("no Theater server is running at " + options.address +
                           " (start one with `theater server`)");
      } else {
        last = ErrnoError("connecting to " + options.address, error);
      }
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::unique_ptr<ManagementClient> client(new ManagementClient(fd, options));
    if (options.token) {
      json command = MakeVariant("Authenticate", json{{"token", *options.token}});
      THEATER_RETURN_IF_ERROR(client->Call(command).status());
    }
    return client;
  }
  return last;
}

ManagementClient::~ManagementClient() {
  if (fd_ >= 0) ::close(fd_);
}

Status ManagementClient::SendRaw(std::span<const uint8_t> bytes) {
  return WriteAll(fd_, bytes);
}

Status ManagementClient::SendMessage(std::span<const uint8_t> message) {
  for (const std::vector<uint8_t>& frame : encoder_.Encode(message)) {
    THEATER_RETURN_IF_ERROR(WriteAll(fd_, frame));
  }
  return Status();
}

Status ManagementClient::Receive(Clock::time_point deadline, bool* timed_out) {
  *timed_out = false;
  uint8_t buffer[64 * 1024];
  std::vector<std::vector<uint8_t>> messages;
  while (received_.empty()) {
    pollfd p{fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, RemainingMs(deadline));
    if (rc < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("waiting for the server", errno);
    }
    if (rc == 0) {
      *timed_out = true;
      return Status();
    }
    ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return ErrnoError("reading from the server", errno);
    }
    if (n == 0) return Unavailable("the server closed the connection");
    messages.clear();
    THEATER_RETURN_IF_ERROR(
        decoder_.Feed({buffer, static_cast<size_t>(n)}, messages).WithContext("from the server"));
    for (auto& m : messages) received_.push_back(std::move(m));
  }
  return Status();
}

Result<Variant> ManagementClient::CallRaw(const json& command) {
  const uint64_t id = next_request_id_++;
  const std::string text = WrapCommand(command, json(id)).dump();
  THEATER_RETURN_IF_ERROR(
      SendMessage({reinterpret_cast<const uint8_t*>(text.data()), text.size()}));
  Clock::time_point deadline = Clock::now() + options_.reply_timeout;
  for (;;) {
    if (received_.empty()) {
      bool timed_out = false;
      THEATER_RETURN_IF_ERROR(Receive(deadline, &timed_out));
      if (timed_out) return DeadlineExceeded("no reply from the server in time");
    }
    std::vector<uint8_t> message = std::move(received_.front());
    received_.pop_front();
    THEATER_ASSIGN_OR_RETURN(Incoming incoming, ParseIncoming(message));
    if (!incoming.wrapped) {
      // Unwrapped: a push, or the server's answer to a frame it could not read.
      if (incoming.response.name == "Error") return StatusFromError(incoming.response.fields);
      if (incoming.response.name == "CompileProgress" && compile_progress_) {
        Result<engine::CompileProgress> progress =
            CompileProgressFromFields(incoming.response.fields);
        if (progress.ok()) {
          compile_progress_(*progress);
          deadline = Clock::now() + options_.reply_timeout;
        }
        continue;
      }
      pushes_.push_back(std::move(incoming.response));
      continue;
    }
    if (incoming.request_id != json(id)) continue;  // a late reply to an abandoned call
    return std::move(incoming.response);
  }
}

Result<Variant> ManagementClient::Call(const json& command) {
  THEATER_ASSIGN_OR_RETURN(Variant reply, CallRaw(command));
  if (reply.name == "Error") return StatusFromError(reply.fields);
  return reply;
}

Result<std::optional<Variant>> ManagementClient::NextPush(std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    if (!pushes_.empty()) {
      Variant push = std::move(pushes_.front());
      pushes_.pop_front();
      return std::optional<Variant>(std::move(push));
    }
    if (received_.empty()) {
      bool timed_out = false;
      THEATER_RETURN_IF_ERROR(Receive(deadline, &timed_out));
      if (timed_out) return std::optional<Variant>();
    }
    std::vector<uint8_t> message = std::move(received_.front());
    received_.pop_front();
    THEATER_ASSIGN_OR_RETURN(Incoming incoming, ParseIncoming(message));
    if (incoming.wrapped) continue;  // a reply nobody waits for any more
    pushes_.push_back(std::move(incoming.response));
  }
}

Result<std::optional<EventPush>> ManagementClient::NextEvent(std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    if (received_.empty()) {
      bool timed_out = false;
      THEATER_RETURN_IF_ERROR(Receive(deadline, &timed_out));
      if (timed_out) return std::optional<EventPush>();
    }
    std::vector<uint8_t> message = std::move(received_.front());
    received_.pop_front();
    EventPush push;
    if (ParseCanonicalEventPush(message, &push)) return std::optional<EventPush>(std::move(push));
    THEATER_ASSIGN_OR_RETURN(Incoming incoming, ParseIncoming(message));
    if (incoming.wrapped) continue;  // a reply nobody waits for any more
    if (incoming.response.name != "ActorEvent") {
      pushes_.push_back(std::move(incoming.response));
      continue;
    }
    THEATER_ASSIGN_OR_RETURN(push, EventPushFromFields(incoming.response.fields));
    return std::optional<EventPush>(std::move(push));
  }
}

Result<std::optional<std::vector<uint8_t>>> ManagementClient::NextMessage(
    std::chrono::milliseconds timeout) {
  if (received_.empty()) {
    bool timed_out = false;
    THEATER_RETURN_IF_ERROR(Receive(Clock::now() + timeout, &timed_out));
    if (timed_out) return std::optional<std::vector<uint8_t>>();
  }
  std::vector<uint8_t> message = std::move(received_.front());
  received_.pop_front();
  return std::optional<std::vector<uint8_t>>(std::move(message));
}

}  // namespace theater::server
