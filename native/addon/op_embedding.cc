// embedding(ids, table, out, cancel)
#include "addon/errors.h"
#include "addon/op_worker.h"
#include "addon/ops.h"
#include "addon/tensor_arg.h"
#include "kernels/embedding.h"

namespace sa::addon {

Napi::Value embedding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "embedding";
  TensorArg ids = tensorArg(info[0], op, "ids"), table = tensorArg(info[1], op, "table");
  TensorArg out = tensorArg(info[2], op, "out");
  if (ids.dtype != DType::Int32) throwTypeError(env, "embedding: ids must be int32");
  if (table.rank() != 2 || !table.isFloat()) throwRangeError(env, "embedding: table must be a 2-d float tensor");
  std::vector<int64_t> outShape(ids.shape.begin(), ids.shape.end());
  outShape.push_back(table.dim(1));
  requireShape(env, out, outShape, op, "out");
  if (out.dtype != table.dtype) throwTypeError(env, "embedding: out must have the table's dtype");
  requireDevice(env, table, ids.device, op, "table");
  requireDevice(env, out, ids.device, op, "out");
  requireNoOverlap(env, out, {&ids, &table}, op);
  const EmbeddingShape s{int(ids.numel), table.dim(0), table.dim(1), dtypeSize(table.dtype)};
  const int32_t* idData = static_cast<const int32_t*>(ids.data);

  return scheduleOp(env, op, ids.device, {ids.owner, table.owner, out.owner}, info[3], [=](const ExecContext& ctx) {
    if (s.n == 0) return;
    if (ctx.device < 0) return embeddingCpu(ctx.cpu, s, idData, table.data, out.data);
#ifdef SA_WITH_CUDA
    cuda::Block flag = cuda::allocate(ctx.device, sizeof(int32_t));
    int32_t found = 0;
    cuda::copyAsync(flag.get(), &found, sizeof(found), cuda::CopyKind::HostToDevice, ctx.stream);
    embeddingCuda(ctx.stream, s, idData, table.data, out.data, static_cast<int32_t*>(flag.get()));
    cuda::copyAsync(&found, flag.get(), sizeof(found), cuda::CopyKind::DeviceToHost, ctx.stream);
    cuda::synchronize(ctx.stream, "embedding");
    if (found) throw KernelError(ErrorCode::InvalidArgument, "ids: an id is outside [0, table.shape[0])");
#endif
  });
}

}  // namespace sa::addon
