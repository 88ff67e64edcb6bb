;; A module whose code refers to its active data segment (data.drop): without its segments it is
;; not valid, so the compiler compiles it whole instead of from its code module
;; (module_compiler_test.cc, ACodeModuleThatNeedsItsSegmentsIsCompiledWhole).
(module
  (memory (export "memory") 1)
  (func (export "drop") (data.drop 0))
  (data (i32.const 8) "kept"))
