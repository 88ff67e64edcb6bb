;; A component of the `wasi:http/proxy` shape, assembled by hand: it imports the part of
;; wasi:http/types@0.2.0 it uses and exports wasi:http/incoming-handler@0.2.0. For each request
;; it answers 201 with a header x-path holding the request's path-with-query; for the path
;; "/trap" (five bytes) it traps, and for "/noresp" (seven) it returns without answering.
;; src/handlers/wasi-preview2/wasi_http_runtime_test.cc runs it behind the wasi-http handler.
(component
  (import "wasi:http/types@0.2.0" (instance $types
    (export "fields" (type (sub resource)))                 ;; type 0
    (export "incoming-request" (type (sub resource)))       ;; type 1
    (export "outgoing-response" (type (sub resource)))      ;; type 2
    (export "response-outparam" (type (sub resource)))      ;; type 3
    (type $request-borrow (borrow 1))
    (type $maybe-string (option string))
    (export "[method]incoming-request.path-with-query"
      (func (param "self" $request-borrow) (result $maybe-string)))
    (type $fields-own (own 0))
    (export "[constructor]fields" (func (result $fields-own)))
    (type $fields-borrow (borrow 0))
    (type $bytes (list u8))
    (type $header-error (variant (case "invalid-syntax") (case "forbidden") (case "immutable")))
    (type $append-result (result (error $header-error)))
    (export "[method]fields.append"
      (func (param "self" $fields-borrow) (param "name" string) (param "value" $bytes)
            (result $append-result)))
    (type $response-own (own 2))
    (export "[constructor]outgoing-response" (func (param "headers" $fields-own) (result $response-own)))
    (type $response-borrow (borrow 2))
    (type $unit-result (result))
    (export "[method]outgoing-response.set-status-code"
      (func (param "self" $response-borrow) (param "status-code" u16) (result $unit-result)))
    (type $outparam-own (own 3))
    (type $error-code (variant (case "DNS-timeout") (case "internal-error" $maybe-string)))
    (type $response-result (result $response-own (error $error-code)))
    (export "[static]response-outparam.set"
      (func (param "param" $outparam-own) (param "response" $response-result)))
  ))
  (alias export $types "incoming-request" (type $incoming-request))
  (alias export $types "response-outparam" (type $response-outparam))
  (alias export $types "[method]incoming-request.path-with-query" (func $path-with-query))
  (alias export $types "[constructor]fields" (func $fields-new))
  (alias export $types "[method]fields.append" (func $fields-append))
  (alias export $types "[constructor]outgoing-response" (func $response-new))
  (alias export $types "[method]outgoing-response.set-status-code" (func $set-status-code))
  (alias export $types "[static]response-outparam.set" (func $outparam-set))

;; The layout the standard tools make: the main module owns the memory and the allocator
  ;; (cabi_realloc); the functions whose lowering needs them reach the main module through a shim
  ;; module's table, which a fixup module fills once the main module exists.
  (core module $shim
    (type $two (func (param i32 i32)))
    (type $six (func (param i32 i32 i32 i32 i32 i32)))
    (table (export "$imports") 3 3 funcref)
    (func (export "path") (type $two)
      (call_indirect (type $two) (local.get 0) (local.get 1) (i32.const 0)))
    (func (export "append") (type $six)
      (call_indirect (type $six) (local.get 0) (local.get 1) (local.get 2) (local.get 3)
                                 (local.get 4) (local.get 5) (i32.const 1)))
    (func (export "set") (type $six)
      (call_indirect (type $six) (local.get 0) (local.get 1) (local.get 2) (local.get 3)
                                 (local.get 4) (local.get 5) (i32.const 2))))
  (core instance $shim-i (instantiate $shim))

  (core func $fields-new-lowered (canon lower (func $fields-new)))
  (core func $response-new-lowered (canon lower (func $response-new)))
  (core func $set-status-lowered (canon lower (func $set-status-code)))
  (core func $drop-request (canon resource.drop $incoming-request))
  (alias core export $shim-i "path" (core func $path-shim))
  (alias core export $shim-i "append" (core func $append-shim))
  (alias core export $shim-i "set" (core func $set-shim))
  (core instance $http
    (export "path" (func $path-shim))
    (export "fields-new" (func $fields-new-lowered))
    (export "append" (func $append-shim))
    (export "response-new" (func $response-new-lowered))
    (export "set-status" (func $set-status-lowered))
    (export "set" (func $set-shim))
    (export "drop-request" (func $drop-request)))

  (core module $main
    (import "http" "path" (func $path (param i32 i32)))
    (import "http" "fields-new" (func $fields-new (result i32)))
    (import "http" "append" (func $append (param i32 i32 i32 i32 i32 i32)))
    (import "http" "response-new" (func $response-new (param i32) (result i32)))
    (import "http" "set-status" (func $set-status (param i32 i32) (result i32)))
    (import "http" "set" (func $set (param i32 i32 i32 i32 i32 i32)))
    (import "http" "drop-request" (func $drop-request (param i32)))
    (memory (export "memory") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (global.get $next))
      (global.set $next (i32.add (global.get $next) (local.get 3)))
      (local.get $p))
    (data (i32.const 100) "x-path")
    (func (export "handle") (param $request i32) (param $outparam i32)
      (local $fields i32) (local $response i32) (local $ptr i32) (local $len i32)
      ;; What the last request allocated is dead: the allocator starts again.
      (global.set $next (i32.const 1024))
      ;; option<string> at 200: its case at 200, the string's pointer and length at 204, 208.
      (call $path (local.get $request) (i32.const 200))
      (local.set $ptr (i32.load (i32.const 204)))
      (local.set $len (i32.load (i32.const 208)))
      (if (i32.eqz (i32.load8_u (i32.const 200))) (then (local.set $len (i32.const 0))))
      (if (i32.eq (local.get $len) (i32.const 5)) (then unreachable))
      (call $drop-request (local.get $request))
      (if (i32.eq (local.get $len) (i32.const 7)) (then return))
      (local.set $fields (call $fields-new))
      ;; result<_, header-error> at 300 (not looked at: a path is a valid field value).
      (call $append (local.get $fields) (i32.const 100) (i32.const 6)
                    (local.get $ptr) (local.get $len) (i32.const 300))
      (local.set $response (call $response-new (local.get $fields)))
      (drop (call $set-status (local.get $response) (i32.const 201)))
      ;; ok(response): the result's case 0, then the handle, the rest of the joined flat
      ;; slots unused.
      (call $set (local.get $outparam) (i32.const 0) (local.get $response)
                 (i32.const 0) (i32.const 0) (i32.const 0))))
  (core instance $main-i (instantiate $main (with "http" (instance $http))))
  (alias core export $main-i "memory" (core memory $memory))
  (alias core export $main-i "cabi_realloc" (core func $realloc))

  (core func $path-lowered (canon lower (func $path-with-query) (memory $memory) (realloc $realloc)))
  (core func $append-lowered (canon lower (func $fields-append) (memory $memory) (realloc $realloc)))
  (core func $outparam-set-lowered (canon lower (func $outparam-set) (memory $memory) (realloc $realloc)))
  (core module $fixup
    (type $two (func (param i32 i32)))
    (type $six (func (param i32 i32 i32 i32 i32 i32)))
    (import "" "$imports" (table 3 3 funcref))
    (import "" "0" (func (type $two)))
    (import "" "1" (func (type $six)))
    (import "" "2" (func (type $six)))
    (elem (i32.const 0) func 0 1 2))
  (alias core export $shim-i "$imports" (core table $imports))
  (core instance (instantiate $fixup
    (with "" (instance
      (export "$imports" (table $imports))
      (export "0" (func $path-lowered))
      (export "1" (func $append-lowered))
      (export "2" (func $outparam-set-lowered))))))

  (type $request-own (own $incoming-request))
  (type $outparam-own (own $response-outparam))
  (alias core export $main-i "handle" (core func $handle-core))
  (func $handle (param "request" $request-own) (param "response-out" $outparam-own)
    (canon lift (core func $handle-core)))
  (instance $incoming-handler (export "handle" (func $handle)))
  (export "wasi:http/incoming-handler@0.2.0" (instance $incoming-handler))
)
