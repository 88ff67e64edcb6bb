;; The exporting side of the engine's linking test (engine_test.cc, "Linking"): a memory, a
;; funcref table, a mutable global and functions that another instance imports.
(module
  (memory (export "memory") 1)
  (table (export "table") 2 funcref)
  (global (export "counter") (mut i32) (i32.const 7))
  (func $double (export "double") (param i32) (result i32)
    (i32.mul (local.get 0) (i32.const 2)))
  (elem (i32.const 0) $double)
  (func (export "read") (param i32) (result i32)
    (i32.load (local.get 0)))
  (func (export "counter_value") (result i32)
    (global.get 0)))
