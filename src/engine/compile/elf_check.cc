// Theater: a WebAssembly actor runtime.
#include "engine/compile/elf_check.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace theater::engine {
namespace {

#if defined(__x86_64__)
constexpr uint16_t kHostMachine = EM_X86_64;
constexpr uint32_t kDynamicTlsRelocations[] = {R_X86_64_DTPMOD64, R_X86_64_DTPOFF64,
                                               R_X86_64_TLSDESC};
#elif defined(__aarch64__)
constexpr uint16_t kHostMachine = EM_AARCH64;
constexpr uint32_t kDynamicTlsRelocations[] = {R_AARCH64_TLS_DTPMOD, R_AARCH64_TLS_DTPREL,
                                               R_AARCH64_TLSDESC};
#else
#error "the compiled-module TLS check knows the relocation types of x86-64 and aarch64 only"
#endif

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the ELF reader assumes a little-endian host"
#endif

constexpr char kTlsGetAddr[] = "__tls_get_addr";
constexpr char kModuleSymbol[] = "theater_module";

Status Bad(std::string why) {
  return FailedPrecondition("not a usable compiled module: " + std::move(why));
}

// Copies a T out of `image` at `offset` if it fits; ELF structures may be unaligned in a
// hostile file, so they are never accessed in place.
template <typename T>
bool ReadAt(std::span<const uint8_t> image, uint64_t offset, T* out) {
  if (offset > image.size() || image.size() - offset < sizeof(T)) return false;
  std::memcpy(out, image.data() + offset, sizeof(T));
  return true;
}

// [offset, offset + count * size) lies inside a file of `file_size` bytes, without overflow.
bool RangeFits(uint64_t offset, uint64_t count, uint64_t size, uint64_t file_size) {
  if (size != 0 && count > UINT64_MAX / size) return false;
  const uint64_t bytes = count * size;
  return offset <= file_size && bytes <= file_size - offset;
}

Result<Elf64_Ehdr> ReadHeader(std::span<const uint8_t> image) {
  Elf64_Ehdr eh;
  if (!ReadAt(image, 0, &eh)) return Bad("file too short for an ELF header");
  THEATER_RETURN_IF_ERROR(CheckElfHeader(image, image.size()));
  return eh;
}

Result<std::vector<Elf64_Shdr>> ReadSections(std::span<const uint8_t> image, const Elf64_Ehdr& eh) {
  std::vector<Elf64_Shdr> sections(eh.e_shnum);
  for (uint16_t i = 0; i < eh.e_shnum; ++i) {
    if (!ReadAt(image, eh.e_shoff + uint64_t{i} * sizeof(Elf64_Shdr), &sections[i])) {
      return Bad("section header out of bounds");
    }
  }
  return sections;
}

// The bytes of a section, bounds-checked.
Result<std::span<const uint8_t>> SectionBytes(std::span<const uint8_t> image,
                                              const Elf64_Shdr& sh) {
  if (sh.sh_type == SHT_NOBITS) return std::span<const uint8_t>();
  if (!RangeFits(sh.sh_offset, 1, sh.sh_size, image.size())) {
    return Bad("section data out of bounds");
  }
  return image.subspan(sh.sh_offset, sh.sh_size);
}

}  // namespace

Status CheckElfHeader(std::span<const uint8_t> header, uint64_t file_size, ElfFileKind kind) {
  Elf64_Ehdr eh;
  if (!ReadAt(header, 0, &eh) || file_size < sizeof(eh)) {
    return Bad("file of " + std::to_string(file_size) + " bytes is too short for an ELF header");
  }
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return Bad("no ELF magic");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
      eh.e_ident[EI_VERSION] != EV_CURRENT) {
    return Bad("not a little-endian ELF64 file");
  }
  const bool relocatable = kind == ElfFileKind::kRelocatable;
  if (eh.e_type != (relocatable ? ET_REL : ET_DYN)) {
    return Bad(relocatable ? "not a relocatable object" : "not a shared object");
  }
  if (eh.e_machine != kHostMachine) return Bad("built for another machine type");
  if (eh.e_ehsize != sizeof(Elf64_Ehdr) || eh.e_shentsize != sizeof(Elf64_Shdr) ||
      (!relocatable && eh.e_phentsize != sizeof(Elf64_Phdr))) {
    return Bad("unexpected ELF header sizes");
  }
  // A relocatable object has no program headers.
  if (eh.e_shnum == 0 || (eh.e_phnum == 0) != relocatable) {
    return Bad("no section headers, or program headers where none belong");
  }
  // The linker writes the section header table last, so a truncated file fails this check.
  if (!RangeFits(eh.e_shoff, eh.e_shnum, sizeof(Elf64_Shdr), file_size) ||
      !RangeFits(eh.e_phoff, eh.e_phnum, sizeof(Elf64_Phdr), file_size)) {
    return Bad("header tables extend past the end of the " + std::to_string(file_size) +
               "-byte file (truncated?)");
  }
  if (eh.e_shstrndx >= eh.e_shnum) return Bad("invalid section name table index");
  return Status::Ok();
}

Status CheckElfFile(const std::filesystem::path& path, ElfFileKind kind) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound(path.string() + " does not exist");
    return ErrnoError("opening " + path.string(), errno);
  }
  struct stat st;
  uint8_t header[sizeof(Elf64_Ehdr)] = {};
  ssize_t n = -1;
  int err = 0;
  if (::fstat(fd, &st) != 0) {
    err = errno;
  } else if (S_ISREG(st.st_mode)) {
    do {
      n = ::pread(fd, header, sizeof(header), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) err = errno;
  }
  ::close(fd);
  if (err != 0) return ErrnoError("reading " + path.string(), err);
  if (!S_ISREG(st.st_mode)) return Bad(path.string() + " is not a regular file");
  return CheckElfHeader(std::span<const uint8_t>(header, static_cast<size_t>(n)),
                        static_cast<uint64_t>(st.st_size), kind)
      .WithContext(path.string());
}

