// kitchen_sink_impl.rs: the Rust twin of kitchen_sink_impl.c. It implements every export of
// tests/bindgen/wit/kitchen-sink.wit against the generated Rust bindings and calls every import
// (behind a condition the host never meets), so that compiling it proves the Rust bindings
// complete: resource handles, conversions of every type kind, and the glue of every export. The
// module is never run (no host implements test:kitchen-sink); bindgen_abi_test checks its imports
// and exports against the canonical ABI.
#[path = "kitchen-sink-rust/kitchen_sink.rs"]  // beside this file, in the build's tests/bindgen/gen
mod bindings;

use bindings::exports::guest::{self, Config, Counter, GuestCounter};
use bindings::host::{self, Event, Location, Nested, VariantF};
use bindings::shared::{Blob, Color, Permissions, Point, Primitives, Shape};

// Calls every import once, with values of every shape.
fn call_every_import() {
    host::log("kitchen sink");
    let sum = host::add(1, 2);
    let neg = host::negate(1.5);
    let c = host::ch('\u{e9}');
    let flipped = host::flip(true);
    let big = host::big(-1, 2);
    let mixed = host::mix(Color::Green, Permissions::READ | Permissions::WRITE);
    let bytes = host::get_bytes("id");
    let maybe = host::maybe(Some(7));
    let fallible = host::fallible(&Err("no".to_string()));
    let unit = host::unit_result();
    let err_only = host::err_only();
    let ok_only = host::ok_only();
    let nested = Nested {
        name: "n".to_string(),
        tags: vec!["a".to_string(), "b".to_string()],
        r#where: Some(Location { x: 1, y: 2 }),
        colors: vec![Color::Blue],
        blobs: vec![host::new_blob()],
        maybe_shape: Some(Shape::Polygon(vec![Point { x: 0, y: 0 }, Point { x: 1, y: 1 }])),
        pairs: vec![("x".to_string(), 1)],
        outcome: Ok(3),
    };
    let round = host::take_nested(nested);
    let prims = Primitives {
        a: true, b: -1, c: 2, d: -3, e: 4, f: -5, g: 6, h: -7, i: 8, j: 9.5, k: 10.5, l: 'x',
        m: "m".to_string(),
    };
    let prims_back = host::all_primitives(&prims);
    let shapes = host::shapes(&[Shape::Circle(1.0), Shape::Empty, Shape::Rectangle((2.0, 3.0))]);
    let event = host::on_event(&Event::Done(Ok(vec![1, 2, 3])));
    let pair = host::pair(&(1, "two".to_string(), 3.0));
    let blob = Blob::new(&bytes);
    let peeked = host::peek(&blob);
    let f = host::f32_or_f64(&VariantF::Double(2.5));
    let spilled = host::spill(1, 2, 3, 4, 5, 6, 7, 8, "i", "j", "k", "l", 13.0);
    let read = blob.read(4);
    let written = blob.write(&read);
    let size = blob.size();
    let merged = Blob::merge(host::new_blob(), &blob);
    let pong = bindings::ping(
        sum + neg as u32 + c as u32 + flipped as u32 + big as u32 + mixed.bits
            + maybe.is_some() as u32 + fallible.is_ok() as u32 + unit.is_ok() as u32
            + err_only.is_ok() as u32 + ok_only.is_ok() as u32 + round.tags.len() as u32
            + prims_back.a as u32 + shapes.len() as u32 + matches!(event, Event::Started) as u32
            + pair.0.len() as u32 + peeked.is_some() as u32
            + matches!(f, VariantF::Double(_)) as u32 + spilled + written.is_ok() as u32
            + size as u32 + merged.handle(),
    );
    if pong == 0 {
        std::process::abort();
    }
}

struct KitchenSink;

struct MyCounter {
    value: std::cell::Cell<u64>,
}

impl GuestCounter for MyCounter {
    fn new(start: u64) -> Self {
        MyCounter { value: std::cell::Cell::new(start) }
    }
    fn increment(&self, by: u64) -> u64 {
        self.value.set(self.value.get() + by);
        self.value.get()
    }
    fn label(&self) -> String {
        if self.value.get() != 0 { "counting".to_string() } else { "zero".to_string() }
    }
    fn combine(a: &Self, b: &Self) -> Counter {
        Counter::new(MyCounter::new(a.value.get() + b.value.get()))
    }
}

impl guest::Guest for KitchenSink {
    type Counter = MyCounter;
    fn configure(c: Config) -> Result<String, String> {
        if c.name.is_empty() { Err("empty name".to_string()) } else { Ok(c.name) }
    }
    fn paint(_c: Color, s: Shape) -> Vec<Shape> {
        vec![s]
    }
    fn echo_primitives(p: Primitives) -> Primitives {
        p
    }
    fn consume(b: Blob) -> u64 {
        b.size()  // dropped when `b` goes away
    }
    fn count(c: &MyCounter) -> u64 {
        c.value.get()
    }
    fn make_counter(start: u64) -> Counter {
        Counter::new(MyCounter::new(start))
    }
    fn floats(a: f32, b: f64, c: Option<f32>, d: Result<f64, f32>) -> (f32, f64) {
        (a + c.unwrap_or(0.0), b + d.unwrap_or_else(|e| e as f64))
    }
    fn spill_export(a: u64, _b: u64, _c: u64, _d: u64, _e: u64, _f: u64, _g: u64, _h: u64,
                    i: String, _j: String, _k: String, _l: String, _m: f32) -> Option<String> {
        if a == 0 { None } else { Some(i) }
    }
    fn nothing() {}
    fn flags_out() -> Permissions {
        Permissions::EXECUTE
    }
}

impl bindings::Guest for KitchenSink {
    fn run(args: Vec<String>) -> Result<(), String> {
        if args.len() == 1 && args[0] == "call-every-import" {
            call_every_import();
        }
        Ok(())
    }
}

export_kitchen_sink!(KitchenSink);
