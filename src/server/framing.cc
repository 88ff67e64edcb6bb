// Theater: a WebAssembly actor runtime.
#include "server/framing.h"

#include "common/bytes.h"
#include "common/json_writer.h"
#include "server/protocol.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>

namespace theater::server {
namespace {

// Writes the 4-byte big-endian length of the frame that starts at `start` (its body being what
// follows the length) into the placeholder there.
void PatchLength(std::string& out, size_t start) {
  const size_t length = out.size() - start - 4;
  out[start] = static_cast<char>(length >> 24);
  out[start + 1] = static_cast<char>(length >> 16);
  out[start + 2] = static_cast<char>(length >> 8);
  out[start + 3] = static_cast<char>(length);
}

// Reads a Fragment frame in exactly the form FrameEncoder writes (keys in that order, no
// whitespace), the form that streams of events arrive in, without building a JSON tree. Returns
// false for anything else, which the general parser then reads (or refuses).
bool ParseCanonicalFragment(std::span<const uint8_t> in, uint64_t* id, uint64_t* index,
                            uint64_t* total, std::string_view* data) {
  const std::string_view text(reinterpret_cast<const char*>(in.data()), in.size());
  size_t i = 0;
  auto literal = [&](std::string_view token) {
    if (text.substr(i, token.size()) != token) return false;
    i += token.size();
    return true;
  };
  auto number = [&](uint64_t* out) {
    size_t start = i;
    uint64_t v = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 19) {
      v = v * 10 + static_cast<uint64_t>(text[i] - '0');
      ++i;
    }
    if (i == start || (text[start] == '0' && i - start > 1)) return false;
    *out = v;
    return true;
  };
  if (!literal("{\"Fragment\":{\"message_id\":") || !number(id) ||
      !literal(",\"fragment_index\":") || !number(index) || !literal(",\"total_fragments\":") ||
      !number(total) || !literal(",\"data\":\"")) {
    return false;
  }
  const size_t end = text.find('"', i);
  if (end == std::string_view::npos || text.substr(end) != "\"}}") return false;
  *data = text.substr(i, end - i);
  return true;
}

// Parses `{"Complete":[n,n,...]}` (whitespace allowed between tokens) without building a JSON
// tree: a frame of tens of MiB would otherwise cost many times its size. Returns false when the
// frame is not of that form; sets *error when it is but is malformed.
bool ParseComplete(std::span<const uint8_t> in, std::vector<uint8_t>* out, std::string* error) {
  size_t i = 0;
  auto ws = [&] {
    while (i < in.size() && (in[i] == ' ' || in[i] == '\t' || in[i] == '\n' || in[i] == '\r')) ++i;
  };
  auto expect = [&](std::string_view token) {
    ws();
    if (in.size() - i < token.size() ||
        std::string_view(reinterpret_cast<const char*>(in.data()) + i, token.size()) != token) {
      return false;
    }
    i += token.size();
    return true;
  };
  if (!expect("{") || !expect("\"Complete\"")) return false;
  if (!expect(":") || !expect("[")) {
    *error = "Complete: expected an array of bytes";
    return true;
  }
  out->clear();
  ws();
  if (i < in.size() && in[i] == ']') {
    ++i;
  } else {
    for (;;) {
      ws();
      if (i >= in.size() || in[i] < '0' || in[i] > '9') {
        *error = "Complete: byte " + std::to_string(out->size()) + " is not a number";
        return true;
      }
      if (in[i] == '0' && i + 1 < in.size() && in[i + 1] >= '0' && in[i + 1] <= '9') {
        *error = "Complete: byte " + std::to_string(out->size()) + " has a leading zero";
        return true;
      }
      uint32_t v = 0;
      size_t digits = 0;
      while (i < in.size() && in[i] >= '0' && in[i] <= '9' && digits < 4) {
        v = v * 10 + (in[i] - '0');
        ++i;
        ++digits;
      }
      if (v > 255) {
        *error = "Complete: byte " + std::to_string(out->size()) + " is out of range";
        return true;
      }
      out->push_back(static_cast<uint8_t>(v));
      ws();
      if (i < in.size() && in[i] == ',') {
        ++i;
        continue;
      }
      if (i < in.size() && in[i] == ']') {
        ++i;
        break;
      }
      *error = "Complete: expected ',' or ']' after byte " + std::to_string(out->size() - 1);
      return true;
    }
  }
  if (!expect("}")) {
    *error = "Complete: expected '}'";
    return true;
  }
  ws();
  if (i != in.size()) *error = "Complete: trailing bytes after the frame's JSON";
  return true;
}

}  // namespace

