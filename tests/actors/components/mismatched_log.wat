;; The core module of the mismatched-log component (components/mismatched-log/world.wit): it
;; imports runtime.log as (i32), as a log(msg: u32) lowers.
(module
  (import "theater:simple/runtime" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 1024))
  ;; A bump allocator: enough for a test that never frees.
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $at i32)
    (local.set $at (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                            (i32.sub (i32.const 0) (local.get 2))))
    (global.set $next (i32.add (local.get $at) (local.get 3)))
    (local.get $at))
  ;; init(state, (id,)) -> ok((none,)): the result area at 16 holds the result and option tags.
  (func (export "theater:simple/actor#init") (param i32 i32 i32 i32 i32) (result i32)
    (call $log (i32.const 7))
    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.store8 (i32.const 20) (i32.const 0))
    (i32.const 16)))
