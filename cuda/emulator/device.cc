#include "cuda/emulator/device.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cuda/emulator/block.h"
#include "kernels/byte_count.h"

namespace sa::emu {

namespace {

// Everything that reads or writes device memory holds this lock.
std::mutex& deviceLock() {
  static std::mutex* m = new std::mutex();
  return *m;
}

// ---- Memory ------------------------------------------------------------------------------

struct Allocations {
  std::mutex mutex;
  std::map<const char*, size_t> sizes;  // base -> bytes
  size_t used = 0;
};

Allocations& allocations() {
  static Allocations* a = new Allocations();
  return *a;
}

size_t capacityFromEnv() {
  const char* text = std::getenv("SPARSE_ATTENTION_EMU_MEMORY");
  uint64_t bytes = 0;
  if (text && *text && parseByteCount(text, &bytes) && bytes > 0) return size_t(bytes);
  return size_t(8) << 30;
}

uint64_t envNumber(const char* name, uint64_t fallback) {
  const char* text = std::getenv(name);
  if (!text || !*text) return fallback;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  return end && *end == '\0' ? uint64_t(v) : fallback;
}

// ---- Streams -----------------------------------------------------------------------------

}  // namespace

struct Stream {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::function<void()>> queue;
  bool busy = false, stopping = false;
  std::thread worker;

  Stream() : worker([this] { run(); }) {}

  void run() {
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      changed.wait(lock, [this] { return stopping || !queue.empty(); });
      if (queue.empty()) return;
      std::function<void()> work = std::move(queue.front());
      queue.pop_front();
      busy = true;
      lock.unlock();
      {
        std::lock_guard<std::mutex> device(deviceLock());
        work();
      }
      lock.lock();
      busy = false;
      changed.notify_all();
    }
  }
};

