// A caching allocator: freed blocks are kept and reused; when a request does not fit, the
// cache is released and the request retried once before failing with OutOfMemory.
// It knows nothing about CUDA: the raw allocator is injected, so the logic is testable on CPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>

namespace sa {

class RawAllocator {
 public:
  virtual ~RawAllocator() = default;
  virtual void* allocate(size_t bytes) = 0;  // nullptr when the device is out of memory
  virtual void release(void* ptr) = 0;
};

struct PoolStats {
  uint64_t liveBytes = 0;    // handed out and not yet released
  uint64_t cachedBytes = 0;  // released, kept for reuse
  uint64_t rawAllocations = 0;
  uint64_t reuses = 0;
};

class CachingPool {
 public:
  // limitBytes = 0: no limit beyond what the raw allocator gives.
  CachingPool(RawAllocator* raw, uint64_t limitBytes);
  ~CachingPool();
  CachingPool(const CachingPool&) = delete;
  CachingPool& operator=(const CachingPool&) = delete;

  // Throws KernelError(OutOfMemory) when the request cannot be met even after emptying the
  // cache, or is larger than kMaxRequest. A zero-byte request returns a valid, distinct block
  // of the minimum size.
  void* allocate(size_t bytes);
  // Returns a block to the cache. A pointer the pool does not own, or a block already
  // released, is ignored: caching it twice would hand the same memory to two owners.
  void release(void* ptr);
  void emptyCache();
  PoolStats stats();

  static size_t roundSize(size_t bytes);
  // Larger requests fail at once: no device has that much, and rounding them could overflow.
  static constexpr size_t kMaxRequest = size_t(1) << 50;

 private:
  void* takeCached(size_t size);
  void releaseCacheLocked();

  RawAllocator* raw_;
  uint64_t limit_;
  std::mutex mutex_;
  std::multimap<size_t, void*> cached_;       // size -> block
  struct Owned {
    size_t size;
    bool cached;
  };
  std::unordered_map<void*, Owned> owned_;    // every block the pool owns
  PoolStats stats_;
};

}  // namespace sa
