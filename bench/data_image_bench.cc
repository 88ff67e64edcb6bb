// Theater: a WebAssembly actor runtime.
//
// data_image_bench: what putting a module's data segments into a fresh linear memory costs, the
// way the engine does it now and the ways it could (docs/benchmarks.md, "JavaScript actors at run
// time"). Without the runtime: the kernel's part of a JavaScript actor's spawn, alone.
//
//   data_image_bench MODULE.wasm|COMPONENT.wasm [--n N] [--mode copy|populate|cow]
//     (a component: its largest core module, e.g. a componentize-js actor's engine)
//   N times (default 1000): reserve 1 GiB, make the module's initial memory read-write, then
//     copy      write every active segment into it (ModuleData::WriteTo: a fault per fresh page);
//     populate  madvise(MADV_POPULATE_WRITE) over each run of pages the segments cover, then copy;
//     cow       map a memfd holding the initialised memory MAP_PRIVATE | MAP_FIXED over it, then
//               read every page the segments cover and write one in 80 (a copy-on-write image:
//               pages shared until written).
//   Memories are kept until the end, as live actors keep theirs. Prints µs per memory, the
//   resident memory (RSS counts a shared page once per mapping) and the proportional set size.
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "bench_util.h"
#include "common/leb128.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace {

struct Segment {
  uint32_t offset = 0;
  uint32_t size = 0;
  const uint8_t* bytes = nullptr;
};

[[noreturn]] void Fail(const std::string& why) {
  std::fprintf(stderr, "data_image_bench: %s\n", why.c_str());
  std::exit(1);
}

// LEB128 at b[i], which moves past it (common/leb128.h).
uint64_t Leb(const std::vector<uint8_t>& b, size_t& i, bool is_signed = false) {
  const std::span<const uint8_t> rest = std::span(b).subspan(std::min(i, b.size()));
  const theater::LebValue v =
      is_signed ? theater::DecodeSleb(rest, 64) : theater::DecodeUleb(rest, 64);
  if (!v.ok()) Fail("invalid LEB128 at byte " + std::to_string(i));
  i += v.length;
  return v.value;
}

