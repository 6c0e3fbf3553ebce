// Reads the options object lib/ passes to an op. lib/ has validated them; a caller bypassing
// lib/ gets a TypeError for a missing or mistyped option rather than a silent default.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace sa::addon {

Napi::Object requireOptions(const Napi::Value& value, const char* op);
double numberOption(const Napi::Object& opts, const char* key, const char* op);
bool booleanOption(const Napi::Object& opts, const char* key, const char* op);
std::string stringOption(const Napi::Object& opts, const char* key, const char* op);
// An integer in [min, max]; a RangeError otherwise.
int64_t integerOption(const Napi::Object& opts, const char* key, const char* op, int64_t min, int64_t max);

}  // namespace sa::addon
