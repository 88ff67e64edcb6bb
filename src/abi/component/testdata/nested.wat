;; Nested components: an outer alias of a type, instantiation with arguments, an instance made
;; of inline exports, and an exported instance.
(component
  (type $point (record (field "x" s32) (field "y" s32)))
  (component $inner
    (alias outer 1 0 (type $p))
    (import "log" (func $log (param "msg" string)))
    (export "point" (type $p))
    (export "log2" (func $log))
  )
  (import "log" (func $log (param "msg" string)))
  (instance $a (instantiate $inner (with "log" (func $log))))
  (alias export $a "log2" (func $log2))
  (alias export $a "point" (type $pt))
  (instance $b (export "log3" (func $log2)) (export "point" (type $pt)))
  (export "bundle" (instance $b))
)
