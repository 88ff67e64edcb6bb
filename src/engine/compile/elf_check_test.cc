// Theater: a WebAssembly actor runtime.
#include "engine/compile/elf_check.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <fstream>
#include <random>

#include "engine/compile/subprocess.h"

namespace theater::engine {
namespace {

namespace fs = std::filesystem;

class ElfCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "theater-elf-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Compiles `source` into a shared object with the system C compiler and extra `flags`.
  fs::path BuildSharedObject(const std::string& name, const std::string& source,
                             std::vector<std::string> flags) {
    const fs::path c = dir_ / (name + ".c");
    std::ofstream(c) << source;
    const fs::path so = dir_ / (name + ".so");
    auto cc = FindExecutable("cc");
    EXPECT_TRUE(cc.ok()) << cc.status().ToString();
    if (!cc.ok()) return so;
    std::vector<std::string> argv = {cc->string(), "-O2", "-fPIC", "-shared"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {c.string(), "-o", so.string()});
    auto r = RunSubprocess(argv, {}, std::chrono::seconds(60));
    EXPECT_TRUE(r.ok() && r->ok()) << (r.ok() ? r->output : r.status().ToString());
    return so;
  }

  static std::vector<uint8_t> ReadAll(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
  }

  static constexpr char kTlsUser[] =
      "extern __thread int counter;\n"
      "int theater_module(void) { return ++counter; }\n";

  fs::path dir_;
};

TEST_F(ElfCheckTest, InitialExecTlsIsAccepted) {
  const fs::path so = BuildSharedObject("ie", kTlsUser, {"-ftls-model=initial-exec"});
  EXPECT_TRUE(VerifyCompiledModuleFile(so).ok()) << VerifyCompiledModuleFile(so).ToString();
  EXPECT_TRUE(CheckElfFile(so).ok());
  auto symbols = ReadDynamicSymbols(ReadAll(so));
  ASSERT_TRUE(symbols.ok()) << symbols.status().ToString();
  bool found_module = false, found_counter = false;
  for (const ElfDynamicSymbol& s : *symbols) {
    if (s.name == "theater_module") found_module = s.defined && s.type == STT_FUNC;
    if (s.name == "counter") found_counter = !s.defined && s.type == STT_TLS;
  }
  EXPECT_TRUE(found_module);
  EXPECT_TRUE(found_counter);
}

TEST_F(ElfCheckTest, GlobalDynamicTlsIsRejected) {
  const fs::path so = BuildSharedObject("gd", kTlsUser, {"-ftls-model=global-dynamic"});
  Status s = VerifyCompiledModuleFile(so);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.ToString().find("__tls_get_addr"), std::string::npos) << s.ToString();
  // The cheap header check cannot tell; only the full verification can.
  EXPECT_TRUE(CheckElfFile(so).ok());
}

#if defined(__x86_64__)
TEST_F(ElfCheckTest, TlsDescriptorsAreRejectedToo) {
  // TLS descriptors reach thread-local storage without naming __tls_get_addr.
  const fs::path so =
      BuildSharedObject("desc", kTlsUser, {"-ftls-model=global-dynamic", "-mtls-dialect=gnu2"});
  auto symbols = ReadDynamicSymbols(ReadAll(so));
  ASSERT_TRUE(symbols.ok());
  for (const ElfDynamicSymbol& sym : *symbols) EXPECT_NE(sym.name, "__tls_get_addr");
  Status s = VerifyCompiledModuleFile(so);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.ToString().find("dynamic-TLS relocation"), std::string::npos) << s.ToString();
}
#endif

TEST_F(ElfCheckTest, ObjectWithoutTheModuleSymbolIsRejected) {
  const fs::path so = BuildSharedObject("nosym", "int something_else(void) { return 1; }\n", {});
  Status s = VerifyCompiledModuleFile(so);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.ToString().find("theater_module"), std::string::npos);
  // Hidden visibility keeps the symbol out of the dynamic table.
  const fs::path hidden = BuildSharedObject(
      "hidden", "__attribute__((visibility(\"hidden\"))) int theater_module(void) { return 1; }\n",
      {});
  EXPECT_EQ(VerifyCompiledModuleFile(hidden).code(), StatusCode::kFailedPrecondition);
}

