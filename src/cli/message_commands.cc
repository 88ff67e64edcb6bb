// Theater: a WebAssembly actor runtime.
//
// Subcommands that talk to actors: `message` (a one-way send, or a request that waits for the
// reply) and `channel open` (an interactive channel: lines from stdin go to the actor, messages
// from the actor are printed as they arrive).
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <iostream>

#include "cli/context.h"
#include "common/bytes.h"

namespace theater::cli {
namespace {

using namespace std::chrono_literals;

struct MessageArgs {
  std::string actor;
  std::string text;
  std::string file;
  bool request = false;
};

int Message(CommandContext& ctx, const MessageArgs& args, bool text_given) {
  const Output& out = ctx.out();
  if (text_given == !args.file.empty()) {
    return UsageError(ctx, "give the message as an argument or with --file, not both or neither");
  }
  std::vector<uint8_t> data(args.text.begin(), args.text.end());
  if (!args.file.empty()) {
    THEATER_ASSIGN_OR_RETURN_EXIT(data, ReadFileBytes(args.file), out);
  }
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  THEATER_ASSIGN_OR_RETURN_EXIT(std::string id, ResolveActorId(*client, args.actor), out);
  json fields{{"id", id}, {"data", server::BytesToJson(data)}};
  if (!args.request) {
    Result<Variant> reply =
        CallExpect(*client, MakeVariant("SendActorMessage", fields), "SentMessage");
    if (!reply.ok()) return out.Error(reply.status());
    if (out.json()) {
      out.PrintJson({{"id", id}, {"sent", data.size()}});
    } else {
      std::cerr << "sent " << data.size() << " bytes to " << id << "\n";
    }
    return kExitOk;
  }
  // Its answer may wait for a compile: a child spawned from a module not compiled yet.
  fields["progress"] = true;
  Result<Variant> reply =
      CallExpect(*client, MakeVariant("RequestActorMessage", fields), "RequestedMessage");
  if (!reply.ok()) return out.Error(reply.status());
  THEATER_ASSIGN_OR_RETURN_EXIT(std::vector<uint8_t> answer,
                                server::BytesField(reply->fields, "message"), out);
  if (out.json()) {
    out.PrintJson({{"id", id}, {"reply", BytesForJson(answer)}});
    return kExitOk;
  }
  // The reply's bytes as they are, so `theater message --request ... > file` keeps them exact;
  // on a terminal a newline keeps the prompt on its own line.
  std::cout.write(reinterpret_cast<const char*>(answer.data()),
                  static_cast<std::streamsize>(answer.size()));
  if (isatty(STDOUT_FILENO) && (answer.empty() || answer.back() != '\n')) std::cout << "\n";
  std::cout.flush();
  return kExitOk;
}

// --- channel open ----------------------------------------------------------------------------

struct ChannelArgs {
  std::string actor;
  std::string message;
  std::string file;
  int linger_ms = 500;
};

// Reads complete lines from a file descriptor without stdio buffering (which would hide data
// from poll()).
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  // Reads what is available; false at EOF or on an error (when no complete line remains).
  bool Fill() {
    char buffer[4096];
    ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    pending_.append(buffer, static_cast<size_t>(n));
    return true;
  }
  // The next complete line (without its newline); at EOF, the unterminated rest.
  std::optional<std::string> Next() {
    size_t newline = pending_.find('\n');
    if (newline == std::string::npos) {
      if (eof_ && !pending_.empty()) {
        std::string rest = std::move(pending_);
        pending_.clear();
        return rest;
      }
      return std::nullopt;
    }
    std::string line = pending_.substr(0, newline);
    pending_.erase(0, newline + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }
  bool eof() const { return eof_; }

 private:
  int fd_;
  bool eof_ = false;
  std::string pending_;
};

class ChannelSession {
 public:
  ChannelSession(const CommandContext& ctx, server::ManagementClient& client, std::string channel)
      : ctx_(ctx), client_(client), channel_(std::move(channel)) {}

  // Prints every push already received or readable now. Returns false once the actor closed the
  // channel.
  Result<bool> DrainPushes() {
    for (;;) {
      THEATER_ASSIGN_OR_RETURN(std::optional<Variant> push, client_.NextPush(0ms));
      if (!push) return true;
      if (JsonString(push->fields, "channel_id") != channel_) continue;
      if (push->name == "ChannelMessage") {
        THEATER_ASSIGN_OR_RETURN(std::vector<uint8_t> message,
                                 server::BytesField(push->fields, "message"));
        PrintIncoming(message);
        last_incoming_ = std::chrono::steady_clock::now();
      } else if (push->name == "ChannelClosed") {
        if (ctx_.out().json()) {
          ctx_.out().PrintJsonLine({{"channel_id", channel_}, {"closed_by", "actor"}});
        } else {
          std::cerr << "the actor closed the channel\n";
        }
        return false;
      }
    }
  }

  void PrintIncoming(const std::vector<uint8_t>& message) const {
    if (ctx_.out().json()) {
      ctx_.out().PrintJsonLine({{"channel_id", channel_}, {"message", BytesForJson(message)}});
      return;
    }
    const std::string text =
        IsPrintableText(message) ? BytesToText(message) : "hex:" + HexEncode(message);
    // On a terminal, mark what came from the actor; piped, print just the messages.
    if (isatty(STDOUT_FILENO)) {
      std::cout << ctx_.out().Paint("< ", Style::kCyan) << text << "\n";
    } else {
      std::cout << text << "\n";
    }
    std::cout.flush();
  }

  Status Send(const std::string& line) {
    json fields{{"channel_id", channel_},
                {"message", server::BytesToJson(
                                {reinterpret_cast<const uint8_t*>(line.data()), line.size()})}};
    return CallExpect(client_, MakeVariant("SendOnChannel", fields), "MessageSent").status();
  }

