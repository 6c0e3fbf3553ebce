// Opt-in device timing of CUDA ops for the GPU benchmarks (SPARSE_ATTENTION_DEVICE_TIMING=1):
// each op's queued work is bracketed by CUDA events on its stream, so the benchmarks read the
// time the device spent, free of the worker-thread and Promise round trip.
#pragma once

#include <napi.h>

namespace sa::addon {

bool deviceTimingEnabled();
void recordDeviceTiming(const char* op, float ms);

// takeDeviceTimings(): Array<{ op: string, ms: number }> recorded since the last call, oldest first.
Napi::Value takeDeviceTimings(const Napi::CallbackInfo& info);

}  // namespace sa::addon
