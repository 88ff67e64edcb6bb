// Theater: a WebAssembly actor runtime.
//
// THEATER_ADDRESS_SANITIZER is 1 in a build with AddressSanitizer (THEATER_SANITIZE=ON), 0
// otherwise. GCC announces the sanitizer with __SANITIZE_ADDRESS__, clang (before 15) only
// through __has_feature, and the project is built by both: code and tests that must behave
// differently under the sanitizer (no block reuse that would hide a use-after-free, no RSS or
// speed bounds while the quarantine holds freed memory) test this one macro.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define THEATER_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define THEATER_ADDRESS_SANITIZER 1
#endif
#endif
#ifndef THEATER_ADDRESS_SANITIZER
#define THEATER_ADDRESS_SANITIZER 0
#endif