  Status Close() {
    return CallExpect(client_, MakeVariant("CloseChannel", {{"channel_id", channel_}}),
                      "ChannelClosed")
        .status();
  }

  std::chrono::steady_clock::time_point last_incoming() const { return last_incoming_; }

 private:
  const CommandContext& ctx_;
  server::ManagementClient& client_;
  std::string channel_;
  std::chrono::steady_clock::time_point last_incoming_ = std::chrono::steady_clock::now();
};

int ChannelOpen(CommandContext& ctx, const ChannelArgs& args) {
  const Output& out = ctx.out();
  if (!args.message.empty() && !args.file.empty()) {
    return UsageError(ctx, "give the opening message with --message or --file, not both");
  }
  std::vector<uint8_t> initial(args.message.begin(), args.message.end());
  if (!args.file.empty()) {
    THEATER_ASSIGN_OR_RETURN_EXIT(initial, ReadFileBytes(args.file), out);
  }
  CatchInterrupts();
  THEATER_ASSIGN_OR_RETURN_EXIT(auto client, ctx.Connect(), out);
  THEATER_ASSIGN_OR_RETURN_EXIT(std::string id, ResolveActorId(*client, args.actor), out);
  json fields{{"actor_id", {{"Actor", id}}}, {"initial_message", server::BytesToJson(initial)}};
  Result<Variant> opened = CallExpect(*client, MakeVariant("OpenChannel", fields), "ChannelOpened");
  if (!opened.ok()) return out.Error(opened.status().WithContext("opening a channel to " + id));
  const std::string channel = JsonString(opened->fields, "channel_id");
  if (out.json()) {
    out.PrintJsonLine({{"channel_id", channel}, {"actor_id", id}, {"opened", true}});
  } else if (isatty(STDIN_FILENO)) {
    std::cerr << "channel " << channel << " open to " << id
              << "; type lines to send, /close or Ctrl-D to close\n";
  }
  ChannelSession session(ctx, *client, channel);
  LineReader input(STDIN_FILENO);
  bool stdin_open = true;
  std::chrono::steady_clock::time_point input_ended{};
  for (;;) {
    Result<bool> still_open = session.DrainPushes();
    if (!still_open.ok()) return out.Error(still_open.status());
    if (!*still_open) return kExitOk;
    if (InterruptCount() > 0) {
      session.Close().IgnoreError();  // leaving anyway; the server closes it on disconnect too
      return kExitInterrupted;
    }
    if (!stdin_open) {
      // After EOF, wait for answers still on their way until the actor has been quiet for
      // --linger milliseconds.
      const auto quiet_since = std::max(session.last_incoming(), input_ended);
      if (std::chrono::steady_clock::now() - quiet_since >=
          std::chrono::milliseconds(args.linger_ms)) {
        break;
      }
    }
    pollfd fds[2] = {{client->fd(), POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    const int count = stdin_open ? 2 : 1;
    int rc = ::poll(fds, count, 100);
    if (rc < 0 && errno != EINTR) return out.Error(ErrnoError("waiting for input", errno));
    if (rc <= 0 || !stdin_open || !(fds[1].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    const bool more = input.Fill();
    bool close_now = false;
    while (std::optional<std::string> line = input.Next()) {
      if (*line == "/close") {
        close_now = true;
        break;
      }
      if (Status sent = session.Send(*line); !sent.ok()) {
        return out.Error(sent.WithContext("sending on channel " + channel));
      }
    }
    if (close_now) break;
    if (!more) {
      stdin_open = false;
      input_ended = std::chrono::steady_clock::now();
    }
  }
  if (Status closed = session.Close(); !closed.ok()) return out.Error(closed);
  if (out.json()) {
    out.PrintJsonLine({{"channel_id", channel}, {"closed_by", "client"}});
  } else if (isatty(STDIN_FILENO)) {
    std::cerr << "channel closed\n";
  }
  return kExitOk;
}

}  // namespace

void AddMessageCommands(CLI::App& app, CommandSet& commands) {
  auto message = std::make_shared<MessageArgs>();
  CLI::App* message_cmd = app.add_subcommand(
      "message", "Send a message to an actor (handle-send), or a request (handle-request)");
  AddActorArgument(message_cmd, message->actor);
  CLI::Option* text_opt = message_cmd->add_option("message", message->text, "The message text");
  message_cmd->add_option("-f,--file", message->file, "Send this file's bytes")->excludes(text_opt);
  message_cmd->add_flag("-r,--request", message->request,
                        "Send a request and print the actor's reply");
  commands.Add(message_cmd, [message, text_opt](CommandContext& ctx) {
    return Message(ctx, *message, text_opt->count() > 0);
  });

  CLI::App* channel_cmd = app.add_subcommand("channel", "Channels to actors");
  channel_cmd->require_subcommand(1);
  auto channel = std::make_shared<ChannelArgs>();
  CLI::App* open_cmd = channel_cmd->add_subcommand(
      "open",
      "Open a channel to an actor: send each line of stdin, print what the actor sends; /close "
      "or end of input closes it");
  AddActorArgument(open_cmd, channel->actor);
  open_cmd->add_option("-m,--message", channel->message, "The opening message (default: empty)");
  open_cmd->add_option("-f,--file", channel->file, "Send this file's bytes as the opening message");
  open_cmd
      ->add_option("--linger", channel->linger_ms,
                   "After end of input, keep printing until the actor has been quiet this "
                   "many milliseconds")
      ->capture_default_str();
  commands.Add(open_cmd, [channel](CommandContext& ctx) { return ChannelOpen(ctx, *channel); });
}

}  // namespace theater::cli
