// Theater: a WebAssembly actor runtime.
#include "server/framing.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <string_view>

namespace theater::server {
namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64Encode(std::span<const uint8_t> in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    out.push_back(kBase64[v >> 18]);
    out.push_back(kBase64[(v >> 12) & 63]);
    out.push_back(kBase64[(v >> 6) & 63]);
    out.push_back(kBase64[v & 63]);
  }
  if (size_t rest = in.size() - i; rest > 0) {
    uint32_t v = uint32_t{in[i]} << 16;
    if (rest == 2) v |= uint32_t{in[i + 1]} << 8;
    out.push_back(kBase64[v >> 18]);
    out.push_back(kBase64[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kBase64[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// Strict standard base64 with padding; false for anything else.
bool Base64Decode(std::string_view in, std::vector<uint8_t>* out) {
  if (in.size() % 4 != 0) return false;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out->clear();
  out->reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    bool last = i + 4 == in.size();
    int pad = last ? (in[i + 3] == '=') + (in[i + 2] == '=' && in[i + 3] == '=') : 0;
    int v[4];
    for (int k = 0; k < 4 - pad; ++k) {
      v[k] = value(in[i + k]);
      if (v[k] < 0) return false;
    }
    uint32_t bits = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12);
    if (pad < 2) bits |= uint32_t(v[2]) << 6;
    if (pad < 1) bits |= uint32_t(v[3]);
    out->push_back(static_cast<uint8_t>(bits >> 16));
    if (pad < 2) out->push_back(static_cast<uint8_t>(bits >> 8));
    if (pad < 1) out->push_back(static_cast<uint8_t>(bits));
  }
  return true;
}

void PutLength(std::vector<uint8_t>& frame, size_t length) {
  frame.push_back(static_cast<uint8_t>(length >> 24));
  frame.push_back(static_cast<uint8_t>(length >> 16));
  frame.push_back(static_cast<uint8_t>(length >> 8));
  frame.push_back(static_cast<uint8_t>(length));
}

std::vector<uint8_t> Frame(std::string_view json) {
  std::vector<uint8_t> frame;
  frame.reserve(4 + json.size());
  PutLength(frame, json.size());
  frame.insert(frame.end(), json.begin(), json.end());
  return frame;
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

std::vector<std::vector<uint8_t>> FrameEncoder::Encode(std::span<const uint8_t> message) {
  std::vector<std::vector<uint8_t>> frames;
  if (message.size() <= kMaxFragmentData) {
    std::string json = "{\"Complete\":[";
    json.reserve(json.size() + message.size() * 4 + 2);
    for (size_t i = 0; i < message.size(); ++i) {
      if (i) json.push_back(',');
      json += std::to_string(message[i]);
    }
    json += "]}";
    frames.push_back(Frame(json));
    return frames;
  }
  const uint64_t id = next_message_id_++;
  const size_t total = (message.size() + kMaxFragmentData - 1) / kMaxFragmentData;
  for (size_t index = 0; index < total; ++index) {
    size_t start = index * kMaxFragmentData;
    size_t length = std::min(kMaxFragmentData, message.size() - start);
    std::string json = "{\"Fragment\":{\"message_id\":" + std::to_string(id) +
                       ",\"fragment_index\":" + std::to_string(index) +
                       ",\"total_fragments\":" + std::to_string(total) + ",\"data\":\"" +
                       Base64Encode(message.subspan(start, length)) + "\"}}";
    frames.push_back(Frame(json));
  }
  return frames;
}

Status FrameDecoder::Feed(std::span<const uint8_t> bytes,
                          std::vector<std::vector<uint8_t>>& messages,
                          std::chrono::steady_clock::time_point now) {
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  size_t at = 0;
  Status status;
  while (buffer_.size() - at >= 4) {
    size_t length = (size_t{buffer_[at]} << 24) | (size_t{buffer_[at + 1]} << 16) |
                    (size_t{buffer_[at + 2]} << 8) | size_t{buffer_[at + 3]};
    if (length > limits_.max_frame_bytes) {
      status = ResourceExhausted("frame of " + std::to_string(length) + " bytes exceeds the " +
                                 std::to_string(limits_.max_frame_bytes) + "-byte limit");
      break;
    }
    if (buffer_.size() - at - 4 < length) break;  // the rest of the frame has not arrived
    status = HandleFrame({buffer_.data() + at + 4, length}, messages, now);
    at += 4 + length;
    if (!status.ok()) break;
  }
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(at));
  Expire(now);
  return status;
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
  nlohmann::json frame = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
  if (frame.is_discarded()) return ParseError("malformed frame: not JSON");
  if (!frame.is_object() || frame.size() != 1 || !frame.contains("Fragment") ||
      !frame["Fragment"].is_object()) {
    return ParseError("malformed frame: expected {\"Complete\":[...]} or {\"Fragment\":{...}}");
  }
  const nlohmann::json& f = frame["Fragment"];
  auto unsigned_field = [&](const char* key, uint64_t max, uint64_t* out) -> Status {
    auto it = f.find(key);
    if (it == f.end() || !it->is_number_unsigned() || it->get<uint64_t>() > max) {
      return ParseError(std::string("malformed fragment: ") + key +
                        " must be an unsigned integer up to " + std::to_string(max));
    }
    *out = it->get<uint64_t>();
    return Status();
  };
  uint64_t id = 0, index = 0, total = 0;
  THEATER_RETURN_IF_ERROR(unsigned_field("message_id", UINT64_MAX, &id));
  THEATER_RETURN_IF_ERROR(unsigned_field("fragment_index", UINT32_MAX, &index));
  THEATER_RETURN_IF_ERROR(unsigned_field("total_fragments", UINT32_MAX, &total));
  if (total == 0 || index >= total) {
    return ParseError("malformed fragment: index " + std::to_string(index) + " of " +
                      std::to_string(total));
  }
  if (total > limits_.max_message_bytes / kMaxFragmentData + 1) {
    return ResourceExhausted("a message of " + std::to_string(total) +
                             " fragments exceeds the message size limit");
  }
  auto data = f.find("data");
  std::vector<uint8_t> bytes;
  if (data == f.end() || !data->is_string() ||
      !Base64Decode(data->get_ref<const std::string&>(), &bytes)) {
    return ParseError("malformed fragment: data must be base64");
  }
  if (bytes.size() > kMaxFragmentData) {
    return ParseError("malformed fragment: more than " + std::to_string(kMaxFragmentData) +
                      " bytes of data");
  }
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    if (pending_.size() >= limits_.max_pending_messages) {
      return ResourceExhausted("more than " + std::to_string(limits_.max_pending_messages) +
                               " fragmented messages in progress");
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
  if (pending_bytes_ + bytes.size() > limits_.max_pending_bytes ||
      p.bytes + bytes.size() > limits_.max_message_bytes) {
    return ResourceExhausted("fragmented messages exceed the size limit");
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
