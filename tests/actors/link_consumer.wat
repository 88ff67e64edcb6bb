;; The importing side of the engine's linking test (engine_test.cc, "Linking"): it uses another
;; instance's memory, table and global as its own, and calls one of its functions.
(module
  (import "provider" "memory" (memory 1))
  (import "provider" "table" (table 2 funcref))
  (import "provider" "counter" (global $counter (mut i32)))
  (import "provider" "double" (func $double (param i32) (result i32)))
  (type $unary (func (param i32) (result i32)))
  (func $triple (param i32) (result i32)
    (i32.mul (local.get 0) (i32.const 3)))
  ;; Written into the provider's table when this instance is created.
  (elem (i32.const 1) $triple)
  (func (export "store") (param i32 i32)
    (i32.store (local.get 0) (local.get 1)))
  (func (export "call_double") (param i32) (result i32)
    (call $double (local.get 0)))
  (func (export "call_slot") (param i32 i32) (result i32)
    (call_indirect (type $unary) (local.get 1) (local.get 0)))
  (func (export "bump") (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (global.get $counter)))
