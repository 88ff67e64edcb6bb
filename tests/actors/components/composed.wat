;; Two components composed with each other: `caller` lowers the functions `callee` lifts, so a
;; u32 and a string cross from one component instance's memory to the other's. For
;; src/component/resources_test.cc (ComposedComponentTest).
(component
  (component $callee
    (core module $m
      (memory (export "memory") 1)
      (global $next (mut i32) (i32.const 1024))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $p i32)
        (local.set $p (global.get $next))
        (global.set $next (i32.add (global.get $next) (local.get 3)))
        (local.get $p))
      (func (export "double") (param i32) (result i32)
        (i32.mul (local.get 0) (i32.const 2)))
      ;; echo(s) -> s: the result is a pointer to (ptr, len).
      (func (export "echo") (param i32 i32) (result i32)
        (i32.store (i32.const 8) (local.get 0))
        (i32.store (i32.const 12) (local.get 1))
        (i32.const 8)))
    (core instance $i (instantiate $m))
    (func (export "double") (param "x" u32) (result u32)
      (canon lift (core func $i "double")))
    (func (export "echo") (param "s" string) (result string)
      (canon lift (core func $i "echo") (memory $i "memory") (realloc (func $i "realloc")))))
  (component $caller
    (import "double" (func $double (param "x" u32) (result u32)))
    (import "echo" (func $echo (param "s" string) (result string)))
    ;; The memory and allocator come first, so that the lowered echo can name them.
    (core module $mem
      (memory (export "memory") 1)
      (global $next (mut i32) (i32.const 2048))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $p i32)
        (local.set $p (global.get $next))
        (global.set $next (i32.add (global.get $next) (local.get 3)))
        (local.get $p)))
    (core instance $mi (instantiate $mem))
    (core func $double_lowered (canon lower (func $double)))
    (core func $echo_lowered
      (canon lower (func $echo) (memory $mi "memory") (realloc (func $mi "realloc"))))
    (core module $m
      (import "mem" "memory" (memory 1))
      (import "callee" "double" (func $double (param i32) (result i32)))
      (import "callee" "echo" (func $echo (param i32 i32 i32)))
      ;; run(x) = double(x) + 1
      (func (export "run") (param i32) (result i32)
        (i32.add (call $double (local.get 0)) (i32.const 1)))
      ;; relay(s) = echo(s), its result written at 16
      (func (export "relay") (param i32 i32) (result i32)
        (call $echo (local.get 0) (local.get 1) (i32.const 16))
        (i32.const 16)))
    (core instance $i (instantiate $m
      (with "mem" (instance $mi))
      (with "callee" (instance
        (export "double" (func $double_lowered))
        (export "echo" (func $echo_lowered))))))
    (func (export "run") (param "x" u32) (result u32)
      (canon lift (core func $i "run")))
    (func (export "relay") (param "s" string) (result string)
      (canon lift (core func $i "relay") (memory $mi "memory") (realloc (func $mi "realloc")))))
  (instance $a (instantiate $callee))
  (instance $b (instantiate $caller
    (with "double" (func $a "double"))
    (with "echo" (func $a "echo"))))
  (export "run" (func $b "run"))
  (export "relay" (func $b "relay")))
