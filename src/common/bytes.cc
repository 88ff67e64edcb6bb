// Theater: a WebAssembly actor runtime.
#include "common/bytes.h"

#include <openssl/evp.h>

#include <cerrno>
#include <fstream>

namespace theater {
namespace {

template <typename Container>
Result<Container> ReadWhole(const std::filesystem::path& path, std::string_view what) {
  std::error_code ec;
  std::string name(what);
  if (!std::filesystem::exists(path, ec)) return NotFound(name + " not found: " + path.string());
  if (std::filesystem::is_directory(path, ec)) {
    return InvalidArgument(name + " is a directory: " + path.string());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoError("opening " + name + " " + path.string(), errno);
  // One read of the whole file: a character-at-a-time stream iterator costs ~10x more on
  // modules of a few hundred KiB, and spawning reads one per actor.
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  Container out;
  if (size > 0) {
    out.resize(static_cast<size_t>(size));
    in.read(reinterpret_cast<char*>(out.data()), size);
    out.resize(static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return ErrnoError("reading " + name + " " + path.string(), errno);
  return out;
}

}  // namespace

namespace {
// OpenSSL 3 looks the algorithm up on every one-shot SHA256() call and allocates a context;
// chains hash two events per actor call, so both are done once (per process, per thread).
const EVP_MD* Sha256Md() {
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}
EVP_MD_CTX* ThreadContext() {
  struct Holder {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Holder() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Holder holder;
  return holder.ctx;
}
}  // namespace

Sha256Hasher::Sha256Hasher() : ctx_(ThreadContext()) {
  EVP_DigestInit_ex2(static_cast<EVP_MD_CTX*>(ctx_), Sha256Md(), nullptr);
}

void Sha256Hasher::Update(std::span<const uint8_t> data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}

Sha256Digest Sha256Hasher::Final() {
  Sha256Digest out;
  unsigned int size = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), out.data(), &size);
  return out;
}

Sha256Digest Sha256(std::span<const uint8_t> data) {
  Sha256Hasher hasher;
  hasher.Update(data);
  return hasher.Final();
}

std::string HexEncode(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

Result<std::vector<uint8_t>> ReadFileBytes(const std::filesystem::path& path,
                                           std::string_view what) {
  return ReadWhole<std::vector<uint8_t>>(path, what);
}

Result<std::string> ReadFileText(const std::filesystem::path& path, std::string_view what) {
  return ReadWhole<std::string>(path, what);
}

}  // namespace theater