void FrameEncoder::EncodeTo(std::span<const uint8_t> message, std::string& out) {
  if (message.size() <= complete_max_) {
    const size_t start = out.size();
    out.append(4, '\0');
    JsonWriter w(out);
    AppendBytesJson(message, w.BeginVariant("Complete").ValueSlot());
    w.EndObject();
    PatchLength(out, start);
    return;
  }
  const uint64_t id = next_message_id_++;
  const size_t total = (message.size() + kMaxFragmentData - 1) / kMaxFragmentData;
  for (size_t index = 0; index < total; ++index) {
    const size_t offset = index * kMaxFragmentData;
    const size_t length = std::min(kMaxFragmentData, message.size() - offset);
    const size_t start = out.size();
    out.append(4, '\0');
    // The form the decoder's fast path reads (ParseCanonicalFragment above).
    JsonWriter w(out);
    w.BeginVariant("Fragment").BeginObject().Member("message_id", id);
    w.Member("fragment_index", uint64_t{index}).Member("total_fragments", uint64_t{total});
    AppendBytesJson(message.subspan(offset, length), w.Key("data").ValueSlot(),
                    ByteEncoding::kBase64);
    w.EndObject().EndObject();
    PatchLength(out, start);
  }
}

std::vector<std::vector<uint8_t>> FrameEncoder::Encode(std::span<const uint8_t> message) {
  std::string stream;
  EncodeTo(message, stream);
  // Split the stream back into its frames.
  std::vector<std::vector<uint8_t>> frames;
  for (size_t at = 0; at < stream.size();) {
    const size_t length = (size_t{static_cast<uint8_t>(stream[at])} << 24) |
                          (size_t{static_cast<uint8_t>(stream[at + 1])} << 16) |
                          (size_t{static_cast<uint8_t>(stream[at + 2])} << 8) |
                          size_t{static_cast<uint8_t>(stream[at + 3])};
    frames.emplace_back(stream.begin() + static_cast<std::ptrdiff_t>(at),
                        stream.begin() + static_cast<std::ptrdiff_t>(at + 4 + length));
    at += 4 + length;
  }
  return frames;
}

Status FrameDecoder::Feed(std::span<const uint8_t> bytes,
                          std::vector<std::vector<uint8_t>>& messages,
                          std::chrono::steady_clock::time_point now, size_t max_messages) {
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  size_t at = 0;
  size_t taken = 0;
  Status status;
  while (buffer_.size() - at >= 4 && taken < max_messages) {
    size_t length = (size_t{buffer_[at]} << 24) | (size_t{buffer_[at + 1]} << 16) |
                    (size_t{buffer_[at + 2]} << 8) | size_t{buffer_[at + 3]};
    if (length > limits_.max_frame_bytes) {
      status = ResourceExhausted("frame of " + std::to_string(length) + " bytes exceeds the " +
                                 limits_.frame_limit_label + " of " +
                                 std::to_string(limits_.max_frame_bytes) + " bytes (" +
                                 limits_.frame_limit_name + ")");
      break;
    }
    if (buffer_.size() - at - 4 < length) break;  // the rest of the frame has not arrived
    const size_t before = messages.size();
    status = HandleFrame({buffer_.data() + at + 4, length}, messages, now);
    at += 4 + length;
    taken += messages.size() - before;
    if (!status.ok()) break;
  }
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(at));
  Expire(now);
  return status;
}

bool FrameDecoder::HasWholeFrame() const {
  if (buffer_.size() < 4) return false;
  const size_t length = (size_t{buffer_[0]} << 24) | (size_t{buffer_[1]} << 16) |
                        (size_t{buffer_[2]} << 8) | size_t{buffer_[3]};
  return buffer_.size() - 4 >= length;
}

