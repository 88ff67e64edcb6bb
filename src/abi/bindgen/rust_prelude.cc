// Theater: a WebAssembly actor runtime.
#include "abi/bindgen/rust_prelude.h"

namespace theater::bindgen {
namespace {

// Ownership rules the generated code relies on:
// - `store` writes a value into memory the callee reads: strings and lists are copied into new
//   allocations (released by `free_stored`), owned handles move (the Rust value is left empty).
// - `load` reads a value the host wrote and takes what it points to: string and list buffers the
//   host allocated through `cabi_realloc` become the Rust value's (or are freed after copying).
// - every allocation goes through the global allocator with the canonical alignment, so that a
//   buffer the host allocated is freed with the same layout it was made with.
constexpr std::string_view kPrelude = R"RUST(
/// What the bindings need to move values across the sandbox (the canonical ABI). Not for actors.
#[doc(hidden)]
pub mod __rt {
    use std::alloc::{self, Layout};

    /// A value with a canonical-ABI layout in linear memory.
    pub trait Canon: Sized {
        const SIZE: usize;
        const ALIGN: usize;
        /// Writes the value at `p` (aligned, SIZE bytes): copies of its strings and lists, which
        /// `free_stored` releases; owned handles move out of it.
        unsafe fn store(&self, p: *mut u8);
        /// Reads a value at `p`, taking the buffers it points to.
        unsafe fn load(p: *const u8) -> Self;
        /// Releases the buffers a `store` at `p` made.
        unsafe fn free_stored(_p: *const u8) {}
        /// Takes a list the host allocated (len values at ptr).
        unsafe fn take_list(ptr: i32, len: i32) -> Vec<Self> {
            let (ptr, len) = (ptr as usize as *mut u8, len as u32 as usize);
            let mut out = Vec::with_capacity(len);
            for i in 0..len {
                out.push(Self::load(ptr.add(i * Self::SIZE)));
            }
            dealloc(ptr, len * Self::SIZE, Self::ALIGN);
            out
        }
        /// Copies a list into a new canonical buffer; returns (ptr, len).
        unsafe fn store_list(values: &[Self]) -> (i32, i32) {
            let ptr = alloc_bytes(values.len() * Self::SIZE, Self::ALIGN);
            for (i, v) in values.iter().enumerate() {
                v.store(ptr.add(i * Self::SIZE));
            }
            (ptr as i32, values.len() as i32)
        }
        /// Releases a buffer `store_list` made.
        unsafe fn free_list(ptr: i32, len: i32) {
            let (ptr, len) = (ptr as usize as *mut u8, len as u32 as usize);
            for i in 0..len {
                Self::free_stored(ptr.add(i * Self::SIZE));
            }
            dealloc(ptr, len * Self::SIZE, Self::ALIGN);
        }
    }

    pub const fn align_to(n: usize, align: usize) -> usize {
        (n + align - 1) / align * align
    }
    pub const fn max(a: usize, b: usize) -> usize {
        if a > b { a } else { b }
    }

    /// Stops the actor: what the canonical ABI calls a trap (a malformed value from the host).
    pub fn trap() -> ! {
        std::process::abort()
    }

    pub unsafe fn alloc_bytes(size: usize, align: usize) -> *mut u8 {
        if size == 0 {
            return align as *mut u8;
        }
        let p = alloc::alloc(Layout::from_size_align_unchecked(size, align));
        if p.is_null() {
            trap();
        }
        p
    }
    pub unsafe fn dealloc(ptr: *mut u8, size: usize, align: usize) {
        if size != 0 {
            alloc::dealloc(ptr, Layout::from_size_align_unchecked(size, align));
        }
    }

    /// The host allocates every string and list it hands to the actor through this export.
    #[no_mangle]
    pub unsafe extern "C" fn cabi_realloc(old: *mut u8, old_size: usize, align: usize,
                                          new_size: usize) -> *mut u8 {
        if align == 0 || align > 16 || !align.is_power_of_two() {
            trap();
        }
        if old_size == 0 {
            return alloc_bytes(new_size, align);
        }
        if new_size == 0 {
            dealloc(old, old_size, align);
            return align as *mut u8;
        }
        let p = alloc::realloc(old, Layout::from_size_align_unchecked(old_size, align), new_size);
        if p.is_null() {
            trap();
        }
        p
    }

