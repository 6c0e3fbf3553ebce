#include "addon/op_options.h"

#include "addon/errors.h"

namespace sa::addon {

namespace {

[[noreturn]] void throwMissing(const Napi::Object& opts, const char* key, const char* op, const char* type) {
  throwTypeError(opts.Env(), std::string(op) + ": opts." + key + " must be a " + type);
}

}  // namespace

Napi::Object requireOptions(const Napi::Value& value, const char* op) {
  if (!value.IsObject()) throwTypeError(value.Env(), std::string(op) + ": opts must be an object");
  return value.As<Napi::Object>();
}

double numberOption(const Napi::Object& opts, const char* key, const char* op) {
  Napi::Value v = opts.Get(key);
  if (!v.IsNumber()) throwMissing(opts, key, op, "number");
  return v.As<Napi::Number>().DoubleValue();
}

bool booleanOption(const Napi::Object& opts, const char* key, const char* op) {
  Napi::Value v = opts.Get(key);
  if (!v.IsBoolean()) throwMissing(opts, key, op, "boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string stringOption(const Napi::Object& opts, const char* key, const char* op) {
  Napi::Value v = opts.Get(key);
  if (!v.IsString()) throwMissing(opts, key, op, "string");
  return v.As<Napi::String>().Utf8Value();
}

int64_t integerOption(const Napi::Object& opts, const char* key, const char* op, int64_t min, int64_t max) {
  const double number = numberOption(opts, key, op);
  // The range is checked before the conversion: converting a double beyond int64 is undefined.
  if (!(number >= double(min) && number <= double(max)) || number != double(int64_t(number)))
    throwRangeError(opts.Env(), std::string(op) + ": opts." + key + " must be an integer in [" + std::to_string(min) +
                                    ", " + std::to_string(max) + "]");
  return int64_t(number);
}

}  // namespace sa::addon
