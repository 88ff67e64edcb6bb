// Theater: a WebAssembly actor runtime.
//
// Fuzzer support: a few payloads of every kind, with values of every kind, for the chain
// targets' seed corpora and for the rows chain_store_fuzz writes before corrupting them.
// Header-only so that a target links nothing beyond theater_chain for it.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "theater/chain.h"

namespace theater::fuzz {

inline std::vector<chain::Payload> SamplePayloads() {
  using abi::Value;
  using namespace theater::chain;
  std::vector<Payload> out;
  std::vector<Value> every = {
      Value::Bool(true),
      Value::S8(-3),
      Value::U16(65535),
      Value::S32(-100000),
      Value::U64(~uint64_t{0}),
      Value::F32(1.5f),
      Value::F64(-0.25),
      Value::Char(U'\u00e9'),
      Value::String("h\xc3\xa9llo"),
      Value::Bytes({0, 1, 2, 255}),
      Value::List({Value::U8(1), Value::U8(2)}),
      Value::Record({Value::String("a"), Value::Tuple({Value::S64(-1), Value::None()})}),
      Value::Variant(2, Value::Some(Value::Enum(1))),
      Value::Flags({true, false, true}),
      Value::Ok(Value::Err(Value::String("inner"))),
      Value::Own(3),
      Value::Borrow(4),
  };
  out.push_back(
      HostCall{"theater:simple/runtime", "log", {Value::String("hi")}, CallOutcome::Ok({})});
  out.push_back(HostCall{"theater:simple/store", "get", every, CallOutcome::Error("trap")});
  ExportCall call;
  call.function = "theater:simple/actor#init";
  call.params = {Value::Some(Value::Bytes({'{', '}'}))};
  call.result = CallOutcome::Ok({Value::Ok(Value::Tuple({Value::Some(Value::Bytes({1}))}))});
  call.new_state = StateRecord::OfBytes(std::vector<uint8_t>{'{', '}'});
  out.push_back(call);
  call.new_state = StateRecord::OfBytes(std::vector<uint8_t>(2000, 'x'));
  call.result = CallOutcome::Error("deadline");
  out.push_back(call);
  call.new_state = StateRecord::None();
  out.push_back(call);
  out.push_back(Lifecycle{"actor-ready", "started"});
  out.push_back(Log{"info", "a line\nwith \x01 control"});
  return out;
}

}  // namespace theater::fuzz