namespace {

std::mutex& streamsLock() {
  static std::mutex* m = new std::mutex();
  return *m;
}
std::vector<Stream*>& liveStreams() {
  static auto* v = new std::vector<Stream*>();
  return *v;
}

// ---- Kernels -----------------------------------------------------------------------------

constexpr int kDefaultDynamicShared = 48 * 1024;
constexpr int kMaxDynamicShared = 227 * 1024;  // sm_90's opt-in maximum per block

std::mutex& attributesLock() {
  static std::mutex* m = new std::mutex();
  return *m;
}
std::unordered_map<const void*, int>& maxDynamicShared() {
  static auto* m = new std::unordered_map<const void*, int>();
  return *m;
}

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdull;
}
uint64_t hashText(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Every launch appends its kernel's name to a file of SPARSE_ATTENTION_EMU_COVERAGE_DIR (one
// file per process, so that concurrent test processes do not interleave).
void recordCoverage(const std::string& kernel) {
  static const char* dir = std::getenv("SPARSE_ATTENTION_EMU_COVERAGE_DIR");
  if (!dir || !*dir) return;
  static int fd = [] {
    const std::string path = std::string(dir) + "/launches-" + std::to_string(getpid()) + ".txt";
    return open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  }();
  if (fd < 0) return;
  const std::string line = kernel + "\n";
  if (write(fd, line.data(), line.size()) < 0) return;
}

// The device memory a launch may have written, for the schedule check below.
struct Snapshot {
  std::vector<std::pair<char*, std::vector<char>>> blocks;
};
Snapshot snapshotDevice() {
  Snapshot s;
  std::lock_guard<std::mutex> lock(allocations().mutex);
  for (const auto& [base, bytes] : allocations().sizes)
    s.blocks.emplace_back(const_cast<char*>(base), std::vector<char>(base, base + bytes));
  return s;
}

void runGrid(const Launch& l, uint64_t seed, void* shared) {
  const uint64_t blocks = uint64_t(l.grid.x) * l.grid.y * l.grid.z;
  // Blocks of a grid run in no particular order on a GPU: a permutation drawn from the seed.
  std::vector<uint64_t> order(blocks);
  for (uint64_t i = 0; i < blocks; ++i) order[i] = i;
  uint64_t rng = seed;
  for (uint64_t i = blocks; i > 1; --i) {
    rng = mix(rng, i);
    std::swap(order[i - 1], order[rng % i]);
  }
  BlockSpec spec{&l.kernel, l.grid, l.block, dim3(), shared, l.sharedBytes, 0};
  for (uint64_t n : order) {
    spec.blockIdx = dim3(unsigned(n % l.grid.x), unsigned(n / l.grid.x % l.grid.y), unsigned(n / (uint64_t(l.grid.x) * l.grid.y)));
    spec.seed = mix(seed, n);
    runBlock(spec, l.body);
  }
}

// Runs the grid with the schedule of SPARSE_ATTENTION_EMU_SEED and, when
// SPARSE_ATTENTION_EMU_CHECK_SCHEDULES=1, once more from the same device memory with a
// second schedule (SPARSE_ATTENTION_EMU_SEED2): the two must leave every byte of device
// memory identical, or the kernel's result depends on the order its threads ran in.
void execute(const Launch& l) {
  static const uint64_t seed = envNumber("SPARSE_ATTENTION_EMU_SEED", 1);
  static const uint64_t seed2 = envNumber("SPARSE_ATTENTION_EMU_SEED2", 2);
  static const bool checkSchedules = envNumber("SPARSE_ATTENTION_EMU_CHECK_SCHEDULES", 0) == 1;
  static std::unordered_map<std::string, uint64_t> launchCounts;
  recordCoverage(l.kernel);
  const uint64_t nth = launchCounts[l.kernel]++;
  const uint64_t salt = mix(hashText(l.kernel), nth);
  // Exactly the requested bytes, so that an access past them is a heap overflow.
  std::unique_ptr<char[]> shared(l.sharedBytes ? new char[l.sharedBytes] : nullptr);
  if (!checkSchedules) return runGrid(l, mix(seed, salt), shared.get());

  Snapshot before = snapshotDevice();
  runGrid(l, mix(seed, salt), shared.get());
  std::vector<std::vector<char>> first(before.blocks.size());
  for (size_t i = 0; i < before.blocks.size(); ++i) {
    auto& [base, bytes] = before.blocks[i];
    if (std::memcmp(base, bytes.data(), bytes.size()) == 0) continue;
    first[i].assign(base, base + bytes.size());
    std::memcpy(base, bytes.data(), bytes.size());
  }
  runGrid(l, mix(seed2, salt), shared.get());
  for (size_t i = 0; i < before.blocks.size(); ++i) {
    auto& [base, bytes] = before.blocks[i];
    const std::vector<char>& expected = first[i].empty() ? bytes : first[i];
    if (std::memcmp(base, expected.data(), expected.size()) == 0) continue;
    size_t at = 0;
    while (base[at] == expected[at]) ++at;
    std::fprintf(stderr,
                 "sparse-attention emulated CUDA device: kernel %s wrote different results under two schedules "
                 "(seeds %llu and %llu): device allocation %p of %zu bytes differs first at byte %zu\n",
                 l.kernel.c_str(), (unsigned long long)seed, (unsigned long long)seed2, static_cast<void*>(base),
                 expected.size(), at);
    std::abort();
  }
}

thread_local cudaError_t tLastError = cudaSuccess;

}  // namespace

// ---- Memory ------------------------------------------------------------------------------

size_t deviceCapacity() {
  static const size_t capacity = capacityFromEnv();
  return capacity;
}

