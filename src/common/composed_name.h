// Theater: a WebAssembly actor runtime.
//
// ComposedName: a name made of parts ("theater:simple/runtime" "." "log"), built on the stack
// when it fits in 256 bytes, so that looking something up by it allocates nothing. For the hot
// paths that look up host functions and exports by their qualified names at every spawn or call.
//
// Thread-safety: a plain value. Ownership: owns its characters; view() is valid while it lives
// (it is neither copyable nor movable, so the view cannot dangle into a moved-from buffer).
#pragma once

#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>

namespace theater {

class ComposedName {
 public:
  ComposedName(std::initializer_list<std::string_view> parts) {
    size_t size = 0;
    for (std::string_view part : parts) size += part.size();
    char* at = inline_;
    if (size > sizeof inline_) {
      spill_.resize(size);
      at = spill_.data();
    }
    view_ = std::string_view(at, size);
    for (std::string_view part : parts) {
      if (part.empty()) continue;  // an empty view may have a null data(): memcpy must not see it
      std::memcpy(at, part.data(), part.size());
      at += part.size();
    }
  }
  ComposedName(const ComposedName&) = delete;
  ComposedName& operator=(const ComposedName&) = delete;

  std::string_view view() const { return view_; }
  std::string str() const { return std::string(view_); }

 private:
  char inline_[256];
  std::string spill_;
  std::string_view view_;
};

}  // namespace theater
