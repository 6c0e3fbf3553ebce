#include "addon/op_worker.h"

#include <optional>
#include <string>

#include "addon/cancel_token.h"
#include "addon/device_timing.h"
#include "addon/errors.h"
#include "addon/type_tag.h"

namespace sa::addon {

namespace {

class OpWorker : public Napi::AsyncWorker {
 public:
  OpWorker(Napi::Env env, const char* op, int device, std::shared_ptr<std::atomic<bool>> cancelled, Task task)
      : Napi::AsyncWorker(env, op), deferred_(Napi::Promise::Deferred::New(env)), op_(op), device_(device),
        cancelled_(std::move(cancelled)), task_(std::move(task)) {}

  void keep(const Napi::Value& value) {
    if (value.IsObject()) kept_.push_back(Napi::Persistent(value.As<Napi::Object>()));
  }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      if (cancelled_ && cancelled_->load()) throw KernelError(ErrorCode::Aborted, "aborted");
      ExecContext ctx{device_, CpuContext{&defaultThreadPool(), cancelled_.get()}, nullptr};
#ifdef SA_WITH_CUDA
      std::optional<cuda::StreamTimer> timer;
      if (device_ >= 0) {
        ctx.stream = cuda::threadStream(device_);
        if (deviceTimingEnabled()) timer.emplace(ctx.stream);
      }
#endif
      task_(ctx);
#ifdef SA_WITH_CUDA
      if (device_ >= 0) {
        if (timer) timer->stop();
        cuda::synchronize(ctx.stream, op_);
        if (timer) recordDeviceTiming(op_, timer->elapsedMs());
      }
#endif
    } catch (const KernelError& e) {
      code_ = e.code();
      SetError(e.code() == ErrorCode::Aborted ? std::string(op_) + ": aborted" : std::string(op_) + ": " + e.what());
    } catch (const std::bad_alloc&) {
      code_ = ErrorCode::OutOfMemory;
      SetError(std::string(op_) + ": out of host memory");
    } catch (const std::exception& e) {
      code_ = ErrorCode::CudaError;
      SetError(std::string(op_) + ": " + e.what());
    } catch (...) {
      // Nothing may escape a worker thread: std::terminate would end the process.
      code_ = ErrorCode::CudaError;
      SetError(std::string(op_) + ": unknown failure");
    }
  }

  void OnOK() override { deferred_.Resolve(Env().Undefined()); }

  void OnError(const Napi::Error& error) override {
    deferred_.Reject(kernelErrorValue(Env(), code_, error.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  const char* op_;
  int device_;
  std::shared_ptr<std::atomic<bool>> cancelled_;
  Task task_;
  std::vector<Napi::ObjectReference> kept_;
  ErrorCode code_ = ErrorCode::CudaError;
};

}  // namespace

std::shared_ptr<std::atomic<bool>> cancelFlag(const Napi::Value& token) {
  if (token.IsUndefined() || token.IsNull()) return nullptr;
  CancelToken* t = unwrapTagged<CancelToken>(token);
  if (!t) throwTypeError(token.Env(), "cancel must be a CancelToken");
  return t->flag();
}

Napi::Value scheduleOp(Napi::Env env, const char* op, int device, const std::vector<Napi::Value>& keepAlive,
                       const Napi::Value& cancel, Task task) {
#ifndef SA_WITH_CUDA
  if (device >= 0) throwCoded(env, "NO_DEVICE", std::string(op) + ": this build has no CUDA support");
#endif
  auto flag = cancelFlag(cancel);
  auto* worker = new OpWorker(env, op, device, std::move(flag), std::move(task));
  for (const auto& value : keepAlive) worker->keep(value);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace sa::addon