void* deviceAllocate(size_t bytes) {
  Allocations& a = allocations();
  const size_t rounded = std::max<size_t>(bytes, 1);
  {
    std::lock_guard<std::mutex> lock(a.mutex);
    if (rounded > deviceCapacity() - a.used) return nullptr;
    a.used += rounded;
  }
  // 256-byte aligned as cudaMalloc's; exactly `bytes` long, so that AddressSanitizer reports
  // an access past the end.
  void* p = nullptr;
  if (posix_memalign(&p, 256, rounded) != 0) {
    std::lock_guard<std::mutex> lock(a.mutex);
    a.used -= rounded;
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(a.mutex);
  a.sizes[static_cast<const char*>(p)] = rounded;
  return p;
}

bool deviceFree(void* p) {
  Allocations& a = allocations();
  {
    std::lock_guard<std::mutex> lock(a.mutex);
    auto it = a.sizes.find(static_cast<const char*>(p));
    if (it == a.sizes.end()) return false;
    a.used -= it->second;
    a.sizes.erase(it);
  }
  std::free(p);
  return true;
}

size_t deviceUsed() {
  std::lock_guard<std::mutex> lock(allocations().mutex);
  return allocations().used;
}

bool isDeviceRange(const void* p, size_t bytes) {
  Allocations& a = allocations();
  std::lock_guard<std::mutex> lock(a.mutex);
  auto q = static_cast<const char*>(p);
  auto it = a.sizes.upper_bound(q);
  if (it == a.sizes.begin()) return false;
  --it;
  return size_t(q - it->first) <= it->second && bytes <= it->second - size_t(q - it->first);
}

// ---- Streams -----------------------------------------------------------------------------

Stream* streamCreate() {
  auto* s = new Stream();
  std::lock_guard<std::mutex> lock(streamsLock());
  liveStreams().push_back(s);
  return s;
}

Stream* defaultStream() {
  static Stream* s = streamCreate();
  return s;
}

Stream* streamOf(cudaStream_t s) { return s ? reinterpret_cast<Stream*>(s) : defaultStream(); }

void streamEnqueue(Stream* s, std::function<void()> work) {
  std::lock_guard<std::mutex> lock(s->mutex);
  s->queue.push_back(std::move(work));
  s->changed.notify_all();
}

void streamSynchronize(Stream* s) {
  std::unique_lock<std::mutex> lock(s->mutex);
  s->changed.wait(lock, [s] { return s->queue.empty() && !s->busy; });
}

bool streamIdle(Stream* s) {
  std::lock_guard<std::mutex> lock(s->mutex);
  return s->queue.empty() && !s->busy;
}

void streamDestroy(Stream* s) {
  {
    std::lock_guard<std::mutex> lock(streamsLock());
    auto& v = liveStreams();
    v.erase(std::remove(v.begin(), v.end(), s), v.end());
  }
  {
    std::lock_guard<std::mutex> lock(s->mutex);
    s->stopping = true;
    s->changed.notify_all();
  }
  s->worker.join();  // runs the queued work first
  delete s;
}

void deviceSynchronize() {
  std::vector<Stream*> streams;
  {
    std::lock_guard<std::mutex> lock(streamsLock());
    streams = liveStreams();
  }
  for (Stream* s : streams) streamSynchronize(s);
}

// ---- Kernels -----------------------------------------------------------------------------

cudaError_t setMaxDynamicShared(const void* function, int bytes) {
  if (!function) return cudaErrorInvalidDeviceFunction;
  if (bytes < 0 || bytes > kMaxDynamicShared) return cudaErrorInvalidValue;
  std::lock_guard<std::mutex> lock(attributesLock());
  maxDynamicShared()[function] = bytes;
  return cudaSuccess;
}

cudaError_t launch(Launch l, cudaStream_t stream) {
  const dim3 g = l.grid, b = l.block;
  if (g.x == 0 || g.y == 0 || g.z == 0 || g.x > 0x7fffffffu || g.y > 65535 || g.z > 65535)
    return cudaErrorInvalidConfiguration;
  if (b.x == 0 || b.y == 0 || b.z == 0 || b.x > 1024 || b.y > 1024 || b.z > 64 || uint64_t(b.x) * b.y * b.z > 1024)
    return cudaErrorInvalidConfiguration;
  int limit = kDefaultDynamicShared;
  {
    std::lock_guard<std::mutex> lock(attributesLock());
    auto it = maxDynamicShared().find(l.function);
    if (it != maxDynamicShared().end()) limit = it->second;
  }
  if (l.sharedBytes > size_t(limit)) return cudaErrorInvalidValue;
  streamEnqueue(streamOf(stream), [l = std::move(l)] { execute(l); });
  return cudaSuccess;
}

void setLastError(cudaError_t error) {
  if (error != cudaSuccess) tLastError = error;
}
cudaError_t takeLastError() {
  const cudaError_t e = tLastError;
  tLastError = cudaSuccess;
  return e;
}
cudaError_t peekLastError() { return tLastError; }

}  // namespace sa::emu
