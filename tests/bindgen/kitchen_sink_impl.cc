// kitchen_sink_impl.cc: the C++ twin of kitchen_sink_impl.c. It implements every export of
// tests/bindgen/wit/kitchen-sink.wit against the generated C++ bindings and calls every import
// (behind a condition the host never meets), so that linking proves the C++ layer complete:
// resource classes, conversions of every type kind, and the adapters of every export. The module
// is never run (no host implements test:kitchen-sink).
#include <cstdlib>

#include "kitchen_sink.hpp"

struct kitchen_sink_guest_counter_t {
  uint64_t value;
};

void kitchen_sink_guest_counter_destructor(kitchen_sink_guest_counter_t* rep) {
  delete rep;
}

namespace {

namespace shared = kitchen_sink::shared;
namespace host = kitchen_sink::host;

kitchen_sink_guest_counter_own_t NewCounter(uint64_t start) {
  return kitchen_sink_guest_counter_new(new kitchen_sink_guest_counter_t{start});
}

// Calls every import once, with values of every shape.
void CallEveryImport() {
  host::Log("kitchen sink");
  uint32_t sum = host::Add(1, 2);
  double neg = host::Negate(1.5);
  char32_t c = host::Ch(U'\u00e9');
  bool flipped = host::Flip(true);
  int64_t big = host::Big(-1, 2);
  shared::Permissions perms{shared::Permissions::kRead | shared::Permissions::kWrite};
  shared::Permissions mixed = host::Mix(shared::Color::kGreen, perms);
  std::vector<uint8_t> bytes = host::GetBytes("id");
  std::optional<std::string> maybe = host::Maybe(std::optional<uint32_t>(7));
  auto fallible = host::Fallible(theater_bindgen::Result<uint32_t, std::string>::Err("no"));
  auto unit = host::UnitResult();
  auto err_only = host::ErrOnly();
  auto ok_only = host::OkOnly();

  host::Nested nested;
  nested.name = "n";
  nested.tags = {"a", "b"};
  nested.where = host::Location{1, 2};
  nested.colors = {shared::Color::kBlue};
  nested.blobs.push_back(host::NewBlob());
  nested.maybe_shape = shared::Shape::Polygon({shared::Point{0, 0}, shared::Point{1, 1}});
  nested.pairs = {{"x", 1}};
  nested.outcome = theater_bindgen::Result<uint64_t, std::string>::Ok(3);
  host::Nested round = host::TakeNested(nested);

  shared::Primitives prims{true, -1, 2, -3, 4, -5, 6, -7, 8, 9.5f, 10.5, U'x', "m"};
  shared::Primitives prims_back = host::AllPrimitives(prims);
  std::vector<shared::Shape> shapes = {shared::Shape::Circle(1.0f), shared::Shape::Empty(),
                                       shared::Shape::Rectangle({2.0, 3.0})};
  std::vector<shared::Shape> shapes_back = host::Shapes(shapes);
  host::Event event = host::OnEvent(
      host::Event::Done(theater_bindgen::Result<std::vector<uint8_t>, std::string>::Ok({1, 2, 3})));
  auto pair = host::Pair({uint8_t{1}, "two", 3.0f});
  shared::Blob blob = shared::Blob::Create(bytes);
  std::optional<shared::Blob> peeked = host::Peek(blob.Borrow());
  host::VariantF f = host::F32OrF64(host::VariantF::Double(2.5));
  uint32_t spilled = host::Spill(1, 2, 3, 4, 5, 6, 7, 8, "i", "j", "k", "l", 13.0f);
  std::vector<uint8_t> read = blob.Read(4);
  auto written = blob.Write(read);
  uint64_t size = blob.Size();
  shared::Blob merged = shared::Blob::Merge(host::NewBlob(), blob.Borrow());
  uint32_t pong = kitchen_sink::Ping(
      sum + static_cast<uint32_t>(neg) + static_cast<uint32_t>(c) + flipped +
      static_cast<uint32_t>(big) + mixed.bits + maybe.has_value() + fallible.ok() + unit.ok() +
      err_only.ok() + ok_only.ok() + round.tags.size() + prims_back.a + shapes_back.size() +
      static_cast<uint32_t>(event.tag()) + std::get<0>(pair).size() + peeked.has_value() +
      static_cast<uint32_t>(f.tag()) + spilled + written.ok() + static_cast<uint32_t>(size) +
      merged.owned());
  if (pong == 0) std::abort();
}

}  // namespace

namespace kitchen_sink::exports::guest {

kitchen_sink_guest_counter_own_t CounterCreate(uint64_t start) {
  return NewCounter(start);
}

uint64_t CounterIncrement(kitchen_sink_guest_counter_borrow_t self, uint64_t by) {
  return self->value += by;
}

std::string CounterLabel(kitchen_sink_guest_counter_borrow_t self) {
  return self->value != 0 ? "counting" : "zero";
}

kitchen_sink_guest_counter_own_t CounterCombine(kitchen_sink_guest_counter_borrow_t a,
                                                kitchen_sink_guest_counter_borrow_t b) {
  return NewCounter(a->value + b->value);
}

theater_bindgen::Result<std::string, std::string> Configure(kitchen_sink::guest::Config c) {
  using R = theater_bindgen::Result<std::string, std::string>;
  if (c.name.empty()) return R::Err("empty name");
  return R::Ok(std::move(c.name));
}

std::vector<shared::Shape> Paint(shared::Color, shared::Shape s) {
  return {std::move(s)};
}

shared::Primitives EchoPrimitives(shared::Primitives p) {
  return p;
}

uint64_t Consume(shared::Blob b) {
  return b.Size();
}  // dropped when `b` goes away

uint64_t Count(kitchen_sink_guest_counter_borrow_t c) {
  return c->value;
}

kitchen_sink_guest_counter_own_t MakeCounter(uint64_t start) {
  return NewCounter(start);
}

std::tuple<float, double> Floats(float a, double b, std::optional<float> c,
                                 theater_bindgen::Result<double, float> d) {
  return {a + c.value_or(0.0f), b + (d.ok() ? d.value() : static_cast<double>(d.error()))};
}

std::optional<std::string> SpillExport(uint64_t a, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
                                       uint64_t, uint64_t, std::string i, std::string, std::string,
                                       std::string, float) {
  if (a == 0) return std::nullopt;
  return i;
}

void Nothing() {}

shared::Permissions FlagsOut() {
  return shared::Permissions{shared::Permissions::kExecute};
}

}  // namespace kitchen_sink::exports::guest

namespace kitchen_sink::exports {

theater_bindgen::Result<std::monostate, std::string> Run(std::vector<std::string> args) {
  if (args.size() == 1 && args[0] == "call-every-import") CallEveryImport();
  return theater_bindgen::Result<std::monostate, std::string>::Ok({});
}

}  // namespace kitchen_sink::exports
