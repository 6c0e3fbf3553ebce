// The block executor of the emulated device. Each CUDA thread is a Boost.Context fiber with a
// stack of its own; the scheduler resumes one runnable fiber at a time, chosen by a seeded
// generator, and a fiber runs until it waits at a barrier or a warp rendezvous, or returns.
// Nothing else interleaves threads, so between two synchronisation points the threads of a
// block run in an order that changes with the seed: a missing barrier shows as a different or
// poisoned result rather than passing by luck.
#include "cuda/emulator/block.h"

#include <sys/mman.h>

#include <boost/context/fiber.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cuda/emulator/thread.h"

// The emulator's own sources are not instrumented (they are not the code under test, and they
// are its hottest path); SA_EMU_SANITIZED tells them that the kernels around them are, so that
// fiber switches are announced to AddressSanitizer.
#if defined(__SANITIZE_ADDRESS__) || SA_EMU_SANITIZED
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define SA_EMU_ASAN 1
#else
#define SA_EMU_ASAN 0
#endif

namespace sa::emu {

namespace {

namespace bctx = boost::context;

// Kernel frames are small (a few KiB of registers spilled to the stack by the host compiler),
// but the sanitizers widen them several times.
constexpr size_t kStackBytes = 256 * 1024;
constexpr size_t kGuardBytes = 4096;

// Stacks are kept per OS thread and reused from block to block: mapping 1024 of them for
// every block would dominate the run time.
class StackPool {
 public:
  ~StackPool() {
    for (void* base : free_) munmap(base, kStackBytes + kGuardBytes);
  }
  void* take() {
    if (!free_.empty()) {
      void* base = free_.back();
      free_.pop_back();
      return base;
    }
    void* base = mmap(nullptr, kStackBytes + kGuardBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
      std::fprintf(stderr, "sparse-attention emulated CUDA device: cannot map a thread stack\n");
      std::abort();
    }
    mprotect(base, kGuardBytes, PROT_NONE);  // the stack grows down into the guard page
    return base;
  }
  void give(void* base) {
#if SA_EMU_ASAN
    // A fiber ends by switching away, not by returning, so its last frames stay poisoned.
    ASAN_UNPOISON_MEMORY_REGION(static_cast<char*>(base) + kGuardBytes, kStackBytes);
#endif
    free_.push_back(base);
  }

