#include "addon/op_worker.h"

#include <exception>
#include <optional>
#include <string>

#include "addon/cancel_token.h"
#include "addon/device_timing.h"
#include "addon/errors.h"
#include "addon/type_tag.h"

namespace sa::addon {

namespace {

#ifdef SA_WITH_CUDA
// The worker thread's CUDA stream on the device, bracketed by CUDA events when device timing
// is on.
class CudaRun : public DeviceRun {
 public:
  CudaRun(int device, const char* op) : op_(op), stream_(cuda::threadStream(device)) {
    if (deviceTimingEnabled()) timer_.emplace(stream_);
  }
  cuda::Stream stream() override { return stream_; }
  void synchronize(bool taskFailed) override {
    if (timer_ && !taskFailed) timer_->stop();
    cuda::synchronize(stream_, op_);
    if (timer_ && !taskFailed) recordDeviceTiming(op_, timer_->elapsedMs());
  }

 private:
  const char* op_;
  cuda::Stream stream_;
  std::optional<cuda::StreamTimer> timer_;
};

std::unique_ptr<DeviceRun> cudaRun(int device, const char* op) { return std::make_unique<CudaRun>(device, op); }
#endif

class OpWorker : public Napi::AsyncWorker {
 public:
  OpWorker(Napi::Env env, const char* op, int device, DeviceRuns runs, std::shared_ptr<std::atomic<bool>> cancelled,
           Task task)
      : Napi::AsyncWorker(env, op), deferred_(Napi::Promise::Deferred::New(env)), op_(op), device_(device),
        runs_(std::move(runs)), cancelled_(std::move(cancelled)), task_(std::move(task)) {}

  void keep(const Napi::Value& value) {
    if (value.IsObject()) kept_.push_back(Napi::Persistent(value.As<Napi::Object>()));
  }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    std::exception_ptr failure;
    std::unique_ptr<DeviceRun> run;
    try {
      if (cancelled_ && cancelled_->load()) throw KernelError(ErrorCode::Aborted, "aborted");
      ExecContext ctx{device_, CpuContext{&defaultThreadPool(), cancelled_.get()}, nullptr, &scratch_, &afterSync_};
      if (device_ >= 0) {
        run = runs_(device_, op_);
        ctx.stream = run->stream();
      }
      task_(ctx);
    } catch (...) {
      failure = std::current_exception();
    }
    // The op's one synchronisation, whether the task returned or threw: until it, kernels the
    // task queued may still use its scratch, the blocks it captured and its output.
    if (run) {
      try {
        run->synchronize(bool(failure));
      } catch (...) {
        if (!failure) failure = std::current_exception();
      }
    }
    // Only now may that memory go back to the pool (the task's captures hold the tensors).
    scratch_.clear();
    task_ = nullptr;
    if (!failure && afterSync_) {
      try {
        afterSync_();
      } catch (...) {
        failure = std::current_exception();
      }
    }
    afterSync_ = nullptr;
    if (failure) report(failure);
  }

  void OnOK() override { deferred_.Resolve(Env().Undefined()); }

  void OnError(const Napi::Error& error) override {
    deferred_.Reject(kernelErrorValue(Env(), code_, error.Message()).Value());
  }

 private:
  void report(const std::exception_ptr& failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const KernelError& e) {
      code_ = e.code();
      SetError(e.code() == ErrorCode::Aborted ? std::string(op_) + ": aborted" : std::string(op_) + ": " + e.what());
    } catch (const std::bad_alloc&) {
      code_ = ErrorCode::OutOfMemory;
      SetError(std::string(op_) + ": out of host memory");
    } catch (const std::exception& e) {
      // CUDA failures arrive as KernelError(CudaError); anything else is the package's own fault.
      code_ = ErrorCode::Internal;
      SetError(std::string(op_) + ": internal error: " + e.what());
    } catch (...) {
      // Nothing may escape a worker thread: std::terminate would end the process.
      code_ = ErrorCode::Internal;
      SetError(std::string(op_) + ": internal error: unknown failure");
    }
  }

  Napi::Promise::Deferred deferred_;
  const char* op_;
  int device_;
  DeviceRuns runs_;
  std::shared_ptr<std::atomic<bool>> cancelled_;
  Task task_;
  cuda::CudaScratch scratch_;
  std::function<void()> afterSync_;
  std::vector<Napi::ObjectReference> kept_;
  ErrorCode code_ = ErrorCode::Internal;
};

}  // namespace

std::shared_ptr<std::atomic<bool>> cancelFlag(const Napi::Value& token) {
  if (token.IsUndefined() || token.IsNull()) return nullptr;
  CancelToken* t = unwrapTagged<CancelToken>(token);
  if (!t) throwTypeError(token.Env(), "cancel must be a CancelToken");
  return t->flag();
}

Napi::Value scheduleOpOn(Napi::Env env, const char* op, int device, DeviceRuns runs,
                         const std::vector<Napi::Value>& keepAlive, const Napi::Value& cancel, Task task) {
  auto flag = cancelFlag(cancel);
  auto* worker = new OpWorker(env, op, device, std::move(runs), std::move(flag), std::move(task));
  for (const auto& value : keepAlive) worker->keep(value);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Value scheduleOp(Napi::Env env, const char* op, int device, const std::vector<Napi::Value>& keepAlive,
                       const Napi::Value& cancel, Task task) {
#ifdef SA_WITH_CUDA
  return scheduleOpOn(env, op, device, cudaRun, keepAlive, cancel, std::move(task));
#else
  if (device >= 0) throwCoded(env, "NO_DEVICE", std::string(op) + ": this build has no CUDA support");
  return scheduleOpOn(env, op, device, nullptr, keepAlive, cancel, std::move(task));
#endif
}

}  // namespace sa::addon