    /// Makes the module a reactor: the host calls `_initialize` once after instantiating it, which
    /// runs the C library's constructors. (Without a caller of `__wasm_call_ctors` of its own, the
    /// linker would wrap every export in a run of the constructors and destructors instead.)
    #[no_mangle]
    pub unsafe extern "C" fn _initialize() {
        extern "C" {
            fn __wasm_call_ctors();
        }
        __wasm_call_ctors();
    }

    pub unsafe fn take_bytes(ptr: i32, len: i32) -> Vec<u8> {
        let len = len as u32 as usize;
        if len == 0 {
            return Vec::new();
        }
        Vec::from_raw_parts(ptr as usize as *mut u8, len, len)
    }
    pub unsafe fn take_string(ptr: i32, len: i32) -> String {
        match String::from_utf8(take_bytes(ptr, len)) {
            Ok(s) => s,
            Err(_) => trap(),  // the host sends UTF-8 only
        }
    }
    pub fn char_from(v: u32) -> char {
        match char::from_u32(v) {
            Some(c) => c,
            None => trap(),
        }
    }
    pub unsafe fn read_i32(p: *const u8) -> i32 {
        *(p as *const i32)
    }
    pub unsafe fn write_i32(p: *mut u8, v: i32) {
        *(p as *mut i32) = v;
    }
    /// Reads a discriminant of 1, 2 or 4 bytes.
    pub unsafe fn read_disc(p: *const u8, size: usize) -> u32 {
        match size {
            1 => *p as u32,
            2 => *(p as *const u16) as u32,
            _ => *(p as *const u32),
        }
    }
    pub unsafe fn write_disc(p: *mut u8, size: usize, v: u32) {
        match size {
            1 => *p = v as u8,
            2 => *(p as *mut u16) = v as u16,
            _ => *(p as *mut u32) = v,
        }
    }

    /// Buffers made for one import call (lists passed by value, parameters or results that
    /// travel in memory), released when the call is over.
    pub struct Keep {
        lists: Vec<(unsafe fn(i32, i32), i32, i32)>,
        areas: Vec<(*mut u8, usize, usize)>,
    }
    impl Keep {
        pub fn new() -> Keep {
            Keep { lists: Vec::new(), areas: Vec::new() }
        }
        /// A list as the host reads it, in a canonical buffer.
        pub fn list<T: Canon>(&mut self, values: &[T]) -> (i32, i32) {
            let (ptr, len) = unsafe { T::store_list(values) };
            self.lists.push((T::free_list, ptr, len));
            (ptr, len)
        }
        /// Memory for parameters or results that travel in memory.
        pub fn area(&mut self, size: usize, align: usize) -> *mut u8 {
            let p = unsafe { alloc_bytes(size, align) };
            self.areas.push((p, size, align));
            p
        }
    }
    impl Drop for Keep {
        fn drop(&mut self) {
            for (free, ptr, len) in self.lists.drain(..) {
                unsafe { free(ptr, len) }
            }
            for (p, size, align) in self.areas.drain(..) {
                unsafe { dealloc(p, size, align) }
            }
        }
    }

    macro_rules! scalar {
        ($($t:ty),*) => {$(
            impl Canon for $t {
                const SIZE: usize = std::mem::size_of::<$t>();
                const ALIGN: usize = std::mem::size_of::<$t>();
                unsafe fn store(&self, p: *mut u8) {
                    *(p as *mut $t) = *self;
                }
                unsafe fn load(p: *const u8) -> Self {
                    *(p as *const $t)
                }
            }
        )*};
    }
    scalar!(i8, i16, i32, i64, u16, u32, u64, f32, f64);