TEST_F(ElfCheckTest, TruncatedAndEmptyFilesFailTheHeaderCheck) {
  const fs::path so = BuildSharedObject("ie", kTlsUser, {"-ftls-model=initial-exec"});
  const std::vector<uint8_t> image = ReadAll(so);
  ASSERT_GT(image.size(), 1000u);
  ASSERT_TRUE(CheckElfHeader(image, image.size()).ok());
  for (size_t size :
       {size_t{0}, size_t{10}, size_t{63}, size_t{64}, image.size() / 2, image.size() - 1}) {
    EXPECT_EQ(
        CheckElfHeader(std::span<const uint8_t>(image.data(), std::min<size_t>(size, 64)), size)
            .code(),
        StatusCode::kFailedPrecondition)
        << size;
    EXPECT_FALSE(VerifyCompiledModule(std::span<const uint8_t>(image.data(), size)).ok()) << size;
  }
  const fs::path truncated = dir_ / "truncated.so";
  fs::copy_file(so, truncated);
  fs::resize_file(truncated, image.size() / 2);
  EXPECT_EQ(CheckElfFile(truncated).code(), StatusCode::kFailedPrecondition);
  fs::resize_file(truncated, 0);
  EXPECT_EQ(CheckElfFile(truncated).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckElfFile(dir_ / "missing.so").code(), StatusCode::kNotFound);
  EXPECT_EQ(CheckElfFile(dir_).code(), StatusCode::kFailedPrecondition);  // a directory
}

TEST_F(ElfCheckTest, RejectsForeignHeaders) {
  const fs::path so = BuildSharedObject("ie", kTlsUser, {"-ftls-model=initial-exec"});
  const std::vector<uint8_t> image = ReadAll(so);
  auto mutated = [&](size_t offset, uint8_t value) {
    std::vector<uint8_t> copy = image;
    copy[offset] = value;
    return CheckElfHeader(copy, copy.size());
  };
  EXPECT_FALSE(mutated(0, 'X').ok());                // magic
  EXPECT_FALSE(mutated(EI_CLASS, ELFCLASS32).ok());  // 32-bit
  EXPECT_FALSE(mutated(EI_DATA, ELFDATA2MSB).ok());  // big-endian
  EXPECT_FALSE(mutated(offsetof(Elf64_Ehdr, e_type), ET_EXEC).ok());
  EXPECT_FALSE(mutated(offsetof(Elf64_Ehdr, e_machine), EM_RISCV).ok());
  // Section table offset pushed far past the end.
  EXPECT_FALSE(mutated(offsetof(Elf64_Ehdr, e_shoff) + 5, 0x7f).ok());
  const std::string text = "#!/bin/sh\necho not an object\n" + std::string(64, ' ');
  EXPECT_FALSE(CheckElfHeader(std::span<const uint8_t>(
                                  reinterpret_cast<const uint8_t*>(text.data()), text.size()),
                              text.size())
                   .ok());
}

TEST_F(ElfCheckTest, CorruptImagesNeverCrashTheReader) {
  const fs::path so = BuildSharedObject("ie", kTlsUser, {"-ftls-model=initial-exec"});
  const std::vector<uint8_t> image = ReadAll(so);
  Elf64_Ehdr eh;
  std::memcpy(&eh, image.data(), sizeof(eh));
  std::mt19937 rng(1234);
  int rejected = 0;
  for (int round = 0; round < 3000; ++round) {
    std::vector<uint8_t> copy = image;
    // Aim most flips at the headers and section table, where the reader's bounds checks live.
    for (int k = 0; k < 4; ++k) {
      size_t at;
      switch (rng() % 3) {
        case 0:
          at = rng() % sizeof(Elf64_Ehdr);
          break;
        case 1:
          at = eh.e_shoff + rng() % (uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr));
          break;
        default:
          at = rng() % copy.size();
      }
      copy[at] = static_cast<uint8_t>(rng());
    }
    if (!VerifyCompiledModule(copy).ok()) ++rejected;
    ReadRelocationTypes(copy).status().IgnoreError();
  }
  EXPECT_GT(rejected, 0);
}

}  // namespace
}  // namespace theater::engine
