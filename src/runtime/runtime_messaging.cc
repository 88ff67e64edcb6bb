// Theater: a WebAssembly actor runtime.
//
// The embedder's side of messaging (TheaterRuntime::SendMessage, RequestMessage, OpenChannel,
// SendOnChannel, CloseChannel): forwarded to the MessageClient (theater/message_client.h), which
// takes part through the Router like an actor does. The runtime itself knows no message.
#include "runtime/runtime_impl.h"

namespace theater::runtime {

Status RuntimeImpl::SendMessage(std::string_view id, std::vector<uint8_t> message) {
  return messages_.Send(id, std::move(message));
}

void RuntimeImpl::SendMessageAsync(std::string_view id, std::vector<uint8_t> message,
                                   std::chrono::milliseconds timeout,
                                   std::function<void(Status)> done) {
  messages_.SendAsync(id, std::move(message), timeout, std::move(done));
}

void RuntimeImpl::RequestMessageAsync(std::string_view id, std::vector<uint8_t> message,
                                      std::chrono::milliseconds timeout,
                                      Callback<std::vector<uint8_t>> done) {
  messages_.RequestAsync(id, std::move(message), timeout, std::move(done));
}

Result<std::vector<uint8_t>> RuntimeImpl::RequestMessage(std::string_view id,
                                                         std::vector<uint8_t> message,
                                                         std::chrono::milliseconds timeout) {
  return messages_.Request(id, std::move(message), timeout);
}

Result<ExternalChannel> RuntimeImpl::OpenChannel(std::string_view id,
                                                 std::vector<uint8_t> initial_message,
                                                 ChannelListener listener,
                                                 std::chrono::milliseconds timeout) {
  return messages_.OpenChannel(id, std::move(initial_message), std::move(listener), timeout);
}

Status RuntimeImpl::SendOnChannel(std::string_view channel, std::vector<uint8_t> message) {
  return messages_.SendOnChannel(channel, std::move(message));
}

Status RuntimeImpl::CloseChannel(std::string_view channel) {
  return messages_.CloseChannel(channel);
}

}  // namespace theater::runtime