 private:
  std::vector<void*> free_;
};

thread_local StackPool tStacks;

// Returns a fiber's stack to the pool when Boost.Context is done with it.
struct PooledStack {
  void* base;
  bctx::stack_context allocate() { return {}; }  // never called: the stack is preallocated
  void deallocate(bctx::stack_context&) noexcept { tStacks.give(base); }
};

enum class State { Runnable, AtBarrier, AtWarp, Done };

struct Fiber {
  ThreadContext ctx;
  State state = State::Runnable;
  const char* waitingAt = nullptr;  // the barrier or warp operation it waits at
  int barrierResult = 0;
  void* stackBase = nullptr;
  bctx::fiber fiber;  // resumed by the scheduler
  bctx::fiber sink;   // resumed by the fiber to return to the scheduler
#if SA_EMU_ASAN
  void* fakeStack = nullptr;
#endif
};

// A warp rendezvous in progress: the lanes of `mask` that have arrived, and their slots.
struct Rendezvous {
  unsigned mask;
  const char* op;
  unsigned arrived = 0;
  void* slots[kWarpSize] = {};
};

struct BlockState {
  const BlockSpec* spec;
  int threads;
  std::vector<Fiber> fibers;
  std::vector<int> runnable;
  std::vector<std::vector<Rendezvous>> warps;
  Fiber* current = nullptr;
  uint64_t rng;
  // The barrier being gathered.
  int barrierArrived = 0, barrierCount = 0;
  const char* barrierOp = nullptr;
  // The scheduler's stack, for the sanitizer's fiber switches.
  const void* schedulerBottom = nullptr;
  size_t schedulerSize = 0;
};

// The running block. One block of the device runs at a time (under the device lock of
// cuda/emulator/device.cc), so a plain global serves; a thread-local one costs a
// __tls_get_addr call per access in a dlopen'ed addon, and every threadIdx reads it.
BlockState* gBlock = nullptr;

uint64_t nextRandom(uint64_t& state) {  // splitmix64
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

BlockState& block() {
  if (!gBlock || !gBlock->current) {
    std::fprintf(stderr, "sparse-attention emulated CUDA device: a device function was called outside a kernel\n");
    std::abort();
  }
  return *gBlock;
}

std::string dim3Text(dim3 d) {
  return "(" + std::to_string(d.x) + "," + std::to_string(d.y) + "," + std::to_string(d.z) + ")";
}

// Fiber side: gives the OS thread back to the scheduler until it resumes this fiber.
void yieldToScheduler(BlockState& b, Fiber& t) {
#if SA_EMU_ASAN
  __sanitizer_start_switch_fiber(&t.fakeStack, b.schedulerBottom, b.schedulerSize);
#endif
  t.sink = std::move(t.sink).resume();
#if SA_EMU_ASAN
  __sanitizer_finish_switch_fiber(t.fakeStack, &b.schedulerBottom, &b.schedulerSize);
#endif
}

void makeRunnable(BlockState& b, int index) {
  b.fibers[index].state = State::Runnable;
  b.fibers[index].waitingAt = nullptr;
  b.runnable.push_back(index);
}

void startFiber(BlockState& b, int index, const std::function<void()>& body) {
  Fiber& t = b.fibers[index];
  t.stackBase = tStacks.take();
  char* top = static_cast<char*>(t.stackBase) + kGuardBytes + kStackBytes;
  bctx::stack_context sctx;
  sctx.size = kStackBytes;
  sctx.sp = top;
  // The control record lives at the top of the stack, below sp.
  bctx::preallocated prealloc(top, kStackBytes, sctx);
  t.fiber = bctx::fiber(std::allocator_arg, prealloc, PooledStack{t.stackBase}, [&b, &t, &body](bctx::fiber&& sink) {
    t.sink = std::move(sink);
#if SA_EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &b.schedulerBottom, &b.schedulerSize);
#endif
    body();
    if (!t.ctx.cpAsync.pending.empty()) t.ctx.cpAsync = CpAsyncState{};  // never waited for: never read
    t.state = State::Done;
#if SA_EMU_ASAN
    __sanitizer_start_switch_fiber(nullptr, b.schedulerBottom, b.schedulerSize);
#endif
    return std::move(t.sink);
  });
}

void resume(BlockState& b, int index) {
  Fiber& t = b.fibers[index];
  b.current = &t;
#if SA_EMU_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, static_cast<char*>(t.stackBase) + kGuardBytes, kStackBytes);
#endif
  t.fiber = std::move(t.fiber).resume();
#if SA_EMU_ASAN
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
  b.current = nullptr;
}

// No thread can run and some have not returned: report who waits where.
[[noreturn]] void reportDeadlock(BlockState& b) {
  int atBarrier = 0, atWarp = 0, done = 0;
  std::string detail;
  for (const Fiber& t : b.fibers) {
    if (t.state == State::AtBarrier) ++atBarrier;
    if (t.state == State::Done) ++done;
    if (t.state == State::AtWarp) {
      if (++atWarp <= 4)
        detail += "; thread " + dim3Text(dim3(t.ctx.threadIdx.x, t.ctx.threadIdx.y, t.ctx.threadIdx.z)) + " waits at " +
                  t.waitingAt;
    }
  }
  std::string what = "deadlock: of " + std::to_string(b.threads) + " threads, " + std::to_string(atBarrier) +
                     " wait at " + (b.barrierOp ? b.barrierOp : "__syncthreads") + ", " + std::to_string(atWarp) +
                     " wait at a warp operation whose mask names a thread that does not arrive, " +
                     std::to_string(done) + " have returned" + detail;
  std::fprintf(stderr, "sparse-attention emulated CUDA device: fault in kernel %s, block %s: %s\n",
               b.spec->kernel->c_str(), dim3Text(b.spec->blockIdx).c_str(), what.c_str());
  std::abort();
}

}  // namespace

ThreadContext& self() { return block().current->ctx; }

const BlockSpec& currentBlock() { return *block().spec; }

int blockThreads() { return block().threads; }

bool inSharedMemory(const void* p, size_t bytes) {
  const BlockSpec& s = *block().spec;
  auto begin = static_cast<const char*>(s.dynamicShared), q = static_cast<const char*>(p);
  return s.dynamicShared && q >= begin && bytes <= s.dynamicSharedBytes && size_t(q - begin) <= s.dynamicSharedBytes - bytes;
}

void fail(const std::string& what) {
  BlockState* b = gBlock;
  if (b && b->current) {
    const uint3 t = b->current->ctx.threadIdx;
    std::fprintf(stderr, "sparse-attention emulated CUDA device: fault in kernel %s, block %s, thread %s: %s\n",
                 b->spec->kernel->c_str(), dim3Text(b->spec->blockIdx).c_str(), dim3Text(dim3(t.x, t.y, t.z)).c_str(),
                 what.c_str());
  } else {
    std::fprintf(stderr, "sparse-attention emulated CUDA device: fault: %s\n", what.c_str());
  }
  std::abort();
}

int blockBarrier(int predicate, const char* op) {
  BlockState& b = block();
  Fiber& t = *b.current;
  if (b.barrierOp && b.barrierOp != op && std::strcmp(b.barrierOp, op) != 0)
    fail(std::string(op) + " meets " + b.barrierOp + " at the same barrier");
  b.barrierOp = op;
  ++b.barrierArrived;
  b.barrierCount += predicate != 0;
  if (b.barrierArrived < b.threads) {
    t.state = State::AtBarrier;
    t.waitingAt = op;
    yieldToScheduler(b, t);
    return t.barrierResult;
  }
  const int count = b.barrierCount;
  for (int i = 0; i < b.threads; ++i) {
    Fiber& other = b.fibers[i];
    if (other.state != State::AtBarrier) continue;
    other.barrierResult = count;
    makeRunnable(b, i);
  }
  b.barrierArrived = b.barrierCount = 0;
  b.barrierOp = nullptr;
  return count;
}

void warpSyncWith(unsigned mask, const char* op, void* slot, CombineThunk thunk, const void* combine) {
  BlockState& b = block();
  Fiber& t = *b.current;
  const int lane = t.ctx.lane, warp = t.ctx.warp;
  if (!(mask >> lane & 1u)) fail(std::string(op) + ": the calling lane is not in the mask");
  const int lanesInWarp = std::min(kWarpSize, b.threads - warp * kWarpSize);
  if (lanesInWarp < kWarpSize && (mask >> lanesInWarp) != 0)
    fail(std::string(op) + ": the mask names lanes past the end of the block");
  std::vector<Rendezvous>& pending = b.warps[warp];
  Rendezvous* r = nullptr;
  for (Rendezvous& p : pending) {
    if (p.mask == mask) r = &p;
    else if (p.mask & mask) fail(std::string(op) + ": lanes of one warp wait with different masks");
  }
  if (!r) {
    pending.push_back(Rendezvous{mask, op});
    r = &pending.back();
  } else if (r->op != op && std::strcmp(r->op, op) != 0) {
    fail(std::string(op) + " meets " + r->op + " in the same warp");
  }
  r->slots[lane] = slot;
  r->arrived |= 1u << lane;
  if (r->arrived != mask) {
    t.state = State::AtWarp;
    t.waitingAt = op;
    yieldToScheduler(b, t);
    return;
  }
  thunk(combine, r->slots);
  for (int l = 0; l < kWarpSize; ++l)
    if ((mask >> l & 1u) && l != lane) makeRunnable(b, warp * kWarpSize + l);
  pending.erase(pending.begin() + (r - pending.data()));
}

void runBlock(const BlockSpec& spec, const std::function<void()>& body) {
  BlockState b;
  b.spec = &spec;
  b.threads = int(spec.blockDim.x * spec.blockDim.y * spec.blockDim.z);
  b.fibers.resize(b.threads);
  b.warps.resize((b.threads + kWarpSize - 1) / kWarpSize);
  b.rng = spec.seed;
  if (spec.dynamicShared) std::memset(spec.dynamicShared, 0xff, spec.dynamicSharedBytes);  // NaN in every float type
  gBlock = &b;
  for (int i = 0; i < b.threads; ++i) {
    ThreadContext& c = b.fibers[i].ctx;
    c.threadIdx = uint3{unsigned(i) % spec.blockDim.x, unsigned(i) / spec.blockDim.x % spec.blockDim.y,
                        unsigned(i) / (spec.blockDim.x * spec.blockDim.y)};
    c.linear = i;
    c.lane = i % kWarpSize;
    c.warp = i / kWarpSize;
    startFiber(b, i, body);
    b.runnable.push_back(i);
  }
  while (!b.runnable.empty()) {
    const size_t pick = nextRandom(b.rng) % b.runnable.size();
    const int index = b.runnable[pick];
    b.runnable[pick] = b.runnable.back();
    b.runnable.pop_back();
    resume(b, index);
  }
  for (const Fiber& t : b.fibers)
    if (t.state != State::Done) {
      b.current = nullptr;
      reportDeadlock(b);
    }
  gBlock = nullptr;
}

}  // namespace sa::emu
