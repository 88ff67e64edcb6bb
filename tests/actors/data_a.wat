;; Two modules with the same code and different data (data_b.wat): the engine compiles them once,
;; from their code module, and gives each instance its own data (engine_test.cc,
;; ModulesThatShareTheirCodeShareOneCompileAndKeepTheirData).
(module
  (memory (export "memory") 1 4)
  ;; The byte at `address`.
  (func (export "peek") (param $address i32) (result i32)
    (i32.load8_u (local.get $address)))
  ;; Memory size in pages.
  (func (export "pages") (result i32) (memory.size))
  (data (i32.const 16) "first module")
  (data (i32.const 65535) "!"))