Status FrameDecoder::HandleFrame(std::span<const uint8_t> json,
                                 std::vector<std::vector<uint8_t>>& messages,
                                 std::chrono::steady_clock::time_point now) {
  std::vector<uint8_t> complete;
  std::string error;
  if (ParseComplete(json, &complete, &error)) {
    if (!error.empty()) return ParseError("malformed frame: " + error);
    messages.push_back(std::move(complete));
    return Status();
  }
  // A fragment carries at most kMaxFragmentData bytes as base64, plus a little JSON around it.
  if (json.size() > kMaxFragmentData / 3 * 4 + 4096) {
    return ParseError("malformed frame: " + std::to_string(json.size()) +
                      " bytes is too large for a fragment");
  }
  uint64_t id = 0, index = 0, total = 0;
  std::string_view data_text;
  nlohmann::json frame;  // holds data_text when the general parser read the frame
  if (!ParseCanonicalFragment(json, &id, &index, &total, &data_text)) {
    frame = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
    if (frame.is_discarded()) return ParseError("malformed frame: not JSON");
    if (!frame.is_object() || frame.size() != 1 || !frame.contains("Fragment") ||
        !frame["Fragment"].is_object()) {
      return ParseError("malformed frame: expected {\"Complete\":[...]} or {\"Fragment\":{...}}");
    }
    const nlohmann::json& f = frame["Fragment"];
    auto unsigned_field = [&](const char* key, uint64_t* out) -> Status {
      auto it = f.find(key);
      if (it == f.end() || !it->is_number_unsigned()) {
        return ParseError(std::string("malformed fragment: ") + key +
                          " must be an unsigned integer");
      }
      *out = it->get<uint64_t>();
      return Status();
    };
    THEATER_RETURN_IF_ERROR(unsigned_field("message_id", &id));
    THEATER_RETURN_IF_ERROR(unsigned_field("fragment_index", &index));
    THEATER_RETURN_IF_ERROR(unsigned_field("total_fragments", &total));
    auto data = f.find("data");
    if (data == f.end() || !data->is_string()) {
      return ParseError("malformed fragment: data must be base64");
    }
    data_text = data->get_ref<const std::string&>();
  }
  if (index > UINT32_MAX || total > UINT32_MAX) {
    return ParseError("malformed fragment: fragment_index and total_fragments must fit 32 bits");
  }
  if (total == 0 || index >= total) {
    return ParseError("malformed fragment: index " + std::to_string(index) + " of " +
                      std::to_string(total));
  }
  if (total > limits_.max_message_bytes / kMaxFragmentData + 1) {
    return ResourceExhausted(
        "a message of " + std::to_string(total) + " fragments exceeds the message limit of " +
        std::to_string(limits_.max_message_bytes) + " bytes (max_message_bytes)");
  }
  std::vector<uint8_t> bytes;
  if (!Base64Decode(data_text, &bytes))
    return ParseError("malformed fragment: data must be base64");
  if (bytes.size() > kMaxFragmentData) {
    return ParseError("malformed fragment: more than " + std::to_string(kMaxFragmentData) +
                      " bytes of data");
  }
  auto it = pending_.find(id);
  if (total == 1 && it == pending_.end()) {
    // A whole message in one fragment: nothing to reassemble.
    if (bytes.size() > limits_.max_message_bytes) {
      return ResourceExhausted(
          "a message of " + std::to_string(bytes.size()) + " bytes exceeds the message limit of " +
          std::to_string(limits_.max_message_bytes) + " bytes (max_message_bytes)");
    }
    messages.push_back(std::move(bytes));
    return Status();
  }
  if (it == pending_.end()) {
    if (pending_.size() >= limits_.max_pending_messages) {
      return ResourceExhausted("more than " + std::to_string(limits_.max_pending_messages) +
                               " fragmented messages in progress (max_pending_messages)");
    }
    it = pending_.emplace(id, Pending{}).first;
    it->second.total = static_cast<uint32_t>(total);
    it->second.started = now;
  }
  Pending& p = it->second;
  if (p.total != total) {
    return ParseError("malformed fragment: message " + std::to_string(id) + " announced " +
                      std::to_string(p.total) + " fragments, now " + std::to_string(total));
  }
  if (p.fragments.count(static_cast<uint32_t>(index))) {
    return ParseError("malformed fragment: fragment " + std::to_string(index) + " of message " +
                      std::to_string(id) + " arrived twice");
  }
  if (p.bytes + bytes.size() > limits_.max_message_bytes) {
    return ResourceExhausted("a fragmented message exceeds the message limit of " +
                             std::to_string(limits_.max_message_bytes) +
                             " bytes (max_message_bytes)");
  }
  if (pending_bytes_ + bytes.size() > limits_.max_pending_bytes) {
    return ResourceExhausted("fragmented messages in progress exceed " +
                             std::to_string(limits_.max_pending_bytes) +
                             " bytes (max_pending_bytes)");
  }
  p.bytes += bytes.size();
  pending_bytes_ += bytes.size();
  p.fragments.emplace(static_cast<uint32_t>(index), std::move(bytes));
  if (p.fragments.size() == p.total) {
    std::vector<uint8_t> message;
    message.reserve(p.bytes);
    for (auto& [i, piece] : p.fragments) message.insert(message.end(), piece.begin(), piece.end());
    pending_bytes_ -= p.bytes;
    pending_.erase(it);
    messages.push_back(std::move(message));
  }
  return Status();
}

void FrameDecoder::Expire(std::chrono::steady_clock::time_point now) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now - it->second.started >= limits_.fragment_timeout) {
      pending_bytes_ -= it->second.bytes;
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace theater::server