// The sections of a module or component: (id, start, size).
struct Section {
  uint8_t id;
  size_t start, size;
};
std::vector<Section> Sections(const std::vector<uint8_t>& b) {
  std::vector<Section> out;
  for (size_t i = 8; i < b.size();) {
    const uint8_t id = b[i++];
    const size_t size = Leb(b, i);
    out.push_back({id, i, size});
    i += size;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 1000;
  std::string mode = "copy";
  std::string module;
  CLI::App app("A module's data segments into fresh memories", "data_image_bench");
  app.add_option("module", module, "MODULE.wasm, or a component")->required();
  app.add_option("--n", n, "Memories");
  app.add_option("--mode", mode)->check(CLI::IsMember({"copy", "populate", "cow"}));
  theater::bench::ParseCommandLine(app, argc, argv);
  std::ifstream in(module, std::ios::binary);
  std::vector<uint8_t> wasm((std::istreambuf_iterator<char>(in)), {});
  if (wasm.size() < 8) Fail("cannot read " + module);
  if (wasm[4] != 1 || wasm[6] != 0) {  // a component: its largest core module (section 1)
    Section largest{0, 0, 0};
    for (const Section& s : Sections(wasm)) {
      if (s.id == 1 && s.size > largest.size) largest = s;
    }
    if (!largest.size) Fail("a component without core modules");
    wasm = std::vector<uint8_t>(wasm.begin() + largest.start,
                                wasm.begin() + largest.start + largest.size);
  }
  uint64_t initial_pages = 0;
  std::vector<Segment> segments;
  for (const Section& s : Sections(wasm)) {
    size_t i = s.start;
    if (s.id == 5) {  // memory: the first one's initial size
      Leb(wasm, i);
      const uint64_t flags = Leb(wasm, i);
      if (flags & 4) Fail("a 64-bit memory");
      initial_pages = Leb(wasm, i);
    } else if (s.id == 11) {  // data: active segments at i32.const offsets
      const uint64_t count = Leb(wasm, i);
      for (uint64_t k = 0; k < count; ++k) {
        if (Leb(wasm, i) != 0 || wasm[i++] != 0x41) Fail("a segment not active at i32.const");
        Segment seg;
        seg.offset = static_cast<uint32_t>(Leb(wasm, i, /*is_signed=*/true));
        if (wasm[i++] != 0x0b) Fail("an offset expression longer than i32.const");
        seg.size = static_cast<uint32_t>(Leb(wasm, i));
        seg.bytes = wasm.data() + i;
        i += seg.size;
        if (seg.size) segments.push_back(seg);
      }
    }
  }
  const size_t memory_bytes = initial_pages << 16;
  if (segments.empty() || !memory_bytes) Fail("no data segments, or no memory");
  std::set<uint32_t> pages;
  for (const Segment& s : segments) {
    for (uint32_t p = s.offset / 4096; p <= (s.offset + s.size - 1) / 4096; ++p) pages.insert(p);
  }
  std::vector<std::pair<uint32_t, uint32_t>> runs;  // (first page, count)
  for (uint32_t p : pages) {
    if (!runs.empty() && runs.back().first + runs.back().second == p) {
      ++runs.back().second;
    } else {
      runs.push_back({p, 1});
    }
  }
  const int image = memfd_create("data-image", MFD_CLOEXEC);
  if (image < 0 || ftruncate(image, static_cast<off_t>(memory_bytes)) != 0) Fail("memfd");
  {
    auto* m = static_cast<uint8_t*>(
        mmap(nullptr, memory_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, image, 0));
    if (m == MAP_FAILED) Fail("mmap of the image");
    for (const Segment& s : segments) std::memcpy(m + s.offset, s.bytes, s.size);
    munmap(m, memory_bytes);
  }

  std::vector<uint8_t*> memories;
  volatile uint8_t sink = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int k = 0; k < n; ++k) {
    auto* m = static_cast<uint8_t*>(
        mmap(nullptr, 1ull << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
    if (m == MAP_FAILED || mprotect(m, memory_bytes, PROT_READ | PROT_WRITE) != 0) Fail("mmap");
    if (mode == "copy" || mode == "populate") {
      if (mode == "populate") {
        for (const auto& [first, count] : runs) {
          if (madvise(m + size_t{first} * 4096, size_t{count} * 4096, MADV_POPULATE_WRITE) != 0)
            Fail("madvise(MADV_POPULATE_WRITE)");
        }
      }
      for (const Segment& s : segments) std::memcpy(m + s.offset, s.bytes, s.size);
    } else if (mode == "cow") {
      if (mmap(m, memory_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, image, 0) != m)
        Fail("mmap of the image over the memory");
      int i = 0;
      for (uint32_t p : pages) {
        sink = sink + m[size_t{p} * 4096];
        if (i++ % 80 == 0) m[size_t{p} * 4096] = 1;
      }
    } else {
      Fail("--mode copy|populate|cow");
    }
    memories.push_back(m);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  unsigned long size = 0, resident = 0;
  if (FILE* statm = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(statm, "%lu %lu", &size, &resident) != 2) resident = 0;
    std::fclose(statm);
  }
  unsigned long pss_kib = 0;
  {
    std::ifstream rollup("/proc/self/smaps_rollup");
    std::string line;
    while (std::getline(rollup, line)) {
      if (line.rfind("Pss:", 0) == 0) pss_kib = std::stoul(line.substr(4));
    }
  }
  std::printf(
      "{\"mode\":\"%s\",\"memories\":%d,\"us_per_memory\":%.1f,\"segments\":%zu,"
      "\"data_bytes_pages\":%zu,\"page_runs\":%zu,\"initial_memory_kib\":%zu,"
      "\"rss_kib_per_memory\":%.0f,\"pss_kib_per_memory\":%.0f}\n",
      mode.c_str(), n, seconds * 1e6 / n, segments.size(), pages.size(), runs.size(),
      memory_bytes / 1024, resident * 4096.0 / 1024 / n, static_cast<double>(pss_kib) / n);
  return 0;
}
