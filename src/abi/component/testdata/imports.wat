;; A component that imports an interface with a resource and a method, lowers the method into a
;; core module (memory and realloc come from a separate module, as wit-component arranges it),
;; links the module through an instance of inline exports, and exports a lifted function.
(component
  (import "test:demo/store@0.1.0" (instance $store
    (export "handle" (type (sub resource)))
    (type $b (borrow 0))
    (type $bytes (list u8))
    (type $maybe (option $bytes))
    (export "[method]handle.get" (func (param "self" $b) (param "key" string) (result $maybe)))
  ))
  (alias export $store "handle" (type $handle))
  (alias export $store "[method]handle.get" (func $get))
  (core module $mem
    (memory (export "memory") 1)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 0)
  )
  (core instance $mi (instantiate $mem))
  (alias core export $mi "memory" (core memory $memory))
  (alias core export $mi "realloc" (core func $realloc))
  (core func $get-lowered (canon lower (func $get) (memory $memory) (realloc $realloc)))
  (core func $drop (canon resource.drop $handle))
  (core instance $store-core (export "get" (func $get-lowered)) (export "drop" (func $drop)))
  (core module $main
    (import "store" "get" (func (param i32 i32 i32 i32)))
    (import "store" "drop" (func (param i32)))
    (func (export "run") (param i32) (result i32) i32.const 0)
  )
  (core instance $main-i (instantiate $main (with "store" (instance $store-core))))
  (type $run-t (func (param "x" u32) (result u32)))
  (alias core export $main-i "run" (core func $run))
  (func $run (type $run-t) (canon lift (core func $run)))
  (export "run" (func $run))
)
