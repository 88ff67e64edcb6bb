// Theater: a WebAssembly actor runtime.
//
// Checks on the shared objects the module compiler produces and caches, done with a small
// bounds-checked ELF64 reader (no libelf, no objdump).
//
// Compiled modules run on fibers that migrate between threads, so no thread-local address may
// be cached across a host call (docs/compile-cache.md, "The TLS check"). The pipeline compiles
// with -ftls-model=initial-exec; VerifyCompiledModule proves it took effect: the object must not
// reference __tls_get_addr nor carry dynamic-TLS relocations (module id / TLS descriptor), which
// are what the general- and local-dynamic models and TLS descriptors need. It also checks that
// the object is a shared object for this machine and exports theater_module.
//
// CheckElfHeader is the cheap check used on every cache hit: it reads only the 64-byte header
// and compares the file size with where the header says the section table ends, which catches
// empty and truncated files.
//
// Thread-safety: pure functions; they only read the given file or bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "theater/status.h"

namespace theater::engine {

struct ElfDynamicSymbol {
  std::string name;
  bool defined = false;  // st_shndx != SHN_UNDEF
  uint8_t type = 0;      // STT_*
  uint8_t binding = 0;   // STB_*
};

// What a file must be: a compiled module, or the object of one of its units (which the cache
// also keeps, module_compiler.h).
enum class ElfFileKind { kSharedObject, kRelocatable };

// Validates the ELF header of a shared object (or relocatable object) for this machine against
// the file size. `header` must hold at least the first 64 bytes of the file.
// kFailedPrecondition when invalid.
Status CheckElfHeader(std::span<const uint8_t> header, uint64_t file_size,
                      ElfFileKind kind = ElfFileKind::kSharedObject);

// CheckElfHeader on a file, reading only its header. kNotFound when it does not exist.
Status CheckElfFile(const std::filesystem::path& path,
                    ElfFileKind kind = ElfFileKind::kSharedObject);

// The dynamic symbol table (.dynsym) of a whole shared-object image.
Result<std::vector<ElfDynamicSymbol>> ReadDynamicSymbols(std::span<const uint8_t> image);

// The relocation types of the dynamic (allocated SHT_RELA) relocation sections of a whole image.
Result<std::vector<uint32_t>> ReadRelocationTypes(std::span<const uint8_t> image);

// The full check of a freshly compiled module; see the file comment. kFailedPrecondition (with
// the reason) when the object must not be used.
Status VerifyCompiledModule(std::span<const uint8_t> image);
Status VerifyCompiledModuleFile(const std::filesystem::path& path);

}  // namespace theater::engine