Result<std::vector<ElfDynamicSymbol>> ReadDynamicSymbols(std::span<const uint8_t> image) {
  THEATER_ASSIGN_OR_RETURN(Elf64_Ehdr eh, ReadHeader(image));
  THEATER_ASSIGN_OR_RETURN(std::vector<Elf64_Shdr> sections, ReadSections(image, eh));
  const Elf64_Shdr* dynsym = nullptr;
  for (const Elf64_Shdr& sh : sections) {
    if (sh.sh_type != SHT_DYNSYM) continue;
    if (dynsym != nullptr) return Bad("more than one dynamic symbol table");
    dynsym = &sh;
  }
  if (dynsym == nullptr) return Bad("no dynamic symbol table");
  if (dynsym->sh_entsize != sizeof(Elf64_Sym)) return Bad("unexpected dynamic symbol size");
  if (dynsym->sh_link >= sections.size() || sections[dynsym->sh_link].sh_type != SHT_STRTAB) {
    return Bad("dynamic symbol table without a string table");
  }
  THEATER_ASSIGN_OR_RETURN(std::span<const uint8_t> syms, SectionBytes(image, *dynsym));
  THEATER_ASSIGN_OR_RETURN(std::span<const uint8_t> strtab,
                           SectionBytes(image, sections[dynsym->sh_link]));
  std::vector<ElfDynamicSymbol> out;
  for (size_t off = 0; off + sizeof(Elf64_Sym) <= syms.size(); off += sizeof(Elf64_Sym)) {
    Elf64_Sym sym;
    std::memcpy(&sym, syms.data() + off, sizeof(sym));
    if (sym.st_name >= strtab.size()) return Bad("symbol name out of bounds");
    const auto* begin = reinterpret_cast<const char*>(strtab.data()) + sym.st_name;
    const void* nul = std::memchr(begin, '\0', strtab.size() - sym.st_name);
    if (nul == nullptr) return Bad("unterminated symbol name");
    out.push_back(ElfDynamicSymbol{std::string(begin, static_cast<const char*>(nul)),
                                   sym.st_shndx != SHN_UNDEF,
                                   static_cast<uint8_t>(ELF64_ST_TYPE(sym.st_info)),
                                   static_cast<uint8_t>(ELF64_ST_BIND(sym.st_info))});
  }
  return out;
}

Result<std::vector<uint32_t>> ReadRelocationTypes(std::span<const uint8_t> image) {
  THEATER_ASSIGN_OR_RETURN(Elf64_Ehdr eh, ReadHeader(image));
  THEATER_ASSIGN_OR_RETURN(std::vector<Elf64_Shdr> sections, ReadSections(image, eh));
  std::vector<uint32_t> types;
  for (const Elf64_Shdr& sh : sections) {
    if (sh.sh_type == SHT_REL && (sh.sh_flags & SHF_ALLOC) != 0) {
      return Bad("unexpected SHT_REL section (this ABI uses RELA)");
    }
    // Only relocations the dynamic loader applies (allocated sections) matter at run time.
    if (sh.sh_type != SHT_RELA || (sh.sh_flags & SHF_ALLOC) == 0) continue;
    if (sh.sh_entsize != sizeof(Elf64_Rela)) return Bad("unexpected relocation entry size");
    THEATER_ASSIGN_OR_RETURN(std::span<const uint8_t> relas, SectionBytes(image, sh));
    for (size_t off = 0; off + sizeof(Elf64_Rela) <= relas.size(); off += sizeof(Elf64_Rela)) {
      Elf64_Rela rela;
      std::memcpy(&rela, relas.data() + off, sizeof(rela));
      types.push_back(static_cast<uint32_t>(ELF64_R_TYPE(rela.r_info)));
    }
  }
  return types;
}

Status VerifyCompiledModule(std::span<const uint8_t> image) {
  THEATER_ASSIGN_OR_RETURN(std::vector<ElfDynamicSymbol> symbols, ReadDynamicSymbols(image));
  bool exports_module = false;
  for (const ElfDynamicSymbol& sym : symbols) {
    if (sym.name == kTlsGetAddr) {
      return Bad(
          "it references __tls_get_addr, so thread-local addresses could be cached across a fiber "
          "switch (was it compiled without -ftls-model=initial-exec?)");
    }
    if (sym.name == kModuleSymbol && sym.defined && sym.type == STT_FUNC &&
        sym.binding == STB_GLOBAL) {
      exports_module = true;
    }
  }
  THEATER_ASSIGN_OR_RETURN(std::vector<uint32_t> relocations, ReadRelocationTypes(image));
  for (uint32_t type : relocations) {
    for (uint32_t bad : kDynamicTlsRelocations) {
      if (type == bad) {
        return Bad("it has a dynamic-TLS relocation (type " + std::to_string(type) +
                   "); only the initial-exec TLS model is allowed");
      }
    }
  }
  if (!exports_module) return Bad("it does not export theater_module()");
  return Status::Ok();
}

Status VerifyCompiledModuleFile(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening " + path.string(), errno);
  std::vector<uint8_t> image;
  struct stat st;
  int err = 0;
  if (::fstat(fd, &st) != 0) {
    err = errno;
  } else {
    image.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < image.size()) {
      const ssize_t n =
          ::pread(fd, image.data() + done, image.size() - done, static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        err = errno;
        break;
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    image.resize(done);
  }
  ::close(fd);
  if (err != 0) return ErrnoError("reading " + path.string(), err);
  return VerifyCompiledModule(image).WithContext(path.string());
}

}  // namespace theater::engine