    impl Canon for u8 {
        const SIZE: usize = 1;
        const ALIGN: usize = 1;
        unsafe fn store(&self, p: *mut u8) {
            *p = *self;
        }
        unsafe fn load(p: *const u8) -> Self {
            *p
        }
        unsafe fn take_list(ptr: i32, len: i32) -> Vec<u8> {
            take_bytes(ptr, len)
        }
        unsafe fn store_list(values: &[u8]) -> (i32, i32) {
            let ptr = alloc_bytes(values.len(), 1);
            std::ptr::copy_nonoverlapping(values.as_ptr(), ptr, values.len());
            (ptr as i32, values.len() as i32)
        }
    }
    impl Canon for bool {
        const SIZE: usize = 1;
        const ALIGN: usize = 1;
        unsafe fn store(&self, p: *mut u8) {
            *p = *self as u8;
        }
        unsafe fn load(p: *const u8) -> Self {
            *p != 0
        }
    }
    impl Canon for char {
        const SIZE: usize = 4;
        const ALIGN: usize = 4;
        unsafe fn store(&self, p: *mut u8) {
            *(p as *mut u32) = *self as u32;
        }
        unsafe fn load(p: *const u8) -> Self {
            char_from(*(p as *const u32))
        }
    }
    impl Canon for () {
        const SIZE: usize = 0;
        const ALIGN: usize = 1;
        unsafe fn store(&self, _p: *mut u8) {}
        unsafe fn load(_p: *const u8) -> Self {}
    }
    impl Canon for String {
        const SIZE: usize = 8;
        const ALIGN: usize = 4;
        unsafe fn store(&self, p: *mut u8) {
            let (ptr, len) = u8::store_list(self.as_bytes());
            write_i32(p, ptr);
            write_i32(p.add(4), len);
        }
        unsafe fn load(p: *const u8) -> Self {
            take_string(read_i32(p), read_i32(p.add(4)))
        }
        unsafe fn free_stored(p: *const u8) {
            u8::free_list(read_i32(p), read_i32(p.add(4)));
        }
    }
    impl<T: Canon> Canon for Vec<T> {
        const SIZE: usize = 8;
        const ALIGN: usize = 4;
        unsafe fn store(&self, p: *mut u8) {
            let (ptr, len) = T::store_list(self);
            write_i32(p, ptr);
            write_i32(p.add(4), len);
        }
        unsafe fn load(p: *const u8) -> Self {
            T::take_list(read_i32(p), read_i32(p.add(4)))
        }
        unsafe fn free_stored(p: *const u8) {
            T::free_list(read_i32(p), read_i32(p.add(4)));
        }
    }
    impl<T: Canon> Canon for Option<T> {
        const ALIGN: usize = max(1, T::ALIGN);
        const SIZE: usize = align_to(align_to(1, T::ALIGN) + T::SIZE, Self::ALIGN);
        unsafe fn store(&self, p: *mut u8) {
            match self {
                None => *p = 0,
                Some(v) => {
                    *p = 1;
                    v.store(p.add(align_to(1, T::ALIGN)));
                }
            }
        }
        unsafe fn load(p: *const u8) -> Self {
            match *p {
                0 => None,
                1 => Some(T::load(p.add(align_to(1, T::ALIGN)))),
                _ => trap(),
            }
        }
        unsafe fn free_stored(p: *const u8) {
            if *p == 1 {
                T::free_stored(p.add(align_to(1, T::ALIGN)));
            }
        }
    }
    impl<T: Canon, E: Canon> Canon for Result<T, E> {
        const ALIGN: usize = max(1, max(T::ALIGN, E::ALIGN));
        const SIZE: usize =
            align_to(align_to(1, max(T::ALIGN, E::ALIGN)) + max(T::SIZE, E::SIZE), Self::ALIGN);
        unsafe fn store(&self, p: *mut u8) {
            let at = p.add(align_to(1, max(T::ALIGN, E::ALIGN)));
            match self {
                Ok(v) => {
                    *p = 0;
                    v.store(at);
                }
                Err(e) => {
                    *p = 1;
                    e.store(at);
                }
            }
        }
        unsafe fn load(p: *const u8) -> Self {
            let at = p.add(align_to(1, max(T::ALIGN, E::ALIGN)));
            match *p {
                0 => Ok(T::load(at)),
                1 => Err(E::load(at)),
                _ => trap(),
            }
        }
        unsafe fn free_stored(p: *const u8) {
            let at = p.add(align_to(1, max(T::ALIGN, E::ALIGN)));
            match *p {
                0 => T::free_stored(at),
                _ => E::free_stored(at),
            }
        }
    }
}
)RUST";

}  // namespace

std::string_view RustRuntimePrelude() {
  return kPrelude;
}

}  // namespace theater::bindgen
