// The functions of the testing addon (sparse_attention_testing.node): entry points for the test
// suite only, built beside the addon but never part of it. They run logic that otherwise sits
// behind a GPU or a bug, on every machine, through the same code the addon runs.
#pragma once

#include <napi.h>

namespace sa::addon {

Napi::Value poolSimulation(const Napi::CallbackInfo& info);      // pool_simulation.cc
Napi::Value opRunnerSimulation(const Napi::CallbackInfo& info);  // op_runner_simulation.cc
Napi::Value internalFailure(const Napi::CallbackInfo& info);     // op_runner_simulation.cc

}  // namespace sa::addon
