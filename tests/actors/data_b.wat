;; The code of data_a.wat with other data and a larger initial memory.
(module
  (memory (export "memory") 3 4)
  ;; The byte at `address`.
  (func (export "peek") (param $address i32) (result i32)
    (i32.load8_u (local.get $address)))
  ;; Memory size in pages.
  (func (export "pages") (result i32) (memory.size))
  (data (i32.const 16) "SECOND")
  (data (i32.const 131072) "far"))
